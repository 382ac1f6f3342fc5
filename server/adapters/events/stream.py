"""The live half of a run's event log: a bounded per-run stream with live waiting.

The database holds every event (numbered there); a stream only relays them to followers as
they happen, so losing some of it (a Redis restart, a failed publish) costs latency, never
events: followers notice the gap and read the database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from domain.model.runs import RunEvent, RunEventType


class EventStream(Protocol):
    """Per-run streams of stored events (Redis Streams in production, memory when embedded)."""

    async def publish(self, event: RunEvent) -> None:
        """Relay a stored event; an event older than the stream's newest is dropped (followers
        fill such gaps from the database)."""
        ...

    async def publish_all(
        self, account_id: str, events: Sequence[RunEvent], announce: bool
    ) -> None:
        """Relay stored events of one run (and announce the run to its account's runUpdates
        subscribers) in one round trip."""
        ...

    async def wait_after(self, run_id: str, after_seq: int, wait_seconds: float) -> list[RunEvent]:
        """Events after `after_seq`, waiting up to `wait_seconds` for the first one."""
        ...

    async def announce(self, account_id: str, run_id: str) -> None: ...

    def announcements(self, account_id: str) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...


def encode(event: RunEvent) -> str:
    return json.dumps(
        {
            "type": event.type.value,
            "at": event.at.isoformat(),
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
