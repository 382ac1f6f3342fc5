"""Cursor pagination: keyset on (sort instant, id), newest first, with opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from domain.errors import InvalidInput

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a list ordered by (at DESC, id DESC)."""

    at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.at.isoformat(), self.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            padded = value + "=" * (-len(value) % 4)
            at, object_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(at, str) or not isinstance(object_id, str):
                raise TypeError("a cursor holds an instant and an id, both strings")
            instant = datetime.fromisoformat(at)
            if instant.tzinfo is None or instant.utcoffset() is None:
                raise ValueError("a cursor's instant carries its time zone")
            # In UTC, as the rows are compared; an offset that pushes it past year 9999 is
            # not a cursor this API gave out either.
            return cls(at=instant.astimezone(UTC), id=object_id)
        except (
            binascii.Error,
            ValueError,
            TypeError,
            UnicodeDecodeError,
            OverflowError,
            RecursionError,
        ) as exc:
            raise InvalidInput(
                "The cursor in `after` is not one this API gave out; "
                "pass an endCursor or cursor from a previous page.",
                field="after",
            ) from exc


def offset_cursor(offset: int) -> str:
    """A cursor for lists ranked by something other than time (e.g. a leaderboard)."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_offset(value: str) -> int:
    try:
        raw = base64.urlsafe_b64decode((value + "=" * (-len(value) % 4)).encode()).decode()
        kind, _, number = raw.partition(":")
        if kind == "o" and number.isdigit():
            return int(number)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput("The cursor in `after` is not one this list gave out.", field="after")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page a caller wants: up to `first` items after a cursor."""

    first: int = DEFAULT_PAGE_SIZE
    after: Cursor | None = None
    after_offset: int | None = None

    @classmethod
    def of(cls, first: int | None, after: str | None) -> PageRequest:
        """For lists in time order (keyset cursors)."""
        return cls(first=cls._size(first), after=Cursor.decode(after) if after else None)

    @classmethod
    def ranked(cls, first: int | None, after: str | None) -> PageRequest:
        """For ranked lists (offset cursors)."""
        return cls(first=cls._size(first), after_offset=_decode_offset(after) if after else None)

    @staticmethod
    def _size(first: int | None) -> int:
        size = DEFAULT_PAGE_SIZE if first is None else first
        if not 0 <= size <= MAX_PAGE_SIZE:
            raise InvalidInput(
                f"`first` must be between 0 and {MAX_PAGE_SIZE} (got {size}).", field="first"
            )
        return size


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and what a client needs to fetch the next."""

    items: Sequence[T]
    cursors: Sequence[str]
    has_next_page: bool
    total_count: int

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None
