"""Promotion, campaign and scheduler rules, without I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import Conflict, InvalidInput
from domain.model.campaigns import (
    Campaign,
    CampaignRules,
    CampaignStatus,
    Discount,
    DiscountAction,
    DiscountMarketplaceState,
    due_action,
)
from domain.model.promotions import (
    ItemFacts,
    campaign_refusal,
    deal_price,
    invitation_refusal,
    next_segment,
    price_discount_refusal,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
FACTS = ItemFacts(
    item_id="MLB1",
    price=Decimal("129.90"),
    status="active",
    condition="new",
    listing_type="gold_special",
    available_quantity=10,
    price_automated=False,
    seller_green=True,
    unit_cost=Decimal("60.00"),
)


@pytest.mark.parametrize(
    ("price", "percent", "deal"),
    [("129.90", 10, "116.91"), ("129.90", 5, "123.40"), ("0.05", 5, "0.04"), ("10", 33.33, "6.66")],
)
def test_a_percent_becomes_a_deal_price_in_cents_never_less_off_than_asked(
    price: str, percent: float, deal: str
) -> None:
    assert deal_price(Decimal(price), percent) == Decimal(deal)
    assert (
        price_discount_refusal(replace(FACTS, price=Decimal(price)), Decimal(deal), NOW, NOW + DAY)
        is None
        or Decimal(price) < 1
    )


def test_an_individual_discount_over_14_days_is_refused() -> None:
    refusal = price_discount_refusal(
        FACTS, Decimal("100"), NOW, NOW + timedelta(days=14, seconds=1)
    )
    assert refusal is not None and refusal.code == "promotion.duration_exceeded"
    assert price_discount_refusal(FACTS, Decimal("100"), NOW, NOW + timedelta(days=14)) is None


def test_a_longer_discount_is_cut_into_14_day_segments() -> None:
    ends = NOW + timedelta(days=30)
    first = next_segment(NOW, ends, NOW)
    second = next_segment(NOW, ends, first[1], after=first[1])
    third = next_segment(NOW, ends, second[1], after=second[1])
    assert [s[1] - s[0] for s in (first, second, third)] == [
        timedelta(days=14),
        timedelta(days=14),
        timedelta(days=2),
    ]
    assert third[1] == ends


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"price_automated": True}, "item.price.automated"),
        ({"condition": "used"}, "item.condition.invalid"),
        ({"listing_type": "free"}, "item.listing_type.invalid"),
        ({"status": "paused"}, "item.status.invalid"),
        ({"seller_green": False}, "seller.reputation.invalid"),
    ],
)
def test_ineligible_items_are_refused_with_the_marketplaces_code(
    change: dict[str, object], code: str
) -> None:
    refusal = price_discount_refusal(replace(FACTS, **change), Decimal("100"), NOW, NOW + DAY)  # type: ignore[arg-type]
    assert refusal is not None and refusal.code == code


@pytest.mark.parametrize("deal", ["129.90", "130", "124.00", "0"])
def test_a_deal_price_not_5_percent_below_is_refused(deal: str) -> None:
    refusal = price_discount_refusal(FACTS, Decimal(deal), NOW, NOW + DAY)
    assert refusal is not None and refusal.code == "promotion.price.invalid"


def test_campaign_rules_bound_discount_margin_stock_and_budget() -> None:
    deal = Decimal("90.00")
    assert campaign_refusal(CampaignRules(max_discount_percent=20), FACTS, deal, percent=30.7)
    assert campaign_refusal(CampaignRules(max_discount_percent=40), FACTS, deal) is None
    margin = campaign_refusal(CampaignRules(min_margin_percent=60), FACTS, deal)  # floor 96
    assert (
        margin is not None and margin.code == "campaign.margin_floor" and "96.00" in margin.message
    )
    assert campaign_refusal(CampaignRules(min_margin_percent=50), FACTS, deal) is None  # floor 90
    no_cost = campaign_refusal(
        CampaignRules(min_margin_percent=10), replace(FACTS, unit_cost=None), deal
    )
    assert no_cost is not None and no_cost.code == "campaign.unit_cost_unknown"
    stock = campaign_refusal(CampaignRules(stock_floor=11), FACTS, deal)
    assert stock is not None and stock.code == "campaign.stock_floor"
    # the most the discount can cost: 39.90 off on 10 units
    budget = campaign_refusal(
        CampaignRules(), FACTS, deal, budget=Decimal("500"), committed=Decimal("102")
    )
    assert budget is not None and budget.code == "campaign.budget"
    assert campaign_refusal(CampaignRules(), FACTS, deal, budget=Decimal("500")) is None


def test_invitation_bounds_on_price_and_lightning_stock() -> None:
    def check(deal: str, stock: int | None = None, bounded: bool = False) -> str | None:
        refusal = invitation_refusal(
            deal=Decimal(deal),
            min_price=Decimal("60"),
            max_price=Decimal("85"),
            stock=stock,
            min_stock=5 if bounded else None,
            max_stock=50 if bounded else None,
        )
        return refusal.code if refusal else None

    assert check("80") is None and check("85") is None
    assert check("59.99") == check("85.01") == "promotion.price.out_of_range"
    assert check("80", 50, bounded=True) is None
    assert check("80", 51, bounded=True) == "promotion.stock.out_of_range"
    assert check("80", None, bounded=True) == "promotion.stock.out_of_range"


@pytest.mark.parametrize(
    "rules",
    [
        {"max_discount_percent": 90},
        {"max_discount_percent": 1},
        {"min_margin_percent": -1},
        {"stock_floor": -1},
    ],
)
def test_campaign_rules_out_of_range_are_bad_input(rules: dict[str, float]) -> None:
    with pytest.raises(InvalidInput) as raised:
        CampaignRules.of(**rules)  # type: ignore[arg-type]
    assert (raised.value.field or "").startswith("rules.")


def campaign() -> Campaign:
    return Campaign.plan(
        account_id="a", name="c", starts_at=NOW, ends_at=NOW + 10 * DAY, budget=None, now=NOW
    )


def test_campaign_moves_draft_active_paused_ended_and_refuses_the_rest() -> None:
    c = campaign()
    with pytest.raises(Conflict):
        c.pause()
    c.activate(NOW)
    with pytest.raises(Conflict):
        c.activate(NOW)
    c.pause()
    c.activate(NOW)
    c.end()
    assert c.status is CampaignStatus.ENDED
    for move in (lambda: c.activate(NOW), c.pause, c.end):
        with pytest.raises(Conflict):
            move()


def test_a_campaign_past_its_end_cannot_be_activated() -> None:
    with pytest.raises(Conflict, match="over"):
        campaign().activate(NOW + 11 * DAY)


def discount(**changes: object) -> Discount:
    d = Discount.schedule(
        account_id="a",
        listing_id="MLB123456",
        percent=10,
        starts_at=NOW,
        ends_at=NOW + DAY,
        campaign=None,
        now=NOW,
    )
    return replace(d, **changes)  # type: ignore[arg-type]


def test_the_scheduler_applies_in_the_period_and_withdraws_after() -> None:
    applied = {"marketplace_state": DiscountMarketplaceState.APPLIED, "segment_ends_at": NOW + DAY}
    assert due_action(discount(), None, NOW - timedelta(seconds=1)) is None
    assert due_action(discount(), None, NOW) is DiscountAction.APPLY
    assert due_action(discount(**applied), None, NOW) is None
    assert due_action(discount(**applied), None, NOW + DAY) is DiscountAction.WITHDRAW
    assert due_action(discount(), None, NOW + DAY) is None  # never applied: nothing to undo
    assert due_action(discount(), CampaignStatus.DRAFT, NOW) is None
    assert due_action(discount(**applied), CampaignStatus.PAUSED, NOW) is DiscountAction.WITHDRAW
    rejected = discount(marketplace_state=DiscountMarketplaceState.REJECTED)
    assert due_action(rejected, None, NOW) is None
    backing_off = discount(
        marketplace_state=DiscountMarketplaceState.FAILED, retry_at=NOW + timedelta(seconds=5)
    )
    assert due_action(backing_off, None, NOW) is None


def test_an_interrupted_attempt_is_withdrawn_even_if_never_recorded_as_applied() -> None:
    canceled = discount()
    canceled.cancel(NOW)
    assert due_action(canceled, None, NOW) is None
    assert due_action(canceled, None, NOW, interrupted=True) is DiscountAction.WITHDRAW


def test_a_segment_that_ended_before_the_discount_is_renewed() -> None:
    renewing = discount(
        marketplace_state=DiscountMarketplaceState.APPLIED,
        segment_ends_at=NOW + timedelta(hours=1),
    )
    assert due_action(renewing, None, NOW + timedelta(hours=1)) is DiscountAction.APPLY


def test_a_discount_starting_within_the_lookahead_is_due_early() -> None:
    early = NOW - timedelta(seconds=3)
    assert due_action(discount(), None, early) is None
    assert due_action(discount(), None, early, lookahead=timedelta(seconds=5)) is (
        DiscountAction.APPLY
    )
