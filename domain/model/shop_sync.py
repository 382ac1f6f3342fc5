"""Keeping the shop's copy current: sync jobs, webhook receipts, OAuth states and activity.

A `SyncJob` copies a seller's listings and orders from the marketplace (a FULL sync) or
re-reads one resource a webhook named (ITEM, ORDER). It is resumable: the phase and cursor are
saved with every batch, so a sync killed halfway carries on after the last saved batch and,
since every write is an upsert by the marketplace's id, never duplicates anything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.errors import Conflict
from domain.model.common import new_id
from domain.model.marketplace import SyncStatus


class SyncKind(enum.Enum):
    FULL = "FULL"  # every listing, and orders since the last synced one (minus an overlap)
    ITEM = "ITEM"  # one listing, named by a webhook
    ORDER = "ORDER"  # one order, named by a webhook


class SyncPhase(enum.Enum):
    LISTINGS = "LISTINGS"
    ORDERS = "ORDERS"
    DONE = "DONE"


@dataclass(slots=True)
class SyncCounts:
    """What a sync wrote: created, updated, and seen unchanged (skipped), per kind."""

    listings_created: int = 0
    listings_updated: int = 0
    listings_unchanged: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def of(cls, values: dict[str, Any] | None) -> SyncCounts:
        known = set(cls.__slots__)
        return cls(**{k: int(v) for k, v in (values or {}).items() if k in known})

    @property
    def changed(self) -> int:
        return (
            self.listings_created
            + self.listings_updated
            + self.orders_created
            + self.orders_updated
        )


@dataclass(slots=True)
class SyncJob:
    """One sync of one connection; `attempt` fences a stale worker from a newer one."""

    account_id: str
    connection_id: str
    kind: SyncKind
    status: SyncStatus
    created_at: datetime
    phase: SyncPhase = SyncPhase.LISTINGS
    cursor: str | None = None  # LISTINGS: the last item id saved (items go in id order)
    progress: float = 0.0  # 0..1
    counts: SyncCounts = field(default_factory=SyncCounts)
    resource: str | None = None  # ITEM/ORDER: the marketplace id to re-read
    attempt: int = 0
    heartbeat_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    id: str = field(default_factory=new_id)

    @property
    def finished(self) -> bool:
        return self.status in (SyncStatus.SUCCEEDED, SyncStatus.FAILED)

    def stale(self, now: datetime, lease: timedelta) -> bool:
        """A RUNNING sync whose worker stopped beating (killed): another may take it over."""
        beat = self.heartbeat_at or self.started_at or self.created_at
        return self.status is SyncStatus.RUNNING and now - beat > lease

    def claim(self, attempt: int, now: datetime, lease: timedelta) -> None:
        """Start (or resume) the sync as `attempt`; refused when finished or held by a live
        worker, or when the attempt is older than the one that holds it."""
        if self.finished:
            raise Conflict(f"Sync {self.id} is {self.status.value}.")
        if attempt < self.attempt:
            raise Conflict(f"Sync {self.id} attempt {attempt} is stale.")
        held = self.status is SyncStatus.RUNNING and attempt == self.attempt
        if held and not self.stale(now, lease):
            raise Conflict(f"Sync {self.id} is running elsewhere.")
        self.attempt = attempt
        self.status = SyncStatus.RUNNING
        self.started_at = self.started_at or now
        self.heartbeat_at = now

    def advance(self, phase: SyncPhase, cursor: str | None, progress: float, now: datetime) -> None:
        self.phase = phase
        self.cursor = cursor
        self.progress = max(0.0, min(1.0, progress))
        self.heartbeat_at = now

    def succeed(self, now: datetime) -> None:
        self.status = SyncStatus.SUCCEEDED
        self.phase = SyncPhase.DONE
        self.cursor = None
        self.progress = 1.0
        self.finished_at = now

    def fail(self, message: str, now: datetime) -> None:
        self.status = SyncStatus.FAILED
        self.error = message[:500]
        self.finished_at = now


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """A marketplace notification we received; its id is unique, so a replay is a no-op."""

    id: str  # the notification's `_id`
    topic: str
    resource: str
    user_id: str
    received_at: datetime
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class OAuthState:
    """A pending MERCADO_LIVRE consent: the state sent out, with the PKCE verifier kept here.
    Single-use and short-lived."""

    state: str
    account_id: str
    connection_id: str
    code_verifier: str
    redirect_uri: str
    expires_at: datetime


class ActivityKind(enum.Enum):
    SYNC_PROGRESS = "SYNC_PROGRESS"
    SYNC_SUCCEEDED = "SYNC_SUCCEEDED"
    SYNC_FAILED = "SYNC_FAILED"
    WEBHOOK_RECEIVED = "WEBHOOK_RECEIVED"
    DISCOUNT_APPLIED = "DISCOUNT_APPLIED"
    DISCOUNT_WITHDRAWN = "DISCOUNT_WITHDRAWN"
    DISCOUNT_REJECTED = "DISCOUNT_REJECTED"
    ALERT = "ALERT"


@dataclass(frozen=True, slots=True)
class MarketplaceActivity:
    """One event of an account's marketplace activity feed (the subscription's items)."""

    account_id: str
    kind: ActivityKind
    at: datetime
    message: str
    connection_id: str | None = None
    sync_id: str | None = None
    listing_id: str | None = None
    progress: float | None = None
    data: dict[str, Any] | None = None
