"""The pure document checks: size, tokens (comments count), depth, aliases, cost, cache budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from graphql import GraphQLError, parse
from server.config import Settings
from server.schema import build_schema
from server.schema.cost import operation_cost
from server.schema.documents import DocumentCache, estimated_bytes
from server.schema.limits import DocumentLimits, check_operation_choice, check_shape, parse_limited

OPERATIONS = Path(__file__).resolve().parents[2] / "graphql" / "operations"
LIMITS = DocumentLimits(max_bytes=100 * 1024, max_tokens=2000, max_depth=12, max_aliases=30)
SCHEMA = build_schema(Settings())._schema
DEFAULT_MAX_COST = Settings().graphql_max_cost


def chain(count: int, leaf: str = "__typename", spreads: int = 2) -> str:
    """The finding: fragment Fi spreads F(i+1) twice, so the paths double at each level."""
    body = " ".join("...F{n}" for _ in range(spreads))
    fragments = " ".join(
        f"fragment F{i} on Query {{ {body.format(n=i + 1)} }}" for i in range(1, count)
    )
    return f"query Boom {{ ...F1 }} {fragments} fragment F{count} on Query {{ {leaf} }}"


def users(levels: int, first: str = "100") -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"account {{ users(first: {first}) {{ edges {{ node {{ {inner} }} }} }} }}"
    return "{ me { " + inner + " } }"


def messages(errors: list[GraphQLError]) -> str:
    return " | ".join(e.message for e in errors)


@pytest.mark.parametrize("count", [21, 30, 60])
def test_fragment_chains_are_checked_in_linear_time(count: int) -> None:
    document = parse_limited(chain(count, leaf="a: __typename"), LIMITS)
    started = time.perf_counter()
    errors = check_shape(document, LIMITS)
    cost, _ = operation_cost(SCHEMA, document, None)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5  # Strawberry's limiters took 12.6 s at 21 and doubled per fragment
    assert "aliases found" in messages(errors)  # 2**(count-1) aliases once spread out
    assert cost == 0  # __typename is free; the chain itself is not refused by cost


def test_a_chain_without_aliases_or_depth_is_accepted_quickly() -> None:
    document = parse_limited(chain(30), LIMITS)
    assert check_shape(document, LIMITS) == []


def test_aliases_inside_fragments_count_once_per_spread() -> None:
    aliased = " ".join(f"a{i}: __typename" for i in range(16))
    once = parse(f"{{ ...F }} fragment F on Query {{ {aliased} }}")
    twice = parse(f"{{ ...F ...F }} fragment F on Query {{ {aliased} }}")
    assert check_shape(once, LIMITS) == []
    errors = check_shape(twice, LIMITS)
    assert "32 aliases found" in messages(errors)
    assert errors[0].extensions == {"code": "BAD_USER_INPUT", "limit": 30}


def test_depth_counts_through_fragments_and_inline_fragments() -> None:
    ok = parse(users(2).replace("{ me {", "{ me { ... on User {", 1) + " }")
    assert check_shape(ok, LIMITS) == []
    deep = parse("{ ...F } fragment F on Query { " + users(3)[2:])
    errors = check_shape(deep, LIMITS)
    assert "exceeds maximum operation depth of 12 (it nests 13 levels" in messages(errors)


@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_depth_agrees_with_strawberrys_limiter(levels: int) -> None:
    """Same limit, same answers as QueryDepthLimiter (on documents it can still walk)."""
    from strawberry.extensions import QueryDepthLimiter

    from graphql import specified_rules, validate

    for text in (users(levels), "{ ...F } fragment F on Query { " + users(levels)[2:]):
        document = parse(text)
        rules = [*specified_rules, *QueryDepthLimiter(max_depth=12).validation_rules]
        theirs = [e for e in validate(SCHEMA, document, rules) if "depth" in e.message]
        assert bool(check_shape(document, LIMITS)) == bool(theirs)


def test_undefined_and_cyclic_fragments_do_not_break_the_checks() -> None:
    undefined = parse("{ ...Missing me { ...AlsoMissing } }")
    cyclic = parse("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
    for document in (undefined, cyclic):
        assert check_shape(document, LIMITS) == []
        assert operation_cost(SCHEMA, document, None)[0] >= 0


def test_comments_count_as_tokens() -> None:
    padded = "#\n" * 2500 + "{ __typename }"
    with pytest.raises(GraphQLError, match="more than 2000 tokens"):
        parse_limited(padded, LIMITS)
    assert parse_limited("#\n" * 1000 + "{ __typename }", LIMITS)


def test_oversized_documents_are_refused_before_lexing() -> None:
    huge = "#" * (10 * 2**20)
    started = time.perf_counter()
    with pytest.raises(GraphQLError) as refused:
        parse_limited(huge, LIMITS)
    assert time.perf_counter() - started < 0.5
    assert "limit is 102400" in refused.value.message
    assert refused.value.extensions == {"code": "BAD_USER_INPUT", "limitBytes": 102400}


def test_several_operations_need_an_operation_name() -> None:
    document = parse("query A { __typename } query B { __typename }")
    assert "say which one to run" in messages(check_operation_choice(document, None))
    assert check_operation_choice(document, "B") == []
    assert check_operation_choice(parse("{ __typename }"), None) == []


@pytest.mark.parametrize("path", sorted(OPERATIONS.glob("*.graphql")), ids=lambda p: p.stem)
@pytest.mark.parametrize("first", [None, 100])
def test_every_documented_operation_is_within_the_default_cost(path: Path, first: int) -> None:
    variables = {} if first is None else {"first": first}
    cost, _ = operation_cost(SCHEMA, parse(path.read_text()), None, variables)
    assert 0 < cost <= DEFAULT_MAX_COST


def test_nested_pages_multiply() -> None:
    assert operation_cost(SCHEMA, parse(users(1)), None)[0] == 203
    assert operation_cost(SCHEMA, parse(users(2)), None)[0] > DEFAULT_MAX_COST  # the finding
    assert operation_cost(SCHEMA, parse(users(2, first="5")), None)[0] < 100
    with_default = parse(users(2, first="null"))  # the default page size, 20
    assert operation_cost(SCHEMA, with_default, None)[0] == 3 + 20 * (4 + 20 * 2)


def test_variables_for_first_are_taken_into_account() -> None:
    document = parse("query Q($n: Int = 3) " + users(2, first="$n"))
    assert operation_cost(SCHEMA, document, "Q", {"n": 100}) == (20403, ("n",))
    assert operation_cost(SCHEMA, document, "Q", {"n": 2})[0] == 3 + 2 * (4 + 2 * 2)
    assert operation_cost(SCHEMA, document, "Q", {})[0] == 3 + 3 * (4 + 3 * 2)


def test_aliases_add_up_in_the_cost() -> None:
    single = operation_cost(SCHEMA, parse(users(1)), None)[0]
    aliased = "{ " + " ".join(f"u{i}: " + users(1)[2:-2] for i in range(30)) + " }"
    assert operation_cost(SCHEMA, parse(aliased), None)[0] == 30 * single


def test_the_cache_stays_within_its_byte_budget_under_a_flood() -> None:
    budget = 2 * 2**20
    cache = DocumentCache(budget, LIMITS)
    small = cache.get("{ __typename }")
    for i in range(200):  # distinct, large documents; 8 times the budget in all
        text = f"{{ a{i}: __typename " + "__typename " * 60 + "}"
        assert estimated_bytes(text) <= cache.max_entry_bytes
        cache.get(text)
        assert cache.used_bytes <= budget
    assert 0 < len(cache) < 200
    assert "{ __typename }" not in cache._entries  # the least recently used went first
    assert cache.get("{ __typename }") is not small


def test_documents_too_big_for_the_cache_are_checked_but_not_kept() -> None:
    cache = DocumentCache(2**20, LIMITS)
    text = "{ " + " ".join(f"a{j}: __typename" for j in range(600)) + " }"
    assert estimated_bytes(text) > cache.max_entry_bytes
    entry = cache.get(text)
    assert "aliases found" in messages(entry.shape_errors)
    assert len(cache) == 0 and cache.used_bytes == 0
    again = cache.get("{ me { id } }")
    assert cache.get("{ me { id } }") is again  # a hit returns the same checked document


async def test_suggestions_are_hidden_when_introspection_is_off() -> None:
    open_schema = build_schema(Settings(graphql_introspection=True))
    closed_schema = build_schema(Settings(graphql_introspection=False))
    query = "{ mee { id } }"
    shown_errors = (await open_schema.execute(query)).errors
    hidden_errors = (await closed_schema.execute(query)).errors
    assert shown_errors and hidden_errors
    shown, hidden = shown_errors[0].message, hidden_errors[0].message
    assert "Did you mean 'me'?" in shown
    assert hidden == "Cannot query field 'mee' on type 'Query'."
    enum_query = "query($r: Role) { me { account { users(role: $r) { totalCount } } } }"
    result = await closed_schema.execute(enum_query, variable_values={"r": "OWNR"})
    assert result.errors and "Did you mean" not in result.errors[0].message
