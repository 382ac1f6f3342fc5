"""Simulated time as epoch seconds; written the way Mercado Livre writes it (UTC-03:00)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

BRT = timezone(timedelta(hours=-3))
DAY = 86_400


def to_iso(epoch: float) -> str:
    """`2026-11-25T10:00:00.000-03:00`."""
    moment = datetime.fromtimestamp(epoch, BRT)
    return moment.isoformat(timespec="milliseconds")


def parse_iso(text: str) -> float:
    """Any ISO 8601 date-time with an offset or Z (a date alone is midnight in Brazil)."""
    raw = text.strip().replace(" ", "+")  # a `+` in an unencoded query string arrives as a space
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    if len(raw) == 10:
        return datetime.combine(date.fromisoformat(raw), datetime.min.time(), BRT).timestamp()
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BRT)
    return moment.timestamp()


def brt_midnight(epoch: float) -> float:
    """The start of the Brazilian day holding `epoch`."""
    moment = datetime.fromtimestamp(epoch, BRT)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def brt_date(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, BRT).date()


def utc_now() -> float:
    return datetime.now(UTC).timestamp()
