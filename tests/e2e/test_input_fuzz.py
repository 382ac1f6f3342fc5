"""A small fuzzer: nasty values in every variable of every documented operation, and in the
pagination and filter arguments of every list field. No answer may be a 500 or an
INTERNAL_SERVER_ERROR; every error carries a code.

Deterministic (a fixed list of values per type, no randomness) and bounded: a few hundred
requests per back end. JSON-body shapes (null bodies, subscriptions over POST) and multipart
belong to other tests; subscriptions and uploads are left out here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    is_input_type,
    parse,
    type_from_ast,
)
from server.schema import build_schema
from tests.e2e.test_campaigns import at, campaign, discount
from tests.support.api import OPERATIONS_DIR, Api, Seller

# Subscriptions and multipart are other tests' business; the list queries are covered, with
# every filter field, by list_cases.
SKIPPED = {"RunEvents", "RunUpdates", "UploadDataset", "Campaigns", "Discounts", "Experiments"}
SKIPPED |= {"Datasets"}
# Marketplace store: a subscription, an upload, and a connect that would call the simulator.
SKIPPED |= {"MarketplaceActivity", "ImportListingCosts", "ConnectMarketplace"}
# Operations that must not succeed with their baseline values (they would start a training
# run or delete the fixture's data): their ids are ones that do not exist.
BOGUS_IDS = {"StartRun", "DeleteExperiment", "CancelRun", "PromoteModel", "Predict", "Run"}


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


LONG = "a" * 100_000
TEXTS: list[Any] = [LONG, "a\x00b", "\x1b[31m", "\ud800", "😀" * 50, "", 12]
# (a lone surrogate: json.dumps sends it as the escape "\ud800")
INTS: list[Any] = [2**31, 10**12, -1, 10**400, math.nan, "1"]
FLOATS: list[Any] = [1e308, math.inf, math.nan, 10**400, "1"]
DECIMALS: list[Any] = ["1e400", "NaN", "abc", "9" * 5000, ""]
DATES: list[Any] = [
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+05:00",
    "2026-01-01T00:00:00",
    "2026-02-30T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    1e400,
]
DEEP = "[" * 10_000 + "]" * 10_000  # raw JSON: beyond what Python's parser recurses into
JSONS: list[Any] = [
    json.loads("[" * 500 + "]" * 500),
    [{"price": math.inf}],
    [{"price": 10**30}],
    [{"a\x00": "\x00"}],
    [{}] * 20_000,
    "rows",
    [[1, 2]],
]
AFTERS: list[Any] = [
    "!!!",
    LONG,
    "\x00",
    b64(json.dumps(["2026-01-01T00:00:00", "x"])),
    b64(json.dumps(["9999-12-31T23:00:00-05:00", "x"])),
    b64(json.dumps({"a": 1})),
    b64("[" * 100_000 + "]" * 100_000),
    b64("o:-1"),
    b64("o:" + "9" * 40),
    base64.urlsafe_b64encode(b"\xff\xfe[").decode(),  # not UTF-8
]
FIRSTS: list[Any] = [-1, 0, 101, 10**12]


def nasty_values(type_: GraphQLInputType) -> list[Any]:
    named = get_named_type(type_)
    if isinstance(type_, GraphQLNonNull):
        return nasty_values(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [[None], ["x"] * 5000, "not a list"]
    if isinstance(named, GraphQLEnumType):
        return ["NOPE", 1]
    if isinstance(named, GraphQLInputObjectType):
        return ["not an object", {"unknown": 1}]
    assert isinstance(named, GraphQLScalarType)
    return {
        "Int": INTS,
        "Float": FLOATS,
        "Decimal": DECIMALS,
        "DateTime": DATES,
        "JSON": JSONS,
        "Boolean": ["true", 0, None],
    }.get(named.name, TEXTS)


@dataclass
class Fixtures:
    seller: Seller
    ids: dict[str, str]


def baseline(type_: GraphQLInputType, name: str, fixtures: Fixtures, operation: str) -> Any:
    """A valid-looking value of a type (required fields only for input objects)."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return [baseline(type_.of_type, name, fixtures, operation)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            key: baseline(field.type, key, fixtures, operation)
            for key, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        }
    scalar = type_.name
    if scalar == "ID" or name.endswith("Id"):
        if operation in BOGUS_IDS:
            return str(uuid.uuid4())
        kind = {"datasetId": "dataset", "campaignId": "campaign"}.get(name, "experiment")
        if operation == "CancelDiscount":
            kind = "discount"
        return fixtures.ids[kind]
    if name == "startsAt":
        return at(1)
    if name == "endsAt":
        return at(2)
    if name == "listingId":
        return "MLB1234567"
    if name == "email":
        return f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    if name == "password":
        return "correct horse battery staple"
    return {
        "Int": 1,
        "Float": 10.0,
        "Decimal": "10",
        "DateTime": at(1),
        "JSON": [{"price": 1}],
        "Boolean": True,
    }.get(scalar, "fuzz")


