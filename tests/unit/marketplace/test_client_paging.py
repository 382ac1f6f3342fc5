"""Paging: item ids by offset then scan, items in batches of 20, orders by moving date window,
promotion candidates; and the JSON -> values conversion on the way."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from server.adapters.marketplace import paging
from tests.unit.marketplace.fake_ml import USER_ID, Rig, answer, refused

SEARCH = f"/users/{USER_ID}/items/search"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def item_json(item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "seller_id": USER_ID,
        "title": "Fone de ouvido",
        "category_id": "MLB1055",
        "price": 129.9,
        "base_price": 129.9,
        "original_price": None,
        "currency_id": "BRL",
        "available_quantity": 12,
        "sold_quantity": 340,
        "status": "active",
        "condition": "new",
        "listing_type_id": "gold_special",
        "date_created": "2025-01-01T10:00:00.000-03:00",
        "last_updated": "2026-11-25T10:00:00.000-03:00",
    }


class ItemSearch:
    """Items search as the wire describes it: offset pages within 1,000, then scan."""

    def __init__(self, count: int, expire_scroll_once: bool = False) -> None:
        self.ids = [f"MLB{4000000000 + i}" for i in range(count)]
        self.offsets: list[tuple[int, int]] = []
        self.scans = 0
        self.expire_scroll_once = expire_scroll_once

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        limit = int(params.get("limit", 50))
        if limit > 100:
            return refused(400, "bad_request", "limit must be at most 100")
        if params.get("search_type") == "scan":
            self.scans += 1
            scroll = params.get("scroll_id")
            if scroll and self.expire_scroll_once:
                self.expire_scroll_once = False
                return refused(400, "bad_request", "scroll_id expired")
            start = int(scroll) if scroll else 0
            page = self.ids[start : start + limit]
            return answer(
                200,
                {
                    "results": page,
                    "scroll_id": str(start + limit),
                    "paging": {"total": len(self.ids)},
                },
            )
        offset = int(params.get("offset", 0))
        self.offsets.append((offset, limit))
        if offset + limit > 1000:
            return refused(400, "bad_request", "use search_type=scan")
        page = self.ids[offset : offset + limit]
        return answer(
            200,
            {"results": page, "paging": {"total": len(self.ids), "offset": offset, "limit": limit}},
        )


async def collect_ids(rig: Rig) -> list[str]:
    client = await rig.connect()
    return [item_id async for item_id in client.item_ids()]


async def test_a_small_shop_is_read_by_offset_pages_only() -> None:
    rig = Rig()
    search = rig.fake.routes[("GET", SEARCH)] = ItemSearch(250)
    assert await collect_ids(rig) == search.ids
    assert search.offsets == [(0, 100), (100, 100), (200, 100)]
    assert search.scans == 0


async def test_past_1000_items_the_ids_come_from_a_scan_each_once() -> None:
    rig = Rig()
    search = rig.fake.routes[("GET", SEARCH)] = ItemSearch(1234)
    ids = await collect_ids(rig)
    assert sorted(ids) == sorted(search.ids) and len(ids) == len(set(ids)) == 1234
    assert max(offset + limit for offset, limit in search.offsets) == 1000
    assert search.scans > 0


async def test_an_expired_scroll_starts_the_scan_again_without_duplicates() -> None:
    rig = Rig()
    search = rig.fake.routes[("GET", SEARCH)] = ItemSearch(1500, expire_scroll_once=True)
    ids = await collect_ids(rig)
    assert not search.expire_scroll_once  # the scroll did expire
    assert len(ids) == len(set(ids)) == 1500


async def test_items_are_fetched_in_bounded_batches_of_20_and_missing_ones_left_out() -> None:
    rig = Rig(batch_concurrency=2)
    in_flight, most = 0, 0

    async def batch(request: httpx.Request) -> None:
        nonlocal in_flight, most
        if request.url.path == "/items":
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.005)
            in_flight -= 1

    rig.fake.before = batch
    rig.fake.routes[("GET", "/items")] = lambda request: answer(
        200,
        [
            {"code": 200, "body": item_json(i)}
            if not i.endswith("7")
            else {"code": 404, "body": {"message": "item not found", "error": "not_found"}}
            for i in request.url.params["ids"].split(",")
        ],
    )
    wanted = [f"MLB{i}" for i in range(45)]
    items = await (await rig.connect()).items(wanted + wanted[:3])
    batches = [r.url.params["ids"].split(",") for r in rig.fake.calls("GET", "/items")]
    assert [len(b) for b in batches] == [20, 20, 5]
    assert most == 2
    assert [i.id for i in items] == [i for i in wanted if not i.endswith("7")]
    first = items[0]
    assert (first.price, first.original_price, first.currency) == (Decimal("129.90"), None, "BRL")
    assert first.last_updated == datetime(2026, 11, 25, 13, tzinfo=UTC)


class OrderSearch:
    """Orders search, oldest first, refusing offsets past a limit like the real one."""

    def __init__(self, times: list[datetime], offset_limit: int) -> None:
        self.orders = [self.order(i, t) for i, t in enumerate(times)]
        self.offset_limit = offset_limit
        self.windows: list[str | None] = []

    @staticmethod
    def order(i: int, created: datetime) -> dict[str, Any]:
        return {
            "id": 2000000000 + i,
            "status": "paid",
            "date_created": created.isoformat(),
            "date_closed": created.isoformat(),
            "last_updated": created.isoformat(),
            "total_amount": 259.8,
            "currency_id": "BRL",
            "buyer": {"id": 987654321, "nickname": "COMPRADOR"},
            "order_items": [
                {
                    "item": {"id": "MLB1", "title": "x", "category_id": "MLB1055"},
                    "quantity": 2,
                    "unit_price": 129.9,
                    "full_unit_price": 149.9,
                }
            ],
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        offset, limit = int(params["offset"]), int(params["limit"])
        assert params["sort"] == "date_asc" and limit <= 51
        if offset > self.offset_limit:
            return refused(400, "bad_request", "offset too large")
        since = params.get("order.date_created.from")
        if offset == 0:
            self.windows.append(since)
        chosen = [
            o
            for o in self.orders
            if since is None
            or datetime.fromisoformat(o["date_created"]) >= datetime.fromisoformat(since)
        ]
        return answer(
            200,
            {
                "results": chosen[offset : offset + limit],
                "paging": {"total": len(chosen), "offset": offset, "limit": limit},
            },
        )


async def test_orders_past_the_offset_limit_move_the_window_and_come_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paging, "ORDERS_OFFSET_LIMIT", 200)
    # Several orders share instants, some right where a window ends.
    times = [T0 + timedelta(minutes=i // 3) for i in range(700)]
    rig = Rig()
    search = rig.fake.routes[("GET", "/orders/search")] = OrderSearch(times, offset_limit=200)
    client = await rig.connect()
    orders = [o async for o in client.orders()]
    assert [o.id for o in orders] == [str(o["id"]) for o in search.orders]
    assert len(search.windows) > 3  # the window moved
    first = orders[0]
    assert first.total_amount == Decimal("259.80") and first.buyer_id == "987654321"
    assert first.lines[0].full_unit_price == Decimal("149.90") and first.lines[0].quantity == 2


async def test_orders_are_limited_to_since_until() -> None:
    times = [T0 + timedelta(hours=i) for i in range(10)]
    rig = Rig()
    rig.fake.routes[("GET", "/orders/search")] = OrderSearch(times, offset_limit=10_000)
    client = await rig.connect()
    found = [o.created_at async for o in client.orders(since=times[2], until=times[5])]
    assert found == times[2:5]
    (request,) = rig.fake.calls("GET", "/orders/search")
    assert request.url.params["order.date_created.from"] == "2025-12-31T23:00:00.000-03:00"
    assert request.url.params["seller"] == str(USER_ID)


async def test_candidates_are_read_page_by_page() -> None:
    rig = Rig()
    rows = [
        {
            "id": f"MLB{i}",
            "status": "candidate",
            "price": 100,
            "original_price": 0,
            "min_discounted_price": 60,
            "max_discounted_price": 85,
            "suggested_discounted_price": 80,
            "stock": {"min": 5, "max": 50},
        }
        for i in range(120)
    ]

    def page(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        return answer(
            200,
            {
                "results": rows[offset : offset + limit],
                "paging": {"offset": offset, "limit": limit, "total": len(rows)},
            },
        )

    rig.fake.routes[("GET", "/seller-promotions/promotions/P-1/items")] = page
    found = await (await rig.connect()).candidates("P-1", "LIGHTNING")
    assert [c.item_id for c in found] == [r["id"] for r in rows]
    assert (found[0].min_deal_price, found[0].max_deal_price) == (
        Decimal("60.00"),
        Decimal("85.00"),
    )
    assert (found[0].min_stock, found[0].max_stock, found[0].promotion_id) == (5, 50, "P-1")
    assert len(rig.fake.calls("GET", "/seller-promotions/promotions/P-1/items")) == 3


async def test_invitations_and_item_promotions_are_read() -> None:
    rig = Rig()
    rig.fake.script(
        "GET",
        f"/seller-promotions/users/{USER_ID}",
        answer(
            200,
            {
                "results": [
                    {
                        "id": "P-MLB1",
                        "type": "DEAL",
                        "status": "pending",
                        "name": "Black Friday",
                        "start_date": "2026-11-27T00:00:00.000-03:00",
                        "finish_date": "2026-11-30T00:00:00.000-03:00",
                        "deadline_date": "2026-11-26T00:00:00.000-03:00",
                        "benefits": {"type": "REBATE", "meli_percent": 5, "seller_percent": 10},
                    }
                ],
                "paging": {"total": 1},
            },
        ),
    )
    rig.fake.script(
        "GET",
        "/seller-promotions/items/MLB1",
        answer(
            200,
            [
                {
                    "id": "PRICE_DISCOUNT-MLB1",
                    "type": "PRICE_DISCOUNT",
                    "status": "started",
                    "price": 89.9,
                    "original_price": 129.9,
                    "start_date": "2026-11-25T10:00:00.000-03:00",
                    "finish_date": "2026-12-01T10:00:00.000-03:00",
                }
            ],
        ),
    )
    client = await rig.connect()
    (invitation,) = await client.invitations()
    assert (invitation.type, invitation.meli_percent, invitation.seller_percent) == ("DEAL", 5, 10)
    assert invitation.deadline == datetime(2026, 11, 26, 3, tzinfo=UTC)
    (promotion,) = await client.item_promotions("MLB1")
    assert (promotion.type, promotion.price) == ("PRICE_DISCOUNT", Decimal("89.90"))
    assert promotion.ends_at == datetime(2026, 12, 1, 13, tzinfo=UTC)


async def test_an_unreadable_listing_is_skipped_not_fatal() -> None:
    rig = Rig()
    broken = {**item_json("MLB2"), "price": None}
    rig.fake.script(
        "GET",
        "/items",
        answer(200, [{"code": 200, "body": item_json("MLB1")}, {"code": 200, "body": broken}]),
    )
    items = await (await rig.connect()).items(["MLB1", "MLB2"])
    assert [i.id for i in items] == ["MLB1"]
