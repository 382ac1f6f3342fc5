"""Domain errors, in the domain's words.

`field` names the value at fault as the domain knows it (snake_case, e.g. `max_trials`). The
GraphQL layer (server/schema/errors.py) picks each error's `extensions.code` and turns field
names into the paths a client sent (`budget.maxTrials`).
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose; its message is safe to show a client."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The caller sent a value the rules refuse; `field` names it where one field is at fault."""


class NotFound(DomainError):
    """No such object in the caller's account (other accounts' objects are not found either)."""

    @classmethod
    def of(cls, kind: str, object_id: str) -> NotFound:
        return cls(f"{kind} {object_id!r} was not found.")


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, or a state that forbids it)."""


class Unauthenticated(DomainError):
    """No valid credentials: missing, expired or forged token, or wrong password."""


class Forbidden(DomainError):
    """Authenticated, but the caller's role does not allow this."""


class RateLimited(DomainError):
    """Too many requests; try again in `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
