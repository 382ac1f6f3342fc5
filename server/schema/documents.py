"""Documents checked once and cached by text: parse, limits, validation and cost.

One cache replaces Strawberry's ParserCache and ValidationCache, whose lru_caches count
entries only: 512 entries of 10 MB documents held more than half a gigabyte. This cache is
bounded by an estimate of the memory it holds (a parsed document takes about a hundred times
its text), evicts the least recently used entries past that budget, and does not keep a
document that would take more than a sixteenth of it.

`DocumentGuard` is the Strawberry extension that uses it: on parse it applies the size and
token limits; on validate the depth, alias and operation-choice checks (linear, see
limits.py), then graphql-core's validation (cached per set of rules, so rules added by other
extensions, e.g. DisableIntrospection, keep working), then the cost limit. Every result
carries `extensions.cost {requested, limit}`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql import DocumentNode, GraphQLError
from server.schema.cost import CostCache, cost_error
from server.schema.limits import (
    DocumentLimits,
    check_operation_choice,
    check_shape,
    operations,
    parse_limited,
)

BYTES_PER_CHARACTER = 128  # a parsed document measured 70 to 180 bytes per character of text
ENTRY_OVERHEAD = 4096


def estimated_bytes(text: str) -> int:
    return ENTRY_OVERHEAD + BYTES_PER_CHARACTER * len(text)


@dataclass(slots=True)
class CachedDocument:
    """A parsed document and what has been learnt about it."""

    document: DocumentNode
    size: int
    shape_errors: list[GraphQLError]
    several_operations: bool
    validation: dict[tuple[type, ...], list[GraphQLError]] = field(default_factory=dict)
    costs: CostCache = field(default_factory=CostCache)


class DocumentCache:
    """Least recently used documents, within a budget of estimated bytes."""

    def __init__(self, budget_bytes: int, limits: DocumentLimits) -> None:
        self.budget_bytes = budget_bytes
        self.max_entry_bytes = budget_bytes // 16
        self.limits = limits
        self.used_bytes = 0
        self._entries: OrderedDict[str, CachedDocument] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str) -> CachedDocument:
        """The document for a text: cached, or parsed and checked now (may raise GraphQLError)."""
        entry = self._entries.get(text)
        if entry is not None:
            self._entries.move_to_end(text)
            return entry
        document = parse_limited(text, self.limits)
        entry = CachedDocument(
            document,
            estimated_bytes(text),
            check_shape(document, self.limits),
            several_operations=len(operations(document)) > 1,
        )
        if entry.size <= self.max_entry_bytes:
            self._entries[text] = entry
            self.used_bytes += entry.size
            while self.used_bytes > self.budget_bytes:
                _, evicted = self._entries.popitem(last=False)
                self.used_bytes -= evicted.size
        return entry


def _validate(execution_context: Any, entry: CachedDocument) -> list[GraphQLError]:
    # Imported here, as Strawberry's ValidationCache does, to avoid a circular import.
    from strawberry.schema.schema import validate_document

    rules = tuple(execution_context.validation_rules)
    errors = entry.validation.get(rules)
    if errors is None:
        errors = validate_document(execution_context.schema._schema, entry.document, rules)
        entry.validation[rules] = errors
    return list(errors)


class DocumentGuard(SchemaExtension):
    """Limits before work: size, tokens, depth, aliases, one operation, validation, cost."""

    def __init__(self, cache: DocumentCache, max_cost: int) -> None:
        super().__init__()
        self.cache = cache
        self.max_cost = max_cost
        self.requested = 0
        self.entry: CachedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and isinstance(context.query, str) and context.query:
            self.entry = self.cache.get(context.query)
            context.graphql_document = self.entry.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry = self.entry
        if entry is not None and context.pre_execution_errors is None:
            errors = list(entry.shape_errors)
            if not errors and entry.several_operations:
                errors = check_operation_choice(entry.document, _provided_operation_name(context))
            variables = context.variables if isinstance(context.variables, dict) else None
            self.requested = entry.costs.cost(
                context.schema._schema, entry.document, context.operation_name, variables
            )
            if not errors:
                errors = _validate(context, entry)
            if not errors and self.requested > self.max_cost:
                errors = [cost_error(self.requested, self.max_cost)]
            context.pre_execution_errors = errors
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": {"requested": self.requested, "limit": self.max_cost}}


def _provided_operation_name(context: Any) -> str | None:
    """The operationName the client sent; Strawberry's `operation_name` falls back to the first."""
    return getattr(context, "_provided_operation_name", context.operation_name)
