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


class DiscountMarketplaceState(enum.Enum):
    """Where the discount stands on the marketplace (the scheduler moves it)."""

    PENDING = "PENDING"  # not applied yet (not due, or its campaign is not active)
    APPLIED = "APPLIED"  # a PRICE_DISCOUNT is live (or pending) on the marketplace
    WITHDRAWN = "WITHDRAWN"  # it was applied and is off again (ended, canceled, paused)
    REJECTED = "REJECTED"  # our rules or the marketplace refused it; state_reason says why
    FAILED = "FAILED"  # the marketplace could not be reached; retried while in its period


CAMPAIGN_MARGIN_MAX = 1000.0
CAMPAIGN_STOCK_FLOOR_MAX = 1_000_000


@dataclass(frozen=True, slots=True)
class CampaignRules:
    """What a campaign allows its discounts: the scheduler and joinPromotion check them.

    `min_margin_percent` is the markup over the listing's unit cost that the deal price must
    keep: deal_price >= unit_cost * (1 + min_margin_percent / 100).
    """

    max_discount_percent: float | None = None
    min_margin_percent: float | None = None
    stock_floor: int | None = None

    @classmethod
    def of(
        cls,
        *,
        max_discount_percent: float | None = None,
        min_margin_percent: float | None = None,
        stock_floor: int | None = None,
    ) -> CampaignRules:
        if max_discount_percent is not None and not (
            DISCOUNT_MIN_PERCENT <= max_discount_percent <= DISCOUNT_MAX_PERCENT
        ):
            raise InvalidInput(
                f"maxDiscountPercent must be from {DISCOUNT_MIN_PERCENT:g} to "
                f"{DISCOUNT_MAX_PERCENT:g}.",
                field="rules.max_discount_percent",
            )
        if min_margin_percent is not None and not (0 <= min_margin_percent <= CAMPAIGN_MARGIN_MAX):
            raise InvalidInput(
                f"minMarginPercent must be from 0 to {CAMPAIGN_MARGIN_MAX:g}.",
                field="rules.min_margin_percent",
            )
        if stock_floor is not None and not 0 <= stock_floor <= CAMPAIGN_STOCK_FLOOR_MAX:
            raise InvalidInput(
                f"stockFloor must be from 0 to {CAMPAIGN_STOCK_FLOOR_MAX}.",
                field="rules.stock_floor",
            )
        return cls(max_discount_percent, min_margin_percent, stock_floor)


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
    rules: CampaignRules = field(default_factory=CampaignRules)

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
        rules: CampaignRules | None = None,
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
            rules=rules or CampaignRules(),
        )

    def activate(self, now: datetime) -> None:
        """DRAFT or PAUSED -> ACTIVE: the scheduler makes its discounts live in their periods."""
        if self.status not in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
            raise Conflict(
                f"Campaign {self.name!r} is {self.status.value}; only a DRAFT or PAUSED "
                "campaign can be activated."
            )
        if now >= self.ends_at:
            raise Conflict(f"Campaign {self.name!r} is over (it ended {self.ends_at.isoformat()}).")
        self.status = CampaignStatus.ACTIVE

    def pause(self) -> None:
        """ACTIVE -> PAUSED: the scheduler withdraws what it applied."""
        if self.status is not CampaignStatus.ACTIVE:
            raise Conflict(
                f"Campaign {self.name!r} is {self.status.value}; only an ACTIVE campaign "
                "can be paused."
            )
        self.status = CampaignStatus.PAUSED

    def end(self) -> None:
        """Any state but ENDED -> ENDED, for good: its discounts come off the marketplace."""
        if self.status is CampaignStatus.ENDED:
            raise Conflict(f"Campaign {self.name!r} has already ended.")
        self.status = CampaignStatus.ENDED

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
    # The marketplace side, written by the scheduler only (see domain/services/scheduler.py).
    marketplace_state: DiscountMarketplaceState = DiscountMarketplaceState.PENDING
    state_reason: str | None = None
    deal_price: Decimal | None = None
    applied_at: datetime | None = None
    withdrawn_at: datetime | None = None
    promotion_id: str | None = None
    segment_ends_at: datetime | None = None  # the finish_date of the promotion now live
    spend_estimate: Decimal | None = None  # what it may cost the campaign's budget
    attempts: int = 0  # failed attempts in a row (backoff)
    retry_at: datetime | None = None

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

    # -- the marketplace side (the scheduler) ------------------------------------------------
    def applied(
        self,
        *,
        deal_price: Decimal,
        promotion_id: str | None,
        segment_ends_at: datetime,
        spend_estimate: Decimal | None,
        now: datetime,
    ) -> None:
        self.marketplace_state = DiscountMarketplaceState.APPLIED
        self.state_reason = None
        self.deal_price = deal_price
        self.promotion_id = promotion_id
        self.segment_ends_at = segment_ends_at
        self.spend_estimate = spend_estimate
        self.applied_at = self.applied_at or now
        self.withdrawn_at = None
        self.attempts = 0
        self.retry_at = None

    def withdrawn(self, reason: str, now: datetime) -> None:
        self.marketplace_state = DiscountMarketplaceState.WITHDRAWN
        self.state_reason = reason
        self.withdrawn_at = now
        self.segment_ends_at = None
        self.attempts = 0
        self.retry_at = None

    def rejected(self, reason: str) -> None:
        self.marketplace_state = DiscountMarketplaceState.REJECTED
        self.state_reason = reason
        self.retry_at = None

    def failed(self, reason: str, retry_at: datetime, *, still_applied: bool) -> None:
        """A call that did not get through; a withdrawal that failed leaves it APPLIED."""
        if not still_applied:
            self.marketplace_state = DiscountMarketplaceState.FAILED
        self.state_reason = reason
        self.attempts += 1
        self.retry_at = retry_at


