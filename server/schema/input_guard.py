"""The input boundary: every string and number a request carries is checked once, generically.

Before execution, after validation, the guard walks the variables and the string literals of
the document and refuses, as BAD_USER_INPUT naming the field:
- control characters (U+0000-U+001F and U+007F) other than tab, newline and carriage return;
  PostgreSQL cannot store NUL at all, and the others are never meant in names or text;
- lone surrogates (U+D800-U+DFFF), which JSON can spell ("\\ud800") but UTF-8 cannot store;
- numbers in JSON values (the `JSON` scalar, e.g. predict rows) that are not finite (`1e400`
  parses as infinity) or do not fit 64 bits;
- JSON values nested deeper than MAX_JSON_DEPTH.
Typed scalars (Int, Float, DateTime, enums) are checked by graphql-core's coercion already;
field-specific rules (lengths, ranges) stay in the domain. Hand-written because no library
checks GraphQL inputs for these; it is one pass over values the request already holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectValueNode,
    StringValueNode,
)

MAX_JSON_DEPTH = 32
INT64 = 2**63
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# A document can only spell a control character or surrogate in a literal through an escape.
_ESCAPES = re.compile(r"\\[ubf]")


class InputRefused(Exception):
    """A value the boundary refuses: what is wrong, and where (a dotted path)."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def check_text(value: str, path: str) -> None:
    """Refuse control characters (except tab, newline, CR) and lone surrogates."""
    found = _BAD_CHARS.search(value)
    if found is None:
        return
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        raise InputRefused(
            f"`{path}` holds a lone surrogate (U+{ord(char):04X}), which is not valid "
            "Unicode; send UTF-8 text.",
            path,
        )
    raise InputRefused(
        f"`{path}` holds the control character U+{ord(char):04X}; only tab, newline and "
        "carriage return are accepted in text.",
        path,
    )


def check_value(value: Any, path: str, depth: int = 0) -> None:
    """Walk a decoded JSON value (a variable, or part of one) and refuse what it must not hold."""
    if isinstance(value, str):
        check_text(value, path)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputRefused(
                f"`{path}` holds a number that is not finite ({value}); send a finite number.",
                path,
            )
    elif isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise InputRefused(
                f"`{path}` holds an integer beyond 64 bits; send a smaller number.", path
            )
    elif isinstance(value, dict | list):
        if depth >= MAX_JSON_DEPTH:
            raise InputRefused(f"`{path}` is nested more than {MAX_JSON_DEPTH} levels deep.", path)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                check_text(key, f"{path}.{key}" if path else key)
            check_value(item, f"{path}.{key}" if path else str(key), depth + 1)


def _literal_strings(node: Node, path: str) -> Iterator[tuple[str, str]]:
    """(value, path) of every string literal under an argument value."""
    if isinstance(node, StringValueNode):
        yield node.value, path
    elif isinstance(node, ObjectValueNode):
        for field in node.fields:
            yield from _literal_strings(field.value, f"{path}.{field.name.value}")
    elif isinstance(node, ListValueNode):
        for index, item in enumerate(node.values):
            yield from _literal_strings(item, f"{path}.{index}")


def _document_strings(document: DocumentNode) -> Iterator[tuple[str, str]]:
    """Every string literal of the document, with the argument path it sits at."""
    stack: list[Node] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, ArgumentNode):
            yield from _literal_strings(node.value, node.name.value)
            continue
        if isinstance(node, StringValueNode):  # default values of variables, directives
            yield node.value, "document"
            continue
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                stack.append(child)
            elif isinstance(child, tuple | list):
                stack.extend(item for item in child if isinstance(item, Node))


def field_name(path: str) -> str:
    """The input field at fault: the single `input` argument is implied, as elsewhere, and a
    list entry or a JSON value inside (predict `rows.3.price`) is named by its list (`rows`);
    the message gives the whole path."""
    parts = path.removeprefix("input.").split(".")
    for index, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[:index]) or part
    return ".".join(parts)


def check_request(
    variables: dict[str, Any] | None, document: DocumentNode | None, source: str | None
) -> None:
    """Raise InputRefused for the first refused value of a request."""
    for name, value in (variables or {}).items():
        check_value(value, name)
    if document is not None and (source is None or _ESCAPES.search(source)):
        for value, path in _document_strings(document):
            check_text(value, path)


class InputGuard(SchemaExtension):
    """Refuses bad strings and numbers before execution, as BAD_USER_INPUT with the field."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors:  # validation errors come first
            try:
                variables = context.variables if isinstance(context.variables, dict) else None
                check_request(variables, context.graphql_document, context.query)
            except InputRefused as refused:
                field = field_name(refused.path)
                whole = refused.path.removeprefix("input.")
                context.pre_execution_errors = [
                    GraphQLError(
                        refused.message.replace(f"`{refused.path}`", f"`{whole}`"),
                        extensions={"code": "BAD_USER_INPUT", "field": field},
                    )
                ]
        yield
