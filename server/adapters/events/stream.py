"""The fast half of a run's event log: a bounded per-run stream with live waiting."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from domain.model.runs import NewRunEvent, RunEvent, RunEventType

SeqFloor = Callable[[], Awaitable[int]]


class EventStream(Protocol):
    """Per-run append-only streams (Redis Streams in production, memory when embedded)."""

    async def append(
        self, run_id: str, event: NewRunEvent, at: datetime, floor: SeqFloor, first: bool = False
    ) -> RunEvent:
        """Append with the next seq; `floor` gives the last seq known elsewhere (the database)
        when this stream has no counter for the run (first event, or the stream was lost);
        `first` says the run is new, so the floor is 0 without asking."""
        ...

    async def after(self, run_id: str, after_seq: int, limit: int) -> list[RunEvent]: ...

    async def wait_after(self, run_id: str, after_seq: int, wait_seconds: float) -> list[RunEvent]:
        """Events after `after_seq`, waiting up to `wait_seconds` for the first one."""
        ...

    async def announce(self, account_id: str, run_id: str) -> None: ...

    def announcements(self, account_id: str) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...


def encode(event: NewRunEvent, at: datetime) -> str:
    return json.dumps(
        {
            "type": event.type.value,
            "at": at.isoformat(),
            "message": event.message,
            "progress": event.progress,
            "data": event.data,
        },
        separators=(",", ":"),
    )


def decode(run_id: str, seq: int, raw: str | bytes) -> RunEvent:
    body: dict[str, Any] = json.loads(raw)
    return RunEvent(
        run_id=run_id,
        seq=seq,
        at=datetime.fromisoformat(body["at"]),
        type=RunEventType(body["type"]),
        message=body.get("message"),
        progress=body.get("progress"),
        data=body.get("data"),
    )
