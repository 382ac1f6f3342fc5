"""Error shaping: every error gets a stable `extensions.code`; unexpected ones are masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from domain.errors import DomainError
from graphql import GraphQLError

log = logging.getLogger("mlproject.graphql")

MASKED_MESSAGE = "Internal server error. Quote request id {request_id} when reporting it."


def _kind(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, DomainError):
        return "domain"
    # Parse, validation and variable-coercion errors come before execution: no path.
    if error.path is None and (
        original is None or isinstance(original, (GraphQLError, ValueError, TypeError))
    ):
        return "request"
    return "unexpected"


def shape_error(error: GraphQLError, request_id: str) -> GraphQLError:
    """A copy of the error with a code (and field) in its extensions, masked if unexpected."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    message = error.message
    kind = _kind(error)
    if isinstance(original, DomainError):
        extensions["code"] = original.code
        if original.field:
            extensions["field"] = original.field
        message = original.message
    elif kind == "request":
        extensions.setdefault("code", "BAD_USER_INPUT")
    else:
        # A bug or an outage: log it whole, tell the client only how to report it.
        log.error(
            "unexpected error at %s",
            ".".join(str(p) for p in error.path or ()) or "-",
            exc_info=original,
            extra={"request_id": request_id},
        )
        extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        message = MASKED_MESSAGE.format(request_id=request_id)
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Rewrites the errors of every operation once it has run (HTTP and WebSocket alike)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "-")
        result.errors = [shape_error(error, request_id) for error in result.errors]
