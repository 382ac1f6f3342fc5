"""Execution without per-field overhead for plain attributes.

A GraphQL page of 20 experiments has about 700 fields; most are plain attributes of a
dataclass-backed type (`id`, `name`, `status`, ...). graphql-core gives every one of them the
whole treatment: a path entry, a resolve-info object, argument parsing, the middleware chain,
an awaitable check and `complete_value`. For a field Strawberry itself calls "basic" (no
resolver, no arguments) whose type is a scalar or an enum, none of that can change the answer:
the value is the attribute, serialised. `PlainFieldsExecutionContext` reads and serialises
such fields in one step and hands everything else (resolvers, objects, lists, errors, null in
a non-null field, field middleware) to the normal path, which then behaves exactly as before.
"""

from __future__ import annotations

from typing import Any

from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
)

_SLOW = object()  # marks a field the normal path must handle


def _plain_leaf(field: GraphQLField) -> tuple[GraphQLScalarType | GraphQLEnumType, bool] | None:
    """(leaf type, non-null) when the field is a plain attribute of a scalar or enum type."""
    if not getattr(field.resolve, "_is_default", False) or field.args:
        return None
    kind: Any = field.type
    non_null = isinstance(kind, GraphQLNonNull)
    if non_null:
        kind = kind.of_type
    if isinstance(kind, GraphQLScalarType | GraphQLEnumType):
        return kind, non_null
    return None


class PlainFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the fast path for plain leaf attributes."""

    # The per-field verdict is a property of the schema, so it is cached across requests.
    _verdicts: dict[tuple[str, str], tuple[Any, bool] | None] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        middleware = self.middleware_manager
        if middleware is not None and middleware.middlewares:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        fields = parent_type.fields
        verdicts = self._verdicts
        plain: dict[str, Any] = {}
        rest: dict[str, Any] | None = None
        for response_name, details in grouped_field_set.items():
            value = _SLOW
            node = details[0].node
            name = node.name.value
            key = (parent_type.name, name)
            if key in verdicts:
                verdict = verdicts[key]
            else:
                field = fields.get(name)
                verdict = verdicts[key] = _plain_leaf(field) if field is not None else None
            if verdict is not None and not node.arguments:
                leaf, non_null = verdict
                raw = fields[name].resolve(source_value, None)
                if raw is None:
                    value = _SLOW if non_null else None
                else:
                    try:
                        value = leaf.serialize(raw)
                    except Exception:
                        value = _SLOW
                    if value is Undefined:
                        value = _SLOW
            if value is _SLOW:
                if rest is None:
                    rest = {}
                rest[response_name] = details
            else:
                plain[response_name] = value
        if rest is None:
            return plain
        others = super().execute_fields(parent_type, source_value, path, rest, position_context)
        order = list(grouped_field_set)
        if self.is_awaitable(others):

            async def merged() -> dict[str, Any]:
                done = await others
                return _in_order(order, plain, done)

            return merged()
        return _in_order(order, plain, others)  # type: ignore[arg-type]


def _in_order(order: list[str], plain: dict[str, Any], others: dict[str, Any]) -> dict[str, Any]:
    """The response keeps the document's field order."""
    if not plain:
        return others
    return {
        name: plain[name] if name in plain else others[name]
        for name in order
        if name in plain or name in others
    }
