"""Campaigns and the discounts (marketplace promotions) scheduled on listings."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from domain.errors import Conflict, InvalidInput
from domain.model.common import clean_name, new_id, require_aware

DISCOUNT_MIN_PERCENT = 5.0
DISCOUNT_MAX_PERCENT = 80.0
MAX_PERIOD = timedelta(days=366)
# A start a little in the past is accepted: clocks of clients drift.
START_GRACE = timedelta(minutes=5)
BUDGET_MAX = Decimal("1000000000")
# Mercado Livre item ids: site prefix (MLB, MLA, MLM, ...) and digits.
_LISTING_ID = re.compile(r"^[A-Z]{3}\d{4,15}$")


class CampaignStatus(enum.Enum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ENDED = "ENDED"


class DiscountStatus(enum.Enum):
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"
    CANCELED = "CANCELED"


def check_period(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """The period in UTC, if it is one: aware, in range, forward, at most MAX_PERIOD long."""
    starts_at = require_aware(starts_at, "starts_at")
    ends_at = require_aware(ends_at, "ends_at")
    if ends_at <= starts_at:
        raise InvalidInput("endsAt must be after startsAt.", field="ends_at")
    if ends_at - starts_at > MAX_PERIOD:
        raise InvalidInput("A period may last at most 366 days.", field="ends_at")
    return starts_at, ends_at


@dataclass(slots=True)
class Campaign:
    """A named sales push over a period, with an optional budget, grouping discounts."""

    account_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    budget: Decimal | None
    status: CampaignStatus
    created_at: datetime
    id: str = field(default_factory=new_id)

    @classmethod
    def plan(
        cls,
        *,
        account_id: str,
        name: str,
        starts_at: datetime,
        ends_at: datetime,
        budget: Decimal | None,
        now: datetime,
    ) -> Campaign:
        starts_at, ends_at = check_period(starts_at, ends_at)
        if ends_at <= now:
            raise InvalidInput("The campaign would already be over; endsAt is past.", "ends_at")
        if budget is not None and (not budget.is_finite() or budget < 0 or budget > BUDGET_MAX):
            raise InvalidInput(
                f"The budget must be a number from 0 to {BUDGET_MAX}.", field="budget"
            )
        return cls(
            account_id=account_id,
            name=clean_name(name),
            starts_at=starts_at,
            ends_at=ends_at,
            budget=budget.quantize(Decimal("0.01")) if budget is not None else None,
            status=CampaignStatus.DRAFT,
            created_at=now,
        )

    def accepts(self, starts_at: datetime, ends_at: datetime) -> None:
        """A discount of this campaign must fall inside its period, and the campaign be live."""
        if self.status is CampaignStatus.ENDED:
            raise Conflict(f"Campaign {self.name!r} has ended; it takes no more discounts.")
        if starts_at < self.starts_at or ends_at > self.ends_at:
            raise InvalidInput(
                f"The discount must fall within the campaign's period "
                f"({self.starts_at.isoformat()} to {self.ends_at.isoformat()}).",
                field="starts_at" if starts_at < self.starts_at else "ends_at",
            )


@dataclass(slots=True)
class Discount:
    """A percentage off a listing's price between two instants."""

    account_id: str
    listing_id: str
    percent: float
    starts_at: datetime
    ends_at: datetime
    status: DiscountStatus
    created_at: datetime
    campaign_id: str | None = None
    canceled_at: datetime | None = None
    id: str = field(default_factory=new_id)

    @classmethod
    def schedule(
        cls,
        *,
        account_id: str,
        listing_id: str,
        percent: float,
        starts_at: datetime,
        ends_at: datetime,
        campaign: Campaign | None,
        now: datetime,
    ) -> Discount:
        listing = (listing_id or "").strip().upper()
        if not _LISTING_ID.match(listing):
            raise InvalidInput(
                f"{listing_id!r} is not a Mercado Livre listing id (like MLB1234567890).",
                field="listing_id",
            )
        if not DISCOUNT_MIN_PERCENT <= percent <= DISCOUNT_MAX_PERCENT:
            raise InvalidInput(
                f"A discount must be between {DISCOUNT_MIN_PERCENT:g}% and "
                f"{DISCOUNT_MAX_PERCENT:g}% (got {percent:g}%).",
                field="percent",
            )
        starts_at, ends_at = check_period(starts_at, ends_at)
        if starts_at < now - START_GRACE:
            raise InvalidInput("startsAt is in the past; schedule from now on.", field="starts_at")
        if campaign is not None:
            campaign.accepts(starts_at, ends_at)
        return cls(
            account_id=account_id,
            listing_id=listing,
            percent=round(float(percent), 2),
            starts_at=starts_at,
            ends_at=ends_at,
            status=DiscountStatus.SCHEDULED,
            created_at=now,
            campaign_id=campaign.id if campaign else None,
        )

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        return self.starts_at < ends_at and starts_at < self.ends_at

    def status_at(self, now: datetime) -> DiscountStatus:
        """The status as of `now`: a scheduled discount is active in its period, then ended."""
        if self.status in (DiscountStatus.CANCELED, DiscountStatus.ENDED):
            return self.status
        if now >= self.ends_at:
            return DiscountStatus.ENDED
        if now >= self.starts_at:
            return DiscountStatus.ACTIVE
        return DiscountStatus.SCHEDULED

    def cancel(self, now: datetime) -> None:
        current = self.status_at(now)
        if current in (DiscountStatus.CANCELED, DiscountStatus.ENDED):
            raise Conflict(f"Discount {self.id} is already {current.value}; nothing to cancel.")
        self.status = DiscountStatus.CANCELED
        self.canceled_at = now
