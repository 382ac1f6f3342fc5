"""The discount scheduler: applies due discounts on the marketplace and withdraws ended ones.

One `tick` finds what is owed (`DiscountRepository.due`), withdrawals first, and handles each
discount as one attempt:
1. claim it with a fresh attempt id (a conditional UPDATE, committed): of two schedulers, one
   wins; the claim is the intent, written before any marketplace call;
2. read the item and check the marketplace's rules and the campaign's (pure, in
   domain/model/promotions.py); a refusal is recorded without calling;
3. call the marketplace;
4. record the outcome and release the claim in one transaction, with a `PriceChange` (the
   append-only audit log), fenced by the claim.
A crash between 3 and 4 leaves the claim; once it expires the next attempt sees it and
reconciles by reading the item's promotions instead of applying again. Every promotion is sent
with finish_date at most the discount's end, so the marketplace ends it even if we never return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain.marketplace import (
    ItemPromotion,
    MarketplaceClient,
    MarketplaceError,
    MarketplaceNotFound,
    MarketplaceRefused,
    RemoteItem,
)
from domain.model.campaigns import (
    Campaign,
    Discount,
    DiscountAction,
    DiscountMarketplaceState,
    DueDiscount,
    due_action,
    withdrawal_reason,
)
from domain.model.common import new_id
from domain.model.marketplace import (
    PriceChange,
    PriceChangeOutcome,
    PriceChangeReason,
)
from domain.model.promotions import (
    ItemFacts,
    Refusal,
    campaign_refusal,
    deal_price,
    next_segment,
    price_discount_refusal,
    spend_estimate,
)
from domain.model.shop_sync import ActivityKind, MarketplaceActivity
from domain.ports import ActivityFeed, Clock, UnitOfWorkFactory
from domain.services.shops import Shop, Shops, TickReads

log = logging.getLogger(__name__)

PRICE_DISCOUNT = "PRICE_DISCOUNT"
LIVE_PROMOTION = ("pending", "started")
# Marketplaces round instants; a promotion ending this close to ours is ours.
END_TOLERANCE = timedelta(seconds=2)
# What one attempt may take (a few marketplace calls, each bounded by the client's retries).
ATTEMPT_BUDGET = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class SchedulerPolicy:
    claim_for: timedelta = timedelta(seconds=60)  # longer than a marketplace call can take
    retry_after: timedelta = timedelta(seconds=15)  # first retry of a failed call, doubling
    retry_max: timedelta = timedelta(minutes=10)
    batch: int = 500
    concurrency: int = 16
    actor: str = "scheduler"
    # Applies starting within this much of a tick are taken at that tick and sent at their
    # start, so a discount does not wait for the next tick (set to the tick interval).
    lookahead: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class _Claimed:
    discount: Discount
    campaign: Campaign | None
    claim: str


@dataclass(slots=True)
class _Attempt:
    discount: Discount
    campaign: Campaign | None
    action: DiscountAction
    interrupted: bool
    now: datetime
    changes: list[PriceChange]
    reads: TickReads

    def log(
        self,
        reason: PriceChangeReason,
        outcome: PriceChangeOutcome,
        *,
        old: Decimal | None,
        new: Decimal | None,
        actor: str,
        message: str | None = None,
        promotion_id: str | None = None,
    ) -> None:
        self.changes.append(
            PriceChange(
                account_id=self.discount.account_id,
                listing_id=self.discount.listing_id,
                old_price=old,
                new_price=new,
                reason=reason,
                actor=actor,
                at=self.now,
                outcome=outcome,
                promotion_id=promotion_id,
                message=message,
                discount_id=self.discount.id,
                campaign_id=self.discount.campaign_id,
            )
        )


class DiscountScheduler:
    """Applies and withdraws discounts on the marketplace, exactly once in effect."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        shops: Shops,
        policy: SchedulerPolicy | None = None,
        activity: ActivityFeed | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._shops = shops
        self._policy = policy or SchedulerPolicy()
        self._activity = activity
        self._budget_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def tick(self) -> int:
        """One pass over what is due; returns how many discounts it changed."""
        async with self._uow() as uow:
            due = await uow.discounts.due(
                self._clock.now(), self._policy.batch, self._policy.lookahead
            )
        return await self.handle(due)

    async def handle(self, due: Sequence[DueDiscount]) -> int:
        slots = asyncio.Semaphore(self._policy.concurrency)

        async def one(item: DueDiscount) -> bool:
            taken = claimed.get(item.discount.id)
            if item.claim is None and taken is None:
                return False  # another scheduler claimed it first
            early = (item.discount.starts_at - self._clock.now()).total_seconds()
            if item.action is DiscountAction.APPLY and early > 0:
                await asyncio.sleep(early)  # taken ahead of its start: send it at its start
                if taken is not None:  # canceled or paused while it waited?
                    taken = await self._reread(taken)
            try:
                return await self._attempt(item, reads, taken, slots)
            except Exception:
                # The claim stays until it expires; the next attempt reconciles.
                log.exception(
                    "scheduler.attempt_failed",
                    extra={"discount_id": item.discount.id, "action": item.action.value},
                )
                return False

        withdrawals = [d for d in due if d.action is DiscountAction.WITHDRAW]
        applies = [d for d in due if d.action is DiscountAction.APPLY]
        # Discounts no attempt holds are claimed together (one statement); those an
        # interrupted attempt left are claimed one by one, each reconciled.
        claimed = await self._claim_fresh([d for d in due if d.claim is None])
        reads = TickReads(self._shops)
        try:
            await reads.prefetch([d for d in applies if d.claim or d.discount.id in claimed])
        except Exception:
            log.exception("scheduler.prefetch_failed")  # the attempts read for themselves
        # Withdraw first: a discount ending as the next one on the listing starts frees it.
        done = await asyncio.gather(*(one(d) for d in withdrawals))
        done += await asyncio.gather(*(one(d) for d in applies))
        return sum(done)

    async def _claim_fresh(self, due: Sequence[DueDiscount]) -> dict[str, _Claimed]:
        """Claim these discounts in one statement; each one taken, read afresh."""
        if not due:
            return {}
        claim = new_id()
        now = self._clock.now()
        taken: dict[str, _Claimed] = {}
        async with self._uow() as uow:
            # The batch's claims must outlast its queue: attempts run `concurrency` at a time.
            rounds = -(-len(due) // self._policy.concurrency)
            lease = self._policy.claim_for + self._policy.lookahead + rounds * ATTEMPT_BUDGET
            won = set(
                await uow.discounts.claim_many(
                    [d.discount.id for d in due], claim=claim, until=now + lease, now=now
                )
            )
            by_account: dict[str, list[str]] = defaultdict(list)
            for item in due:
                if item.discount.id in won:
                    by_account[item.discount.account_id].append(item.discount.id)
            for account_id, ids in by_account.items():
                discounts = await uow.discounts.get_many(account_id, ids)
                campaign_ids = {d.campaign_id for d in discounts.values() if d.campaign_id}
                campaigns = await uow.campaigns.get_many(account_id, list(campaign_ids))
                for discount in discounts.values():
                    campaign = campaigns.get(discount.campaign_id or "")
                    taken[discount.id] = _Claimed(discount, campaign, claim)
            await uow.commit()
        return taken

    async def _reread(self, taken: _Claimed) -> _Claimed | None:
        discount = taken.discount
        async with self._uow() as uow:
            fresh = await uow.discounts.get(discount.account_id, discount.id)
            campaign = None
            if fresh is not None and fresh.campaign_id is not None:
                campaign = await uow.campaigns.get(fresh.account_id, fresh.campaign_id)
        return _Claimed(fresh, campaign, taken.claim) if fresh is not None else None

    async def _claim_one(self, item: DueDiscount) -> _Claimed | None:
        """Claim a discount an interrupted attempt left (its claim `item.claim`, expired)."""
        claim = new_id()
        now = self._clock.now()
        async with self._uow() as uow:
            won = await uow.discounts.claim(
                item.discount.id,
                seen=item.claim,
                claim=claim,
                until=now + self._policy.claim_for,
                now=now,
            )
            discount = await uow.discounts.get(item.discount.account_id, item.discount.id)
            campaign = None
            if discount is not None and discount.campaign_id is not None:
                campaign = await uow.campaigns.get(discount.account_id, discount.campaign_id)
            await uow.commit()
        return _Claimed(discount, campaign, claim) if won and discount is not None else None

    async def _attempt(
        self,
        item: DueDiscount,
        reads: TickReads,
        taken: _Claimed | None,
        slots: asyncio.Semaphore,
    ) -> bool:
        """One attempt: the marketplace calls hold one of the tick's `slots`; the database
        writes around them do not, so records overlap the next attempts' calls."""
        interrupted = item.claim is not None
        if taken is None:
            taken = await self._claim_one(item)
            if taken is None:
                return False
        discount, campaign, claim = taken.discount, taken.campaign, taken.claim
        now = self._clock.now()
        status = campaign.status if campaign else None
        action = due_action(
            discount, status, now, interrupted=interrupted, lookahead=self._policy.lookahead
        )
        attempt = _Attempt(discount, campaign, action or item.action, interrupted, now, [], reads)
        # A budget is checked against what the campaign's applied discounts committed: in this
        # process, one apply per budgeted campaign at a time, from the check to the record.
        budgeted = (
            campaign.id
            if action is DiscountAction.APPLY and campaign and campaign.budget is not None
            else None
        )
        async with self._budget_locks[budgeted] if budgeted else contextlib.nullcontext():
            async with slots:
                if action is DiscountAction.APPLY:
                    await self._apply(attempt)
                elif action is DiscountAction.WITHDRAW:
                    await self._withdraw(attempt)
            async with self._uow() as uow:
                if not await uow.discounts.record(discount, claim):
                    log.warning("scheduler.claim_lost", extra={"discount_id": discount.id})
                    return False
                for change in attempt.changes:
                    await uow.price_changes.add(change)
                await uow.commit()
        for change in attempt.changes:
            log.info(
                "scheduler.recorded",
                extra={
                    "discount_id": discount.id,
                    "state": discount.marketplace_state.value,
                    "outcome": change.outcome.value,
                },
            )
            await self._announce(change)
        return bool(attempt.changes)

    async def _announce(self, change: PriceChange) -> None:
        """Tell the account's activity feed (a hint: the price log is the record)."""
        if self._activity is None:
            return
        if change.outcome is not PriceChangeOutcome.APPLIED:
            kind = ActivityKind.DISCOUNT_REJECTED
        elif change.reason is PriceChangeReason.DISCOUNT_WITHDRAWN:
            kind = ActivityKind.DISCOUNT_WITHDRAWN
        else:
            kind = ActivityKind.DISCOUNT_APPLIED
        words = {
            ActivityKind.DISCOUNT_APPLIED: f"Discount applied: now {change.new_price}.",
            ActivityKind.DISCOUNT_WITHDRAWN: "Discount withdrawn.",
            ActivityKind.DISCOUNT_REJECTED: f"Discount {change.outcome.value.lower()}: "
            f"{change.message}",
        }
        try:
            await self._activity.publish(
                MarketplaceActivity(
                    account_id=change.account_id,
                    kind=kind,
                    at=change.at,
                    message=f"{change.listing_id}: {words[kind]}",
                    listing_id=change.listing_id,
                    data={"discount_id": change.discount_id, "price_change_id": change.id},
                )
            )
        except Exception:
            log.exception("scheduler.announce_failed", extra={"price_change_id": change.id})

    # -- apply ---------------------------------------------------------------------------------
    async def _apply(self, attempt: _Attempt) -> None:
        discount = attempt.discount
        shop = await attempt.reads.shop(discount.account_id, discount.listing_id)
        if shop is None:
            self._wait(attempt, "No connected marketplace sells this listing yet.")
            return
        renewing = discount.marketplace_state is DiscountMarketplaceState.APPLIED
        try:
            if attempt.interrupted and await self._adopt(attempt, shop.client):
                return
            facts = await self._facts(attempt.reads, shop, discount.listing_id)
            if facts is None:
                self._reject(attempt, None, None, Refusal("item.not_found", "No such item."))
                return
            deal = deal_price(facts.price, discount.percent)
            after = discount.segment_ends_at if renewing else None
            starts_at, ends_at = next_segment(
                discount.starts_at, discount.ends_at, attempt.now, after
            )
            refusal = price_discount_refusal(facts, deal, starts_at, ends_at)
            refusal = refusal or await self._campaign_refusal(attempt, facts, deal)
            if refusal is not None:
                self._reject(attempt, facts.price, deal, refusal)
                return
            applied = await shop.client.apply_price_discount(
                discount.listing_id, deal_price=deal, starts_at=starts_at, ends_at=ends_at
            )
        except MarketplaceRefused as refused:
            if refused.code == "promotion.already_exists":
                await self._already_exists(attempt, shop.client, refused, renewing)
            else:
                self._reject(attempt, None, None, Refusal(refused.code, refused.message))
            return
        except MarketplaceNotFound as missing:
            self._reject(attempt, None, None, Refusal("item.not_found", missing.message))
            return
        except MarketplaceError as error:
            self._fail(attempt, error.message, applied=False)
            return
        promotion = f"{PRICE_DISCOUNT}-{discount.listing_id}"
        discount.applied(
            deal_price=applied.price,
            promotion_id=promotion,
            segment_ends_at=ends_at,
            spend_estimate=spend_estimate(facts, applied.price),
            now=attempt.now,
        )
        attempt.log(
            PriceChangeReason.DISCOUNT_APPLIED,
            PriceChangeOutcome.APPLIED,
            old=applied.original_price or facts.price,
            new=applied.price,
            actor=self._policy.actor,
            promotion_id=promotion,
            message=f"Renewed until {ends_at.isoformat()}." if renewing else None,
        )

    async def _already_exists(
        self,
        attempt: _Attempt,
        client: MarketplaceClient,
        refused: MarketplaceRefused,
        renewing: bool,
    ) -> None:
        """A live individual discount is in the way: ours (an attempt whose claim ran out got
        there first) is adopted; the previous segment not yet over on the marketplace's clock
        is retried; anything else is a refusal."""
        try:
            if await self._adopt(attempt, client):
                return
        except MarketplaceError as error:
            self._fail(attempt, error.message, applied=False)
            return
        if renewing:
            self._fail(attempt, f"{refused.code}: {refused.message}", applied=False)
        else:
            self._reject(attempt, None, None, Refusal(refused.code, refused.message))

    async def _adopt(self, attempt: _Attempt, client: MarketplaceClient) -> bool:
        """After an interrupted attempt: a live promotion of ours means it got through."""
        ours = _ours(await client.item_promotions(attempt.discount.listing_id), attempt.discount)
        if ours is None or ours.price is None:
            return False
        discount = attempt.discount
        discount.applied(
            deal_price=ours.price,
            promotion_id=ours.id,
            segment_ends_at=ours.ends_at or discount.ends_at,
            spend_estimate=discount.spend_estimate,
            now=attempt.now,
        )
        attempt.log(
            PriceChangeReason.DISCOUNT_APPLIED,
            PriceChangeOutcome.APPLIED,
            old=ours.original_price,
            new=ours.price,
            actor=self._policy.actor,
            promotion_id=ours.id,
            message="Found live on the marketplace after an interrupted attempt: not sent again.",
        )
        return True

    async def _facts(self, reads: TickReads, shop: Shop, item_id: str) -> ItemFacts | None:
        item = await reads.item(shop, item_id)
        if item is None:
            return None
        automated = await shop.client.price_automated(item_id)
        seller = await reads.seller(shop)
        return ItemFacts(
            item_id=item.id,
            price=item.original_price or item.price,
            status=item.status,
            condition=item.condition,
            listing_type=item.listing_type,
            available_quantity=item.available_quantity,
            price_automated=automated,
            seller_green=seller.green,
            unit_cost=shop.unit_cost,
        )

    async def _campaign_refusal(
        self, attempt: _Attempt, facts: ItemFacts, deal: Decimal
    ) -> Refusal | None:
        campaign = attempt.campaign
        if campaign is None:
            return None
        committed = Decimal(0)
        if campaign.budget is not None:
            async with self._uow() as uow:
                committed = await uow.discounts.committed_spend(campaign.account_id, campaign.id)
            if attempt.discount.marketplace_state is DiscountMarketplaceState.APPLIED:
                committed -= attempt.discount.spend_estimate or 0  # renewing: counted already
        return campaign_refusal(
            campaign.rules,
            facts,
            deal,
            percent=attempt.discount.percent,
            budget=campaign.budget,
            committed=committed,
        )

    # -- withdraw ------------------------------------------------------------------------------
    async def _withdraw(self, attempt: _Attempt) -> None:
        discount = attempt.discount
        shop = await attempt.reads.shop(discount.account_id, discount.listing_id)
        was_applied = discount.marketplace_state is DiscountMarketplaceState.APPLIED
        price_now: Decimal | RemoteItem | None = None
        if shop is None:  # nothing to call: look again later (the connection may come back)
            self._wait(attempt, "No connected marketplace sells this listing.")
            return
        try:
            # Read before removing: the marketplace may have ended it (its finish_date), and a
            # PRICE_DISCOUNT that is not ours (the next discount's) must stay.
            ours = _ours(await shop.client.item_promotions(discount.listing_id), discount)
            if ours is not None:
                await shop.client.remove_price_discount(discount.listing_id)
                price_now = ours.original_price
            elif was_applied:  # the marketplace ended it: the log shows the price it is back to
                price_now = next(iter(await shop.client.items([discount.listing_id])), None)
        except MarketplaceError as error:
            self._fail(attempt, error.message, applied=was_applied or attempt.interrupted)
            return
        if not was_applied and ours is None:
            return  # an interrupted attempt that never reached the marketplace: nothing to undo
        campaign_status = attempt.campaign.status if attempt.campaign else None
        reason = withdrawal_reason(discount, campaign_status, attempt.now)
        old = ours.price if ours else discount.deal_price
        new = price_now.price if isinstance(price_now, RemoteItem) else price_now
        promotion = ours.id if ours else discount.promotion_id
        discount.withdrawn(reason, attempt.now)
        attempt.log(
            PriceChangeReason.DISCOUNT_WITHDRAWN,
            PriceChangeOutcome.APPLIED,
            old=old,
            new=new,
            actor=self._policy.actor,
            promotion_id=promotion,
            message=reason if ours else f"{reason} The marketplace had already ended it.",
        )

    # -- outcomes ------------------------------------------------------------------------------
    def _reject(
        self, attempt: _Attempt, old: Decimal | None, new: Decimal | None, refusal: Refusal
    ) -> None:
        attempt.discount.rejected(str(refusal))
        attempt.log(
            PriceChangeReason.DISCOUNT_APPLIED,
            PriceChangeOutcome.REJECTED,
            old=old,
            new=new,
            actor=self._policy.actor,
            message=str(refusal),
        )

    def _backoff(self, discount: Discount) -> timedelta:
        return min(
            self._policy.retry_max, self._policy.retry_after * (2 ** min(discount.attempts, 10))
        )

    def _wait(self, attempt: _Attempt, reason: str) -> None:
        """Nothing was attempted (no shop to send it to): look again later, log nothing."""
        discount = attempt.discount
        discount.state_reason = reason
        discount.retry_at = attempt.now + self._backoff(discount)
        discount.attempts += 1

    def _fail(self, attempt: _Attempt, message: str, *, applied: bool) -> None:
        discount = attempt.discount
        discount.failed(message, attempt.now + self._backoff(discount), still_applied=applied)
        reason = (
            PriceChangeReason.DISCOUNT_WITHDRAWN
            if attempt.action is DiscountAction.WITHDRAW
            else PriceChangeReason.DISCOUNT_APPLIED
        )
        attempt.log(
            reason,
            PriceChangeOutcome.FAILED,
            old=None,
            new=None,
            actor=self._policy.actor,
            message=message,
        )


def _ours(promotions: list[ItemPromotion], discount: Discount) -> ItemPromotion | None:
    """The live individual discount that can only be this discount's: it ends in its period
    (discounts on a listing never overlap, so another one of ours ends elsewhere)."""
    for promotion in promotions:
        if (
            promotion.type == PRICE_DISCOUNT
            and promotion.status in LIVE_PROMOTION
            and promotion.ends_at is not None
            and promotion.ends_at <= discount.ends_at + END_TOLERANCE
            and promotion.ends_at > discount.starts_at
        ):
            return promotion
    return None