def leaves(
    type_: GraphQLInputType, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], GraphQLInputType]]:
    """Every place a value can go: the variable itself and each field of its input objects."""
    yield path, type_
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType) and not isinstance(
        type_.of_type if isinstance(type_, GraphQLNonNull) else type_, GraphQLList
    ):
        for key, field in named.fields.items():
            yield from leaves(field.type, (*path, key))


def with_value(variables: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    result = json.loads(json.dumps(variables))
    target = result
    for key in path[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            return result
    target[path[-1]] = value
    return result


def documented_cases(schema: GraphQLSchema, fixtures: Fixtures) -> Iterator[tuple[str, str, Any]]:
    """(label, document, variables) for nasty values in the documented operations."""
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        if path.stem in SKIPPED:
            continue
        document = path.read_text()
        (operation,) = [
            d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)
        ]
        definitions: dict[str, GraphQLInputType] = {}
        for d in operation.variable_definitions or ():
            declared = type_from_ast(schema, d.type)
            assert is_input_type(declared), f"{path.name}: ${d.variable.name.value} is no input"
            definitions[d.variable.name.value] = declared
        base = {
            name: baseline(type_, name, fixtures, path.stem)
            for name, type_ in definitions.items()
            if isinstance(type_, GraphQLNonNull)
        }
        for name, type_ in definitions.items():
            for where, leaf_type in leaves(type_, (name,)):
                for value in nasty_values(leaf_type):
                    label = f"{path.stem} {'.'.join(where)}={str(value)[:30]!r}"
                    yield label, document, with_value(base, where, value)


def list_cases(schema: GraphQLSchema) -> Iterator[tuple[str, str, Any]]:
    """Pagination and filter arguments of every list field, at the root and one level down."""
    query = schema.query_type
    assert query is not None
    for name, field in query.fields.items():
        if "first" not in field.args:
            continue
        filter_arg = field.args.get("filter")
        header = "$first: Int, $after: String" + (
            f", $filter: {filter_arg.type}" if filter_arg else ""
        )
        arguments = "first: $first, after: $after" + (", filter: $filter" if filter_arg else "")
        document = f"query Fuzz({header}) {{ {name}({arguments}) {{ totalCount }} }}"
        yield from _pagination(name, document)
        if filter_arg:
            filter_type = get_named_type(filter_arg.type)
            assert isinstance(filter_type, GraphQLInputObjectType)
            for key, spec in filter_type.fields.items():
                for value in nasty_values(spec.type):
                    yield (
                        f"{name} filter.{key}={str(value)[:30]!r}",
                        document,
                        {"filter": {key: value}},
                    )
        node = get_named_type(get_named_type(field.type).fields["edges"].type).fields["node"]
        for nested, nested_field in get_named_type(node.type).fields.items():
            if "first" in nested_field.args:
                document = (
                    f"query Fuzz($first: Int, $after: String) {{ {name}(first: 2) {{ edges {{ "
                    f"node {{ {nested}(first: $first, after: $after) {{ totalCount }} }} }} }} }}"
                )
                yield from _pagination(f"{name}.{nested}", document)


def _pagination(name: str, document: str) -> Iterator[tuple[str, str, Any]]:
    for first in FIRSTS:
        yield f"{name} first={first}", document, {"first": first}
    for after in AFTERS:
        yield f"{name} after={after[:30]!r}", document, {"after": after}


def literal_cases() -> Iterator[tuple[str, str, Any]]:
    """Nasty values spelled in the document itself, where no variable coercion happens."""
    for literal in ('"a\\u0000b"', '"\\uD800"', '"\\b\\f"', "1e400", "-1e400", "99999999999"):
        yield (
            f"literal nameContains {literal}",
            (f"{{ experiments(filter: {{nameContains: {literal}}}) {{ totalCount }} }}"),
            None,
        )
        yield (
            f"literal first {literal}",
            f"{{ campaigns(first: {literal}) {{ totalCount }} }}",
            None,
        )
    yield (
        "literal percent 1e400",
        (
            'mutation { scheduleDiscount(input: {listingId: "MLB1", percent: 1e400, '
            'startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-01-02T00:00:00Z"}) '
            "{ discount { id } } }"
        ),
        None,
    )
    yield (
        "literal deep rows",
        (
            'mutation { predict(input: {modelId: "m", rows: '
            + "[" * 600
            + "]" * 600
            + "}) { predictions } }"
        ),
        None,
    )
    yield (
        "literal budget",
        (
            'mutation { createCampaign(input: {name: "c", startsAt: "2030-01-01T00:00:00Z", '
            'endsAt: "2030-01-02T00:00:00Z", budget: "1e999999999"}) { campaign { id } } }'
        ),
        None,
    )


def problem(response: httpx.Response) -> str | None:
    """What is wrong with an answer, if anything."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        payload = response.json()
    except ValueError:
        return f"not JSON (HTTP {response.status_code}): {response.text[:200]}"
    for error in payload.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code is None or code == "INTERNAL_SERVER_ERROR":
            return f"{code}: {error.get('message', '')[:200]}"
    return None


async def send(
    http: httpx.AsyncClient, token: str, document: str, variables: Any, raw: str | None = None
) -> httpx.Response:
    # allow_nan: NaN and Infinity travel as the literals Python's json accepts.
    body = raw or json.dumps({"query": document, "variables": variables}, allow_nan=True)
    return await http.post(
        "/graphql",
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )


@pytest.fixture
async def fixtures(api: Api) -> Fixtures:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    experiment = await api.experiment(seller, dataset["id"], name="aaaa")
    plan = await campaign(api, seller)
    scheduled = await discount(api, seller)
    return Fixtures(
        seller,
        {
            "dataset": dataset["id"],
            "experiment": experiment["id"],
            "campaign": plan["id"],
            "discount": scheduled["id"],
        },
    )


async def test_no_input_gets_a_server_error(http: httpx.AsyncClient, fixtures: Fixtures) -> None:
    schema = build_schema()._schema
    cases = [*documented_cases(schema, fixtures), *list_cases(schema), *literal_cases()]
    assert 300 <= len(cases) <= 1200, len(cases)
    limit = asyncio.Semaphore(8)
    token = fixtures.seller.token

    async def run(label: str, document: str, variables: Any) -> str | None:
        async with limit:
            found = problem(await send(http, token, document, variables))
        return f"{label}: {found}" if found else None

    results = await asyncio.gather(*(run(*case) for case in cases))
    deep = f'{{"query": "{{ me {{ id }} }}", "variables": {{"x": {DEEP}}}}}'
    results.append(problem(await send(http, token, "", None, raw=deep)))
    failures = [r for r in results if r]
    assert not failures, f"{len(failures)} of {len(cases)} inputs failed:\n" + "\n".join(failures)
