"""Accounts (sellers), their users and roles, and the caller identity (Principal)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import Forbidden, InvalidInput
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


def check_password(password: str) -> None:
    """Password strength rules, checked before hashing."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise InvalidInput(
            f"The password must be at least {PASSWORD_MIN_LENGTH} characters long.",
            field="password",
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(
            f"The password must be at most {PASSWORD_MAX_LENGTH} characters long.",
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
        return cls(name=clean_name(name, field="accountName"), created_at=now)


@dataclass(slots=True)
class User:
    """A person who signs in to an account with a role."""

    account_id: str
    email: str
    password_hash: str
    role: Role
    created_at: datetime
    id: str = field(default_factory=new_id)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the authenticated user, their account and role."""

    user_id: str
    account_id: str
    role: Role

    def require_write(self) -> None:
        """Viewers read only."""
        if self.role is Role.VIEWER:
            raise Forbidden("Your role (VIEWER) can only read; ask an owner for ANALYST access.")

    def require_owner(self) -> None:
        """Only owners manage users."""
        if self.role is not Role.OWNER:
            raise Forbidden(f"Only an account OWNER can do this; your role is {self.role.value}.")
