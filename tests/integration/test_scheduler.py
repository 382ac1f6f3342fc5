"""The discount scheduler on both databases, against a fake marketplace (scheduler_fakes).

Real SQL (claims are conditional UPDATEs, the outcome is fenced by the claim), a frozen clock,
and a fake marketplace that keeps the wire's rules and can "die" after accepting a discount.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import text

from domain.errors import InvalidInput, NotFound
from domain.marketplace import PromotionCandidate, PromotionInvitation
from domain.model.accounts import Account, Principal, Role
from domain.model.campaigns import Campaign, CampaignRules, Discount, DiscountMarketplaceState
from domain.model.marketplace import PriceChange, PriceChangeOutcome, PriceChangeReason
from domain.model.shop_sync import ActivityKind
from domain.pagination import PageRequest
from domain.ports import PriceChangeFilter, UnitOfWorkFactory
from domain.services.campaigns import CampaignService
from domain.services.promotions import JoinRequest, PromotionService
from domain.services.scheduler import ATTEMPT_BUDGET, DiscountScheduler, SchedulerPolicy
from server.adapters.db.engine import create_engine, create_session_factory
from server.adapters.db.uow import SqlUnitOfWorkFactory
from server.adapters.events.activity import MemoryActivityFeed
from tests.unit.fakes import FrozenClock
from tests.unit.scheduler_fakes import Crash, FakeMarketplace, FakeShops, item

ITEM = "MLB1000000001"
POLICY = SchedulerPolicy(claim_for=timedelta(seconds=60), retry_after=timedelta(seconds=10))
# A tick's claims last the claim time plus one attempt budget per round of attempts.
LEASE_SECONDS = (POLICY.claim_for + ATTEMPT_BUDGET).total_seconds()


@dataclass
class Shop:
    """One account on a real database, a frozen clock, a fake marketplace and a scheduler."""

    uow: UnitOfWorkFactory
    clock: FrozenClock
    market: FakeMarketplace
    shops: FakeShops
    principal: Principal
    campaigns: CampaignService

    def scheduler(self) -> DiscountScheduler:
        return DiscountScheduler(self.uow, self.clock, self.shops, POLICY)

    async def discount(
        self, percent: float = 10, days: float = 1, listing: str = ITEM, campaign: str | None = None
    ) -> Discount:
        now = self.clock.now()
        return await self.campaigns.schedule_discount(
            self.principal,
            listing_id=listing,
            percent=percent,
            starts_at=now,
            ends_at=now + timedelta(days=days),
            campaign_id=campaign,
        )

    async def campaign(self, rules: CampaignRules, budget: str | None = None) -> Campaign:
        now = self.clock.now()
        campaign = await self.campaigns.create(
            self.principal,
            name="Black Friday",
            starts_at=now,
            ends_at=now + timedelta(days=30),
            budget=Decimal(budget) if budget else None,
            rules=rules,
        )
        return await self.campaigns.activate(self.principal, campaign.id)

    async def reload(self, discount: Discount) -> Discount:
        async with self.uow() as uow:
            found = await uow.discounts.get(discount.account_id, discount.id)
        assert found is not None
        return found

    async def log(self, account_id: str | None = None) -> list[PriceChange]:
        async with self.uow() as uow:
            page = await uow.price_changes.page(
                account_id or self.principal.account_id,
                PageRequest.of(100, None),
                PriceChangeFilter(),
            )
        return list(reversed(page.items))  # oldest first

    def applies(self) -> int:
        return self.market.calls.count("apply_price_discount")


@pytest_asyncio.fixture
async def shop(database_url: str) -> AsyncIterator[Shop]:
    engine = create_engine(database_url)
    uow = SqlUnitOfWorkFactory(create_session_factory(engine))
    clock = FrozenClock()
    # Distinct instants per test: the session's database is shared.
    clock.advance(uuid.uuid4().int % 10**7)
    account = Account.open(f"Loja {uuid.uuid4().hex[:6]}", clock.now())
    async with uow() as unit:
        await unit.accounts.add(account)
        await unit.commit()
    market = FakeMarketplace(clock)
    market.add(item(ITEM, "100.00"))
    principal = Principal("user", account.id, Role.OWNER)
    yield Shop(
        uow, clock, market, FakeShops(market, account.id), principal, CampaignService(uow, clock)
    )
    await engine.dispose()


async def test_a_due_discount_is_applied_then_withdrawn_at_its_end(shop: Shop) -> None:
    discount = await shop.discount(percent=10, days=1)
    await shop.scheduler().tick()
    applied = await shop.reload(discount)
    assert applied.marketplace_state is DiscountMarketplaceState.APPLIED
    assert applied.deal_price == Decimal("90.00") == shop.market.price_now(ITEM)
    await shop.scheduler().tick()
    assert shop.applies() == 1  # nothing more is owed

    shop.clock.advance(86400)
    await shop.scheduler().tick()
    withdrawn = await shop.reload(discount)
    assert withdrawn.marketplace_state is DiscountMarketplaceState.WITHDRAWN
    assert withdrawn.withdrawn_at == shop.clock.now()
    assert shop.market.live(ITEM) == []
    assert [(c.reason, c.outcome, c.old_price, c.new_price) for c in await shop.log()] == [
        (PriceChangeReason.DISCOUNT_APPLIED, PriceChangeOutcome.APPLIED, Decimal(100), Decimal(90)),
        (
            PriceChangeReason.DISCOUNT_WITHDRAWN,
            PriceChangeOutcome.APPLIED,
            Decimal(90),
            Decimal(100),
        ),
    ]


async def test_a_future_discount_waits_for_its_start(shop: Shop) -> None:
    now = shop.clock.now()
    discount = await shop.campaigns.schedule_discount(
        shop.principal,
        listing_id=ITEM,
        percent=10,
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        campaign_id=None,
    )
    await shop.scheduler().tick()
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.PENDING
    shop.clock.advance(3600)
    await shop.scheduler().tick()
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.APPLIED


async def test_a_crash_after_the_marketplace_accepted_is_reconciled_not_applied_twice(
    shop: Shop,
) -> None:
    discount = await shop.discount()
    shop.market.crash_after_apply = True
    with pytest.raises(Crash):
        await shop.scheduler().tick()
    assert shop.applies() == 1 and shop.market.price_now(ITEM) == Decimal("90.00")
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.PENDING

    await shop.scheduler().tick()  # the dead attempt's claim still holds
    assert shop.applies() == 1
    shop.clock.advance(LEASE_SECONDS)
    await shop.scheduler().tick()
    assert shop.applies() == 1  # read, not sent again
    reconciled = await shop.reload(discount)
    assert reconciled.marketplace_state is DiscountMarketplaceState.APPLIED
    assert reconciled.deal_price == Decimal("90.00")
    [entry] = await shop.log()
    assert entry.outcome is PriceChangeOutcome.APPLIED and "interrupted" in (entry.message or "")

    shop.clock.advance(86400)
    await shop.scheduler().tick()
    assert shop.market.live(ITEM) == []


async def test_a_crash_then_a_cancel_leaves_no_promotion_running(shop: Shop) -> None:
    discount = await shop.discount()
    shop.market.crash_after_apply = True
    with pytest.raises(Crash):
        await shop.scheduler().tick()
    await shop.campaigns.cancel_discount(shop.principal, discount.id)
    shop.clock.advance(LEASE_SECONDS)
    await shop.scheduler().tick()
    assert shop.market.live(ITEM) == []
    assert shop.applies() == 1
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.WITHDRAWN


async def test_two_concurrent_ticks_apply_a_discount_once(shop: Shop) -> None:
    discount = await shop.discount()
    await asyncio.gather(shop.scheduler().tick(), shop.scheduler().tick())
    assert shop.applies() == 1
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.APPLIED
    assert len(await shop.log()) == 1


async def test_a_discount_longer_than_14_days_is_renewed_as_consecutive_promotions(
    shop: Shop,
) -> None:
    discount = await shop.discount(days=20)
    await shop.scheduler().tick()
    [first] = shop.market.live(ITEM)
    assert first.ends_at == shop.clock.now() + timedelta(days=14)
    shop.clock.advance(14 * 86400)
    await shop.scheduler().tick()
    [second] = shop.market.live(ITEM)
    assert second.ends_at == discount.ends_at
    log = await shop.log()
    assert [c.outcome for c in log] == [PriceChangeOutcome.APPLIED] * 2
    assert "Renewed" in (log[1].message or "")


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (lambda m: m.automated.add(ITEM), "item.price.automated"),
        (lambda m: m.add(item(ITEM, condition="used")), "item.condition.invalid"),
        (lambda m: m.add(item(ITEM, listing_type="free")), "item.listing_type.invalid"),
        (lambda m: setattr(m, "reputation", "3_yellow"), "seller.reputation.invalid"),
    ],
)
async def test_an_ineligible_item_is_rejected_with_the_reason_and_not_sent(
    shop: Shop, arrange: object, code: str
) -> None:
    arrange(shop.market)  # type: ignore[operator]
    discount = await shop.discount()
    await shop.scheduler().tick()
    rejected = await shop.reload(discount)
    assert rejected.marketplace_state is DiscountMarketplaceState.REJECTED
    assert code in (rejected.state_reason or "")
    [entry] = await shop.log()
    assert entry.outcome is PriceChangeOutcome.REJECTED and code in (entry.message or "")
    assert shop.applies() == 0


async def test_the_marketplaces_own_refusal_is_recorded_with_its_code(shop: Shop) -> None:
    # A promotion the seller made elsewhere: our rules cannot see it, the marketplace refuses.
    await shop.market.client().apply_price_discount(
        ITEM,
        deal_price=Decimal("80"),
        starts_at=shop.clock.now(),
        ends_at=shop.clock.now() + timedelta(days=3),
    )
    discount = await shop.discount(days=1)
    await shop.scheduler().tick()
    assert "promotion.already_exists" in ((await shop.reload(discount)).state_reason or "")
    assert shop.market.price_now(ITEM) == Decimal("80")


async def test_a_deal_below_the_campaigns_margin_floor_is_rejected(shop: Shop) -> None:
    shop.shops.unit_costs[ITEM] = "70.00"
    campaign = await shop.campaign(CampaignRules(min_margin_percent=40))  # floor 98.00
    discount = await shop.discount(percent=10, campaign=campaign.id)
    await shop.scheduler().tick()
    rejected = await shop.reload(discount)
    assert rejected.marketplace_state is DiscountMarketplaceState.REJECTED
    assert "campaign.margin_floor" in (rejected.state_reason or "")
    assert "98.00" in (rejected.state_reason or "")
    assert shop.applies() == 0


async def test_pausing_a_campaign_withdraws_and_resuming_reapplies(shop: Shop) -> None:
    campaign = await shop.campaign(CampaignRules(max_discount_percent=30))
    discount = await shop.discount(campaign=campaign.id)
    await shop.scheduler().tick()
    assert shop.market.price_now(ITEM) == Decimal("90.00")
    await shop.campaigns.pause(shop.principal, campaign.id)
    await shop.scheduler().tick()
    paused = await shop.reload(discount)
    assert paused.marketplace_state is DiscountMarketplaceState.WITHDRAWN
    assert paused.state_reason == "The campaign was paused."
    assert shop.market.live(ITEM) == []
    await shop.campaigns.activate(shop.principal, campaign.id)
    await shop.scheduler().tick()
    assert shop.market.price_now(ITEM) == Decimal("90.00")


async def test_a_draft_campaigns_discounts_wait_for_activation(shop: Shop) -> None:
    now = shop.clock.now()
    draft = await shop.campaigns.create(
        shop.principal,
        name="Draft",
        starts_at=now,
        ends_at=now + timedelta(days=3),
        budget=None,
    )
    discount = await shop.discount(campaign=draft.id)
    await shop.scheduler().tick()
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.PENDING
    assert shop.market.calls == []


async def test_an_unreachable_marketplace_fails_then_retries_after_the_backoff(shop: Shop) -> None:
    discount = await shop.discount()
    shop.market.unavailable = True
    await shop.scheduler().tick()
    failed = await shop.reload(discount)
    assert failed.marketplace_state is DiscountMarketplaceState.FAILED
    shop.market.unavailable = False
    await shop.scheduler().tick()
    assert shop.applies() == 0  # still backing off
    shop.clock.advance(POLICY.retry_after.total_seconds())
    await shop.scheduler().tick()
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.APPLIED
    assert [c.outcome for c in await shop.log()] == [
        PriceChangeOutcome.FAILED,
        PriceChangeOutcome.APPLIED,
    ]


async def test_the_price_log_is_append_only_and_per_account(shop: Shop) -> None:
    await shop.discount()
    await shop.scheduler().tick()
    [entry] = await shop.log()
    assert await shop.log(account_id=str(uuid.uuid4())) == []
    for statement in (
        "UPDATE price_changes SET new_price = 1 WHERE id = :id",
        "DELETE FROM price_changes WHERE id = :id",
    ):
        async with shop.uow() as uow:
            with pytest.raises(Exception, match="append-only"):
                await uow.session.execute(text(statement), {"id": entry.id})  # type: ignore[attr-defined]
    assert await shop.log() == [entry]


# -- invitations: join and leave ----------------------------------------------------------------

DEAL_ID = "P-MLB123"


def invite(shop: Shop, *, lightning: bool = False) -> None:
    shop.market.invites.append(
        PromotionInvitation(
            DEAL_ID,
            "LIGHTNING" if lightning else "DEAL",
            "started",
            "Ofertas do dia",
            None,
            None,
            None,
            None,
            None,
        )
    )
    shop.market.candidates_of[DEAL_ID] = [
        PromotionCandidate(
            DEAL_ID,
            ITEM,
            "candidate",
            Decimal("100"),
            Decimal("60"),
            Decimal("85"),
            Decimal("80"),
            5 if lightning else None,
            50 if lightning else None,
        )
    ]


def promotions(shop: Shop) -> PromotionService:
    return PromotionService(shop.uow, shop.clock, shop.shops)


async def test_joining_inside_the_bounds_applies_and_leaving_restores(shop: Shop) -> None:
    invite(shop)
    offers = await promotions(shop).offers(shop.principal, PageRequest.ranked(10, None))
    assert [(o.invitation.id, [c.item_id for c in o.candidates]) for o in offers.items] == [
        (DEAL_ID, [ITEM])
    ]
    joined = await promotions(shop).join(
        shop.principal, JoinRequest(DEAL_ID, ITEM.lower(), Decimal("80"))
    )
    assert (joined.reason, joined.outcome) == (
        PriceChangeReason.PROMOTION_JOINED,
        PriceChangeOutcome.APPLIED,
    )
    assert shop.market.price_now(ITEM) == Decimal("80")
    left = await promotions(shop).leave(shop.principal, DEAL_ID, ITEM)
    assert (left.reason, left.outcome) == (
        PriceChangeReason.PROMOTION_LEFT,
        PriceChangeOutcome.APPLIED,
    )
    assert shop.market.price_now(ITEM) == Decimal("100")
    assert len(await shop.log()) == 2


async def test_a_deal_price_outside_the_invitations_bounds_is_recorded_as_rejected(
    shop: Shop,
) -> None:
    invite(shop)
    refused = await promotions(shop).join(
        shop.principal, JoinRequest(DEAL_ID, ITEM, Decimal("59.99"))
    )
    assert refused.outcome is PriceChangeOutcome.REJECTED
    assert "promotion.price.out_of_range" in (refused.message or "")
    assert await shop.log() == [refused]
    assert shop.market.calls.count("join_promotion") == 0


async def test_a_lightning_stock_outside_its_bounds_and_a_campaigns_rules_refuse_a_join(
    shop: Shop,
) -> None:
    invite(shop, lightning=True)
    stock = await promotions(shop).join(
        shop.principal, JoinRequest(DEAL_ID, ITEM, Decimal("80"), stock=51)
    )
    assert "promotion.stock.out_of_range" in (stock.message or "")
    campaign = await shop.campaign(CampaignRules(max_discount_percent=15))
    too_deep = await promotions(shop).join(
        shop.principal, JoinRequest(DEAL_ID, ITEM, Decimal("80"), stock=10, campaign_id=campaign.id)
    )
    assert too_deep.outcome is PriceChangeOutcome.REJECTED
    assert "campaign.max_discount" in (too_deep.message or "")
    assert shop.market.calls.count("join_promotion") == 0


async def test_joining_what_one_was_not_invited_to_is_an_error_and_records_nothing(
    shop: Shop,
) -> None:
    with pytest.raises(NotFound):
        await promotions(shop).join(shop.principal, JoinRequest("P-NONE", ITEM, Decimal("80")))
    invite(shop)
    shop.market.add(item("MLB2000000002"))
    with pytest.raises(InvalidInput):
        await promotions(shop).join(
            shop.principal, JoinRequest(DEAL_ID, "MLB2000000002", Decimal("80"))
        )
    assert await shop.log() == []


async def test_a_discount_on_a_listing_no_shop_sells_waits_without_logging(shop: Shop) -> None:
    shop.shops.account_id = "another account"  # this account has no connected shop
    discount = await shop.discount()
    await shop.scheduler().tick()
    waiting = await shop.reload(discount)
    assert waiting.marketplace_state is DiscountMarketplaceState.PENDING
    assert "No connected marketplace" in (waiting.state_reason or "")
    assert await shop.log() == []
    shop.shops.account_id = shop.principal.account_id  # connected now
    shop.clock.advance(POLICY.retry_after.total_seconds())
    await shop.scheduler().tick()
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.APPLIED


async def test_the_accounts_activity_feed_hears_applied_rejected_and_withdrawn(shop: Shop) -> None:
    feed = MemoryActivityFeed()
    heard = feed.follow(shop.principal.account_id)
    listening = asyncio.ensure_future(heard.__anext__())
    await asyncio.sleep(0)  # the follower is registered
    scheduler = DiscountScheduler(shop.uow, shop.clock, shop.shops, POLICY, activity=feed)
    await shop.discount(days=1)
    await scheduler.tick()
    shop.clock.advance(86400)
    await scheduler.tick()
    shop.market.automated.add(ITEM)
    await shop.discount(days=1)
    await scheduler.tick()
    kinds = [(await listening).kind]
    kinds += [(await heard.__anext__()).kind for _ in range(2)]
    assert kinds == [
        ActivityKind.DISCOUNT_APPLIED,
        ActivityKind.DISCOUNT_WITHDRAWN,
        ActivityKind.DISCOUNT_REJECTED,
    ]


async def test_a_campaigns_budget_stops_discounts_once_spent(shop: Shop) -> None:
    # Each discount may cost 10.00 off on 50 units in stock: 500.00; the budget holds two.
    listings = ["MLB3000000001", "MLB3000000002", "MLB3000000003"]
    shop.market.add(*(item(i, "100.00") for i in listings))
    campaign = await shop.campaign(CampaignRules(), budget="1000")
    discounts = [await shop.discount(listing=i, campaign=campaign.id) for i in listings]
    await shop.scheduler().tick()
    states = [(await shop.reload(d)).marketplace_state for d in discounts]
    assert sorted(s.value for s in states) == ["APPLIED", "APPLIED", "REJECTED"]
    [rejected] = [c for c in await shop.log() if c.outcome is PriceChangeOutcome.REJECTED]
    assert "campaign.budget" in (rejected.message or "")


async def test_canceling_an_applied_discount_withdraws_it_at_the_next_tick(shop: Shop) -> None:
    discount = await shop.discount(days=3)
    await shop.scheduler().tick()
    assert shop.market.price_now(ITEM) == Decimal("90.00")
    await shop.campaigns.cancel_discount(shop.principal, discount.id)
    await shop.scheduler().tick()
    canceled = await shop.reload(discount)
    assert canceled.marketplace_state is DiscountMarketplaceState.WITHDRAWN
    assert canceled.state_reason == "The discount was canceled."
    assert shop.market.price_now(ITEM) == Decimal("100.00")
    assert shop.market.calls.count("remove_price_discount") == 1


async def test_our_promotion_found_in_the_way_is_adopted_not_rejected(shop: Shop) -> None:
    # An attempt whose claim ran out got the discount there first; this one meets 409.
    discount = await shop.discount(days=1)
    await shop.market.client().apply_price_discount(
        ITEM, deal_price=Decimal("90.00"), starts_at=shop.clock.now(), ends_at=discount.ends_at
    )
    await shop.scheduler().tick()
    adopted = await shop.reload(discount)
    assert adopted.marketplace_state is DiscountMarketplaceState.APPLIED
    assert adopted.deal_price == Decimal("90.00")
    assert [c.outcome for c in await shop.log()] == [PriceChangeOutcome.APPLIED]


async def test_the_price_log_filters_by_listing_reason_and_period(shop: Shop) -> None:
    await shop.discount(days=1)
    await shop.scheduler().tick()
    applied_at = shop.clock.now()
    shop.clock.advance(86400)
    await shop.scheduler().tick()

    async def reasons(where: PriceChangeFilter) -> list[PriceChangeReason]:
        async with shop.uow() as uow:
            page = await uow.price_changes.page(
                shop.principal.account_id, PageRequest.of(10, None), where
            )
        return [c.reason for c in page.items]

    applied, withdrawn = PriceChangeReason.DISCOUNT_APPLIED, PriceChangeReason.DISCOUNT_WITHDRAWN
    assert await reasons(PriceChangeFilter()) == [withdrawn, applied]  # newest first
    assert await reasons(PriceChangeFilter(reason=applied)) == [applied]
    assert await reasons(PriceChangeFilter(listing_id=ITEM.lower())) == [withdrawn, applied]
    assert await reasons(PriceChangeFilter(listing_id="MLB999")) == []
    assert await reasons(PriceChangeFilter(since=applied_at + timedelta(seconds=1))) == [withdrawn]
    assert await reasons(PriceChangeFilter(until=applied_at + timedelta(seconds=1))) == [applied]


async def test_a_discount_taken_ahead_of_its_start_and_canceled_meanwhile_is_not_sent(
    shop: Shop,
) -> None:
    now = shop.clock.now()
    discount = await shop.campaigns.schedule_discount(
        shop.principal,
        listing_id=ITEM,
        percent=10,
        starts_at=now + timedelta(seconds=0.5),
        ends_at=now + timedelta(hours=1),
        campaign_id=None,
    )
    ahead = replace(POLICY, lookahead=timedelta(seconds=5))
    ticking = asyncio.create_task(DiscountScheduler(shop.uow, shop.clock, shop.shops, ahead).tick())
    await asyncio.sleep(0.1)  # claimed, waiting for its start
    await shop.campaigns.cancel_discount(shop.principal, discount.id)
    shop.clock.advance(1)
    await ticking
    assert shop.applies() == 0
    assert (await shop.reload(discount)).marketplace_state is DiscountMarketplaceState.PENDING
