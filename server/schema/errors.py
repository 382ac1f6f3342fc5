"""Error shaping: every error gets a stable `extensions.code`; unexpected ones are masked.

The one place that knows how domain errors look to a GraphQL client: the code of each error
class, and the path of each domain field name in the operation's input.
"""

from __future__ import annotations

import logging

from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from domain.marketplace import (
    MarketplaceAuthorizationLost,
    MarketplaceNotFound,
    MarketplaceRefused,
    MarketplaceUnavailable,
)
from graphql import FieldNode, GraphQLError

log = logging.getLogger("mlproject.graphql")

MASKED_MESSAGE = "Internal server error. Quote request id {request_id} when reporting it."

# Most specific first: subclasses (StaleAttempt, RefreshTokenReused) take their base's code.
CODES: tuple[tuple[type[DomainError], str], ...] = (
    (InvalidInput, "BAD_USER_INPUT"),
    (NotFound, "NOT_FOUND"),
    (Conflict, "CONFLICT"),
    (Unauthenticated, "UNAUTHENTICATED"),
    (Forbidden, "FORBIDDEN"),
    (RateLimited, "RATE_LIMITED"),
    # The marketplace's answers (issue 9): a refusal the seller can act on, an item or order
    # it does not have, no useful answer (try later), and a consent that is gone (reconnect).
    (MarketplaceRefused, "MARKETPLACE_REFUSED"),
    (MarketplaceNotFound, "NOT_FOUND"),
    (MarketplaceUnavailable, "MARKETPLACE_UNAVAILABLE"),
    (MarketplaceAuthorizationLost, "MARKETPLACE_AUTHORIZATION_LOST"),
)

# Domain fields whose input sits somewhere other than at its camelCase name, per GraphQL
# field (the mutation's name). Every other field name is camelCased part by part.
FIELD_PATHS: dict[str, dict[str, str]] = {
    "startRun": {
        "max_trials": "budget.maxTrials",
        "timeout_seconds": "budget.timeoutSeconds",
        "series_id": "forecast.seriesId",
        "date_column": "forecast.dateColumn",
    },
}


def error_code(error: DomainError) -> str:
    """The `extensions.code` clients see for a domain error."""
    for kind, code in CODES:
        if isinstance(error, kind):
            return code
    return "INTERNAL_SERVER_ERROR"


def field_path(field: str, operation: str | None = None) -> str:
    """The GraphQL input path of a domain field name: `cv_folds` -> `cvFolds`, and for
    startRun `max_trials` -> `budget.maxTrials`."""
    moved = FIELD_PATHS.get(operation or "", {}).get(field)
    if moved is not None:
        return moved
    return ".".join(_camel(part) for part in field.split("."))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _operation(error: GraphQLError) -> str | None:
    """The name (not the alias) of the GraphQL field whose resolver raised."""
    node = error.nodes[0] if error.nodes else None
    return node.name.value if isinstance(node, FieldNode) else None


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
        error.extensions = {"code": error_code(original)}
        if original.field:
            error.extensions["field"] = field_path(original.field, _operation(error))
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
