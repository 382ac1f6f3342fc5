"""Accounts (sellers), their users and roles, and the caller identity (Principal)."""

from __future__ import annotations

import enum
import re
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import Conflict, Forbidden, InvalidInput, Unauthenticated
from domain.model.common import clean_name, new_id

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256
EMAIL_MAX_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Role(enum.Enum):
    """What a user may do in their account."""

    OWNER = "OWNER"  # everything, including managing users
    ANALYST = "ANALYST"  # reads and writes data, experiments, campaigns; no user management
    VIEWER = "VIEWER"  # reads only


def clean_email(value: str) -> str:
    """Normalise an e-mail address (trimmed, lower case) and check its shape."""
    email = (value or "").strip().lower()
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL.match(email):
        raise InvalidInput("Enter a valid e-mail address, like seller@example.com.", field="email")
    return email


def check_password(password: str, email: str, common: Container[str]) -> None:
    """NIST SP 800-63B rules, checked before hashing: a length range, no common or trivially
    guessable password, no composition rules. `common` holds lower-case common passwords."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            f"The password must be at least {PASSWORD_MIN_LENGTH} characters long; a few "
            "unrelated words make a long password that is easy to remember.",
            field="password",
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"The password must be at most {PASSWORD_MAX_LENGTH} characters long.",
            field="password",
        )
    if not password.strip():
        raise InvalidInput(
            "The password must not be only spaces; choose a few unrelated words.",
            field="password",
        )
    if len(set(password)) == 1:
        raise InvalidInput(
            "The password must not repeat one character; choose a few unrelated words.",
            field="password",
        )
    if password.lower() in common or password.strip().lower() in common:
        raise InvalidInput(
            "This password is one of the most common passwords, which attackers try first; "
            "choose a less predictable one (a few unrelated words work well).",
            field="password",
        )
    local_part = (email or "").strip().lower().partition("@")[0]
    if len(local_part) >= 3 and local_part in password.lower():
        raise InvalidInput(
            "The password must not contain your e-mail address's name; choose something "
            "others cannot guess from it.",
            field="password",
        )


@dataclass(slots=True)
class Account:
    """A seller's workspace; every other object belongs to exactly one account."""

    name: str
    created_at: datetime
    id: str = field(default_factory=new_id)

    @classmethod
    def open(cls, name: str, now: datetime) -> Account:
        return cls(name=clean_name(name, field="account_name"), created_at=now)


@dataclass(slots=True)
class User:
    """A person who signs in to an account with a role."""

    account_id: str
    email: str
    password_hash: str
    role: Role
    created_at: datetime
    id: str = field(default_factory=new_id)
    # Bumped whenever the user's access changes (role change); access tokens carry it as
    # `ver`, so a token issued before the change stops working at once.
    token_version: int = 0
    last_login_at: datetime | None = None

    def change_role(self, role: Role) -> None:
        """A new role; every access token issued before stops working."""
        if role is not self.role:
            self.role = role
            self.token_version += 1


def check_owner_remains(user: User, new_role: Role | None, owners: int) -> None:
    """Removing (`new_role` None) or demoting the account's last OWNER is refused."""
    if user.role is Role.OWNER and new_role is not Role.OWNER and owners <= 1:
        raise Conflict(
            "This is the account's last OWNER; make another user OWNER first.", field="user_id"
        )


@dataclass(slots=True)
class SessionFamily:
    """One sign-in and the chain of refresh tokens rotated from it.

    Only the newest refresh token (`current_jti`) is valid. Presenting an older one means it
    was copied: the whole family is revoked, so both the thief and the user sign in again.
    """

    user_id: str
    account_id: str
    current_jti: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime
    revoked_at: datetime | None = None
    id: str = field(default_factory=new_id)

    @classmethod
    def start(cls, user: User, jti: str, now: datetime, ttl: timedelta) -> SessionFamily:
        return cls(user.id, user.account_id, jti, now, now + ttl, now)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def rotate(self, presented_jti: str, new_jti: str, now: datetime) -> None:
        """Accept the current refresh token once, moving to `new_jti`; anything else revokes
        the family (the caller must persist the revocation before raising on)."""
        if self.revoked:
            raise Unauthenticated("This session was signed out; sign in again.")
        if now >= self.expires_at:
            raise Unauthenticated("This session has expired; sign in again.")
        if presented_jti != self.current_jti:
            self.revoke(now)
            raise RefreshTokenReused(
                "This refresh token was already used, so it may have been copied; every token "
                "of this session is now revoked. Sign in again."
            )
        self.current_jti = new_jti
        self.last_used_at = now

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now


class RefreshTokenReused(Unauthenticated):
    """A rotated-out refresh token came back: its family is revoked."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the authenticated user, their account and role."""

    user_id: str
    account_id: str
    role: Role
    token_version: int = 0
    session_id: str | None = None
    expires_at: datetime | None = None

    def require_write(self) -> None:
        """Viewers read only."""
        if self.role is Role.VIEWER:
            raise Forbidden("Your role (VIEWER) can only read; ask an owner for ANALYST access.")

    def require_owner(self) -> None:
        """Only owners manage users."""
        if self.role is not Role.OWNER:
            raise Forbidden(f"Only an account OWNER can do this; your role is {self.role.value}.")
