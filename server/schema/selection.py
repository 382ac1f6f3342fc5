"""What a document asks of a connection's nodes, so that a list resolver can load relations
for the whole page at once and its nodes can answer them without awaiting, one by one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from server.schema.context import Info


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """The fields of a selection set, with fragments (named or inline) flattened."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def node_fields(info: Info) -> list[SelectedField]:
    """The fields selected on the nodes of the connection the current field returns (through
    `edges { node }` and `nodes`)."""
    found: list[SelectedField] = []
    for connection in info.selected_fields:
        for part in _fields(connection.selections):
            if part.name == "nodes":
                found.extend(_fields(part.selections))
            elif part.name == "edges":
                for edge_part in _fields(part.selections):
                    if edge_part.name == "node":
                        found.extend(_fields(edge_part.selections))
    return found
