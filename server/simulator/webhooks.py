"""Notifications POSTed to the app's callback URL, retried until answered 2xx in time."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from .timefmt import to_iso

log = logging.getLogger("mlproject.simulator")
HISTORY = 10_000


class Notifier:
    """Queues notifications and delivers them in the background with httpx.

    A notification not answered 2xx within `timeout` seconds is sent again (attempts + 1) after
    `retry_seconds * 2 ** (attempts - 1)`, up to `max_attempts`.
    """

    def __init__(
        self,
        url: str | None,
        application_id: int,
        now: Callable[[], float],
        timeout: float = 0.5,
        max_attempts: int = 5,
        retry_seconds: float = 1.0,
    ) -> None:
        self.url = url
        self.application_id = application_id
        self._now = now
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.sent: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.delivered = 0
        self.failed = 0
        self._pending: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def publish(self, user_id: int, topic: str, resource: str, duplicate: bool = False) -> None:
        """Send one notification (twice when `duplicate`) if a callback URL is set."""
        if not self.url:
            return
        now = to_iso(self._now())
        body: dict[str, Any] = {
            "_id": str(uuid.uuid4()),
            "resource": resource,
            "user_id": user_id,
            "topic": topic,
            "application_id": self.application_id,
            "attempts": 1,
            "sent": now,
            "received": now,
        }
        self.sent.append(body)
        self._spawn(body)
        if duplicate:
            self._spawn(dict(body))

    def replay(self, last: int | None = None) -> int:
        """Send the remembered notifications again, same `_id` (a marketplace may repeat)."""
        bodies = list(self.sent)[-last:] if last else list(self.sent)
        for body in bodies:
            self._spawn({**body, "attempts": 1})
        return len(bodies)

    def _spawn(self, body: dict[str, Any]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(self._deliver(body))
        except RuntimeError:  # no loop (generation in a thread): nobody listens yet
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, body: dict[str, Any]) -> None:
        url = self.url
        if not url:
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        while True:
            body["sent"] = to_iso(self._now())
            try:
                response = await self._client.post(url, json=body)
                if 200 <= response.status_code < 300:
                    self.delivered += 1
                    return
            except httpx.HTTPError as exc:
                log.debug("webhook not delivered", extra={"url": url, "error": str(exc)})
            if body["attempts"] >= self.max_attempts:
                self.failed += 1
                log.warning("webhook dropped", extra={"url": url, "id": body["_id"]})
                return
            await asyncio.sleep(self.retry_seconds * 2 ** (body["attempts"] - 1))
            body["attempts"] += 1

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
