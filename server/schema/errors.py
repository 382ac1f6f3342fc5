"""Error shaping: every error gets a stable `extensions.code`; unexpected ones are masked."""

from __future__ import annotations

import logging

from domain.errors import DomainError, RateLimited
from graphql import GraphQLError

log = logging.getLogger("mlproject.graphql")

MASKED_MESSAGE = "Internal server error. Quote request id {request_id} when reporting it."


def _kind(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, DomainError):
        return "domain"
    # Parse, validation and variable-coercion errors come before execution: no path. A scalar's
    # parser may also fail with an arithmetic error (Decimal("x")), and a deeply nested
    # literal with a RecursionError in the parser: still the request's fault.
    if error.path is None and (
        original is None
        or isinstance(
            original, (GraphQLError, ValueError, TypeError, ArithmeticError, RecursionError)
        )
    ):
        return "request"
    return "unexpected"


def shape_error(error: GraphQLError, request_id: str) -> None:
    """Give the error a code (and field) in its extensions; mask it if unexpected. In place."""
    if "code" in (error.extensions or {}):
        return  # already shaped (errors can pass through here twice)
    original = error.original_error
    kind = _kind(error)
    if isinstance(original, DomainError):
        error.message = original.message
        error.extensions = {"code": original.code}
        if original.field:
            error.extensions["field"] = original.field
        if isinstance(original, RateLimited):
            error.extensions["retryAfter"] = original.retry_after
    elif kind == "request":
        error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
    else:
        # A bug or an outage: log it whole, tell the client only how to report it.
        log.error(
            "unexpected error at %s",
            ".".join(str(p) for p in error.path or ()) or "-",
            exc_info=original,
            extra={"request_id": request_id},
        )
        error.message = MASKED_MESSAGE.format(request_id=request_id)
        error.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
