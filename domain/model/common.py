"""Small value helpers shared by the entities."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from domain.errors import InvalidInput

NAME_MAX_LENGTH = 120
DESCRIPTION_MAX_LENGTH = 2000
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _words(field: str) -> str:
    """A domain field name as words for a message: `account_name` -> `account name`."""
    return field.replace("_", " ")


def new_id() -> str:
    """A fresh opaque identifier."""
    return str(uuid.uuid4())


def clean_name(value: str, *, field: str = "name", max_length: int = NAME_MAX_LENGTH) -> str:
    """A display name: trimmed, non-empty, bounded, no control characters."""
    name = (value or "").strip()
    if not name:
        raise InvalidInput(f"The {_words(field)} must not be empty.", field=field)
    if len(name) > max_length:
        raise InvalidInput(
            f"The {_words(field)} must be at most {max_length} characters long (got {len(name)}).",
            field=field,
        )
    if _CONTROL_CHARS.search(name):
        raise InvalidInput(f"The {_words(field)} must not contain control characters.", field=field)
    return name


def clean_description(value: str | None, *, field: str = "description") -> str | None:
    """An optional free text: trimmed, bounded; empty becomes None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(
            f"The {_words(field)} must be at most {DESCRIPTION_MAX_LENGTH} characters long.",
            field=field,
        )
    return text


def require_aware(value: datetime, field: str) -> datetime:
    """Times crossing the boundary must carry a time zone and exist in UTC; returned in UTC.

    Naive times are ambiguous; a time whose offset moves it past year 9999 or before year 1
    in UTC (e.g. 9999-12-31T23:00:00-05:00) cannot be stored or compared.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"The {_words(field)} must include a time zone (e.g. 2026-12-01T10:00:00Z).",
            field=field,
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"The {_words(field)} is out of range: in UTC it falls outside the years 1 to 9999.",
            field=field,
        ) from None
