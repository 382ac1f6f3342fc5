"""Mercado Livre's refusals become the port's errors, with a message the seller can act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.marketplace import MarketplaceNotFound, MarketplaceRefused, MarketplaceUnavailable
from tests.unit.marketplace.fake_ml import Rig, answer, body, refused

START = datetime(2026, 11, 25, 13, tzinfo=UTC)
PROMOTION = "/seller-promotions/items/MLB1"


async def apply(rig: Rig) -> None:
    client = await rig.connect()
    await client.apply_price_discount(
        "MLB1", deal_price=Decimal("89.9"), starts_at=START, ends_at=START + timedelta(days=20)
    )


async def test_a_too_long_discount_is_refused_in_the_sellers_words() -> None:
    rig = Rig()
    rig.fake.script("POST", PROMOTION, refused(400, "promotion.duration_exceeded", "too long"))
    with pytest.raises(MarketplaceRefused) as caught:
        await apply(rig)
    assert str(caught.value) == (
        "Mercado Livre refused the discount on listing MLB1: it may last at most 14 days "
        "(promotion.duration_exceeded)"
    )
    assert (caught.value.code, caught.value.status) == ("promotion.duration_exceeded", 400)


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (400, "item.price.automated", "price automation"),
        (400, "item.condition.invalid", "new items"),
        (400, "item.listing_type.invalid", "free listings"),
        (400, "item.status.invalid", "not active"),
        (400, "seller.reputation.invalid", "green seller reputation"),
        (400, "promotion.price.invalid", "at least 5% below"),
        (409, "promotion.already_exists", "already has an individual discount"),
    ],
)
async def test_each_discount_refusal_keeps_its_code_and_says_why(
    status: int, code: str, words: str
) -> None:
    rig = Rig()
    rig.fake.script("POST", PROMOTION, refused(status, code))
    with pytest.raises(MarketplaceRefused, match=words) as caught:
        await apply(rig)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert str(caught.value).endswith(f"({code})")


async def test_an_unknown_code_keeps_the_marketplaces_message() -> None:
    rig = Rig()
    rig.fake.script("POST", PROMOTION, refused(400, "item.weird", "The item is weird"))
    with pytest.raises(MarketplaceRefused, match=r"The item is weird \(item\.weird\)"):
        await apply(rig)


async def test_a_code_given_only_as_a_cause_is_used() -> None:
    rig = Rig()
    cause = {"code": "item.price.automated", "message": "automated"}
    rig.fake.script(
        "PUT",
        "/items/MLB1",
        answer(
            400, {"message": "validation", "error": "bad_request", "status": 400, "cause": [cause]}
        ),
    )
    client = await rig.connect()
    with pytest.raises(MarketplaceRefused, match="price automation") as caught:
        await client.set_price("MLB1", Decimal("119.9"))
    assert caught.value.code == "item.price.automated"


async def test_the_discount_is_sent_as_a_deal_price_with_brazilian_times() -> None:
    rig = Rig()
    rig.fake.script("POST", PROMOTION, answer(201, {"price": 89.9, "original_price": 129.9}))
    client = await rig.connect()
    applied = await client.apply_price_discount(
        "MLB1", deal_price=Decimal("89.9"), starts_at=START, ends_at=START + timedelta(days=7)
    )
    assert (applied.price, applied.original_price) == (Decimal("89.90"), Decimal("129.90"))
    (request,) = rig.fake.calls("POST", PROMOTION)
    assert request.url.params["app_version"] == "v2"
    assert body(request) == {
        "promotion_type": "PRICE_DISCOUNT",
        "deal_price": 89.9,
        "start_date": "2026-11-25T10:00:00.000-03:00",
        "finish_date": "2026-12-02T10:00:00.000-03:00",
    }


async def test_a_missing_order_is_not_found() -> None:
    rig = Rig()
    client = await rig.connect()
    with pytest.raises(MarketplaceNotFound):
        await client.order("2000")


async def test_removing_what_is_already_gone_is_fine() -> None:
    rig = Rig()
    client = await rig.connect()  # the fake answers 404 for both
    await client.remove_price_discount("MLB1")
    await client.leave_promotion("MLB1", promotion_id="P-1", promotion_type="DEAL")
    (leave,) = [r for r in rig.fake.calls("DELETE", PROMOTION) if "promotion_id" in r.url.params]
    assert dict(leave.url.params) == {
        "app_version": "v2",
        "promotion_type": "DEAL",
        "promotion_id": "P-1",
    }


async def test_price_automation_is_read_from_its_endpoint() -> None:
    rig = Rig()
    path = "/marketplace/items/MLB1/prices/automate"
    rig.fake.script("GET", path, answer(200, {"item_id": "MLB1", "status": "ACTIVE"}))
    client = await rig.connect()
    assert await client.price_automated("MLB1") is True
    assert await client.price_automated("MLB1") is False  # 404: not automated


async def test_joining_a_lightning_deal_sends_its_stock() -> None:
    rig = Rig()
    rig.fake.script("POST", PROMOTION, answer(201, {"price": 80, "original_price": 100}))
    client = await rig.connect()
    applied = await client.join_promotion(
        "MLB1", promotion_id="P-9", promotion_type="LIGHTNING", deal_price=Decimal("80"), stock=10
    )
    assert applied.price == Decimal("80.00")
    (request,) = rig.fake.calls("POST", PROMOTION)
    assert body(request) == {
        "promotion_id": "P-9",
        "promotion_type": "LIGHTNING",
        "deal_price": 80.0,
        "stock": 10,
    }


@pytest.mark.parametrize(
    ("method", "path", "bad"),
    [
        ("GET", "/users/me", ["not", "a", "profile"]),
        ("GET", "/orders/1", {"id": 1, "status": "paid", "date_created": "yesterday"}),
        (
            "GET",
            "/orders/1",
            {
                "id": 1,
                "status": "paid",
                "date_created": "2026-01-01T00:00:00Z",
                "total_amount": 1,
                "buyer": {"id": 2},
                "order_items": [{"x": 1}],
            },
        ),
        ("GET", "/seller-promotions/items/MLB1", {"results": []}),
    ],
)
async def test_a_malformed_answer_is_unavailable_never_a_crash(
    method: str, path: str, bad: object
) -> None:
    rig = Rig()
    rig.fake.script(method, path, answer(200, bad))
    client = await rig.connect()
    with pytest.raises(MarketplaceUnavailable, match="Mercado Livre"):
        if path == "/users/me":
            await client.me()
        elif path.startswith("/orders"):
            await client.order("1")
        else:
            await client.item_promotions("MLB1")
