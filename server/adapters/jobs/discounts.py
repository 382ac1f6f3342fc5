"""The discount scheduler's clock: an in-process loop when embedded, an ARQ cron job with
workers. Both call the same `DiscountScheduler.tick` (domain/services/scheduler.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from domain.services.scheduler import DiscountScheduler

log = logging.getLogger(__name__)

TICK_DISCOUNTS = "discounts.tick"


async def tick_forever(scheduler: DiscountScheduler, interval: float) -> None:
    """Tick every `interval` seconds until cancelled (embedded mode), the first one
    `interval` seconds after the start (the API is up first)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await scheduler.tick()
        except Exception:
            log.exception("discounts.tick_failed; will retry")


async def tick_discounts(ctx: dict[str, Any]) -> int:
    """The ARQ cron job: one tick (claims keep two workers from applying one discount)."""
    scheduler: DiscountScheduler | None = ctx["container"].scheduler
    return await scheduler.tick() if scheduler is not None else 0


def cron_seconds(interval: float) -> set[int]:
    """The seconds of each minute an ARQ cron runs at, for a tick of about `interval` s."""
    step = min(60, max(1, round(interval)))
    return set(range(0, 60, step))
