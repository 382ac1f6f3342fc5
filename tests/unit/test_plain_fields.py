"""The fast path for plain attributes answers exactly what graphql-core's full path answers."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from strawberry.scalars import JSON

from server.schema.execution import PlainFieldsExecutionContext


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


ColorEnum = strawberry.enum(Color, name="Color")


@strawberry.type
class Leaf:
    id: strawberry.ID
    name: str
    color: ColorEnum  # type: ignore[valid-type]
    at: datetime
    score: float | None
    data: JSON | None
    must: str  # the tests put None here to provoke the non-null error

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self, times: int = 1) -> str:
        return self.name * times

    @strawberry.field
    def child(self) -> Leaf | None:
        return None if self.name == "b" else Leaf.make("b")

    @staticmethod
    def make(name: str, must: Any = "ok", color: Any = Color.RED) -> Leaf:
        return Leaf(
            id=strawberry.ID(name),
            name=name,
            color=color,
            at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            score=None if name == "b" else 1.5,
            data=JSON({"k": [1, 2]}),
            must=must,
        )


@strawberry.type
class Query:
    @strawberry.field
    def leaves(self) -> list[Leaf]:
        return [Leaf.make("a"), Leaf.make("b")]

    @strawberry.field
    def broken(self) -> list[Leaf | None]:
        return [Leaf.make("a", must=None), Leaf.make("c")]

    @strawberry.field
    def bad_enum(self) -> Leaf | None:
        return Leaf.make("a", color="purple")


plain = strawberry.Schema(Query, execution_context_class=PlainFieldsExecutionContext)
full = strawberry.Schema(Query)

DOCUMENTS = [
    "{ leaves { id name color at score data } }",
    "{ leaves { data score at color name id } }",  # the document's order is kept
    "{ leaves { id shout later(times: 2) name child { id color child { name } } } }",
    "{ leaves { a: name b: name name id } }",
    "{ leaves { __typename id ...F } } fragment F on Leaf { color name }",
    "{ leaves { id name @skip(if: true) color @include(if: false) score } }",
    "{ broken { id must name } }",  # null in a non-null field: the error and the null parent
    "{ badEnum { id color } }",  # a value the enum cannot serialise: the error
]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_answers_and_errors_are_the_same(document: str) -> None:
    fast, slow = await plain.execute(document), await full.execute(document)
    assert fast.data == slow.data
    assert list(_keys(fast.data)) == list(_keys(slow.data))  # same order, at every level
    assert [(e.message, e.path) for e in fast.errors or []] == [
        (e.message, e.path) for e in slow.errors or []
    ]


def _keys(value: Any, prefix: str = "") -> Any:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield f"{prefix}/{key}"
            yield from _keys(inner, f"{prefix}/{key}")
    elif isinstance(value, list):
        for number, inner in enumerate(value):
            yield from _keys(inner, f"{prefix}/{number}")


async def test_plain_attributes_are_not_resolved_one_by_one() -> None:
    """Leaf attributes never reach graphql-core's execute_field (which the full path calls
    once per field); fields with resolvers still do."""
    calls: list[str] = []

    class Counting(PlainFieldsExecutionContext):
        def execute_field(self, parent_type: Any, source: Any, details: Any, *rest: Any) -> Any:
            calls.append(details[0].node.name.value)
            return super().execute_field(parent_type, source, details, *rest)

    schema = strawberry.Schema(Query, execution_context_class=Counting)
    result = await schema.execute("{ leaves { id name color at score shout } }")
    assert result.errors is None
    assert sorted(calls) == ["leaves", "shout", "shout"]
