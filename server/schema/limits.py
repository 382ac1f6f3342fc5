"""Document limits, each linear in the size of the document and checked before validation.

Size and tokens are graphql-core's own parser limits (`max_tokens` counts comments too and is
enforced while a run of comments is skipped); the size is also checked here first, because
graphql-core's own size error scans the whole text to find a line and column.

Depth and aliases are computed here by hand. Strawberry's QueryDepthLimiter and
MaxAliasesLimiter walk every fragment-spread path without memoising: 21 fragments, each
spreading the next twice, took 12.6 s on the event loop. This walk visits each fragment
definition once and memoises its (depth, aliases); a spread then costs a dictionary lookup.
Aliases count once per spread of the fragment that holds them (what execution would see before
merging), so a fragment cannot hide aliases from the limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

# Counts saturate here: big enough to be exact for any real document, small enough for JSON.
SATURATED = 2**53 - 1


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """What one GraphQL document may hold."""

    max_bytes: int = 100 * 1024
    max_tokens: int = 2000
    max_depth: int = 12
    max_aliases: int = 30


def limit_error(
    message: str, nodes: Iterable[object] | None = None, **extra: object
) -> GraphQLError:
    """A refused request: BAD_USER_INPUT with what the limit is (shape_error keeps the code)."""
    return GraphQLError(
        message,
        nodes=list(nodes) if nodes else None,  # type: ignore[arg-type]
        extensions={"code": "BAD_USER_INPUT", **extra},
    )


def document_size(text: str) -> int:
    """Bytes of the text in UTF-8, without encoding it when the answer is obvious."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def parse_limited(text: str, limits: DocumentLimits) -> DocumentNode:
    """Parse a document within the size and token limits (comments count as tokens)."""
    size = document_size(text) if len(text) <= limits.max_bytes else len(text)
    if size > limits.max_bytes:
        raise limit_error(
            f"The document is {size} bytes; the limit is {limits.max_bytes} "
            "(GRAPHQL_MAX_DOCUMENT_KB). Send a smaller document: drop comments and unused "
            "fragments, or split it into several requests.",
            limitBytes=limits.max_bytes,
        )
    try:
        return parse(text, max_tokens=limits.max_tokens)
    except GraphQLError as error:
        if "tokens" in error.message and "more than" in error.message:
            error.message += (
                f" The limit is {limits.max_tokens} tokens, comments included "
                "(GRAPHQL_MAX_TOKENS); send a smaller document or split it."
            )
        raise


class _Shape:
    """Depth and aliases of selection sets, memoised per fragment definition."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, tuple[int, int]] = {}
        self.visiting: set[str] = set()

    def selections(self, selection_set: SelectionSetNode) -> tuple[int, int]:
        depth = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    aliases += 1
                if selection.selection_set is not None:
                    inner_depth, inner_aliases = self.selections(selection.selection_set)
                    aliases += inner_aliases
                    if not selection.name.value.startswith("__"):  # introspection is exempt
                        depth = max(depth, 1 + inner_depth)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner_depth, inner_aliases = self.selections(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                inner_depth, inner_aliases = self.fragment(selection.name.value)
            else:  # pragma: no cover (the grammar has no other selection)
                continue
            depth = max(depth, inner_depth)
            aliases += inner_aliases
        return depth, min(aliases, SATURATED)

    def fragment(self, name: str) -> tuple[int, int]:
        known = self.memo.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return 0, 0  # undefined or cyclic: validation reports it, with a clear message
        self.visiting.add(name)
        shape = self.selections(definition.selection_set)
        self.visiting.discard(name)
        self.memo[name] = shape
        return shape


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def check_shape(document: DocumentNode, limits: DocumentLimits) -> list[GraphQLError]:
    """Depth of each operation and aliases of the whole document, in one linear walk."""
    shape = _Shape(fragments(document))
    errors: list[GraphQLError] = []
    total_aliases = 0
    try:
        for operation in operations(document):
            depth, aliases = shape.selections(operation.selection_set)
            total_aliases = min(total_aliases + aliases, SATURATED)
            if depth > limits.max_depth:
                name = operation.name.value if operation.name else "anonymous"
                errors.append(
                    limit_error(
                        f"'{name}' exceeds maximum operation depth of {limits.max_depth} "
                        f"(it nests {depth} levels; GRAPHQL_MAX_DEPTH). Ask for fewer nested "
                        "objects, or fetch the inner ones with a second query by id.",
                        [operation],
                        limit=limits.max_depth,
                    )
                )
    except RecursionError:
        return [limit_error("The document nests selections too deeply to be checked.")]
    if total_aliases > limits.max_aliases:
        errors.append(
            limit_error(
                f"{total_aliases} aliases found (each spread of a fragment counts its aliases "
                f"again). Allowed: {limits.max_aliases} (GRAPHQL_MAX_ALIASES). Use fewer "
                "aliases, or send several requests.",
                limit=limits.max_aliases,
            )
        )
    return errors


def check_operation_choice(
    document: DocumentNode, operation_name: str | None
) -> list[GraphQLError]:
    """The spec's rule: a document with several operations needs an operationName."""
    names = [op.name.value if op.name else "anonymous" for op in operations(document)]
    if operation_name is None and len(names) > 1:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        return [
            limit_error(
                f"The document holds {len(names)} operations ({shown}); say which one to run "
                "with operationName."
            )
        ]
    return []