class DiscountAction(enum.Enum):
    """What the scheduler owes the marketplace for a discount now."""

    APPLY = "APPLY"  # apply it (or the next 14-day segment of a longer one)
    WITHDRAW = "WITHDRAW"  # take it off: ended, canceled, or its campaign paused or ended


def due_action(
    discount: Discount,
    campaign_status: CampaignStatus | None,
    now: datetime,
    *,
    interrupted: bool = False,
    lookahead: timedelta = timedelta(0),
) -> DiscountAction | None:
    """The scheduler's decision for one discount (the SQL of `DiscountRepository.due` mirrors
    it). `interrupted`: an earlier attempt claimed it and never recorded an outcome, so a
    promotion may be live even though the state does not say APPLIED. `lookahead`: a
    discount starting within it is due (the scheduler sends it at its start)."""
    if discount.retry_at is not None and now < discount.retry_at:
        return None
    campaign_live = campaign_status in (None, CampaignStatus.ACTIVE)
    state = discount.marketplace_state
    if discount.status is DiscountStatus.CANCELED or now >= discount.ends_at or not campaign_live:
        if state is DiscountMarketplaceState.APPLIED or interrupted:
            return DiscountAction.WITHDRAW
        return None
    if now + lookahead < discount.starts_at:
        return None
    if state in (
        DiscountMarketplaceState.PENDING,
        DiscountMarketplaceState.FAILED,
        DiscountMarketplaceState.WITHDRAWN,
    ):
        return DiscountAction.APPLY
    if state is DiscountMarketplaceState.APPLIED and (
        discount.segment_ends_at is not None and discount.segment_ends_at <= now
    ):
        return DiscountAction.APPLY  # the 14-day segment ended: renew
    return None


def withdrawal_reason(
    discount: Discount, campaign_status: CampaignStatus | None, now: datetime
) -> str:
    if discount.status is DiscountStatus.CANCELED:
        return "The discount was canceled."
    if now >= discount.ends_at:
        return "The discount's period ended."
    if campaign_status is CampaignStatus.PAUSED:
        return "The campaign was paused."
    if campaign_status is CampaignStatus.ENDED:
        return "The campaign ended."
    return "The campaign is not active."


@dataclass(frozen=True, slots=True)
class DueDiscount:
    """A discount the scheduler owes an action, as found (the claim may have moved since)."""

    discount: Discount
    campaign_status: CampaignStatus | None
    claim: str | None  # an earlier attempt's claim, expired: it may have reached the marketplace
    action: DiscountAction
