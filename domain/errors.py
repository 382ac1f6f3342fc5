"""Domain errors. Each maps to exactly one GraphQL `extensions.code` (server/schema/errors.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose; its message is safe to show a client."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The caller sent a value the rules refuse; `field` names it where one field is at fault."""

    code = "BAD_USER_INPUT"


class NotFound(DomainError):
    """No such object in the caller's account (other accounts' objects are not found either)."""

    code = "NOT_FOUND"

    @classmethod
    def of(cls, kind: str, object_id: str) -> NotFound:
        return cls(f"{kind} {object_id!r} was not found.")


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, or a state that forbids it)."""

    code = "CONFLICT"


class Unauthenticated(DomainError):
    """No valid credentials: missing, expired or forged token, or wrong password."""

    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    """Authenticated, but the caller's role does not allow this."""

    code = "FORBIDDEN"


class RateLimited(DomainError):
    """Too many requests; try again in `retry_after` seconds."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
