"""Promotions, the clock, webhooks and faults of the simulator, over real HTTP."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from server.simulator import SimulatorConfig
from server.simulator.timefmt import to_iso
from tests.support.simulator import START, Seller, advance, new_seller, running_simulator, sim_now

CONFIG = SimulatorConfig(
    seed=42, items=200, start=START, speed=0.0, tick_seconds=0.1, webhook_retry_seconds=0.05
)
DAY = 86_400
MANUAL = {"price_automated": False}
seeds = itertools.count(1000)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_simulator(CONFIG) as url:
        yield url


@pytest.fixture
def seller(base_url: str) -> Iterator[Seller]:
    made = new_seller(base_url, next(seeds))
    yield made
    made.client.close()


def discount(seller: Seller, item: dict[str, Any], **overrides: Any) -> httpx.Response:
    now = sim_now(str(seller.client.base_url))
    body = {
        "promotion_type": "PRICE_DISCOUNT",
        "deal_price": round(float(item["list_price"]) * 0.8, 2),
        "start_date": to_iso(now),
        "finish_date": to_iso(now + 3 * DAY),
        **overrides,
    }
    return seller.client.post(f"/seller-promotions/items/{item['id']}?app_version=v2", json=body)


def refusal(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]


@pytest.mark.parametrize(
    ("wanted", "error"),
    [
        ({"price_automated": True}, "item.price.automated"),
        ({"condition": "used", "status": "active", **MANUAL}, "item.condition.invalid"),
        (
            {"listing_type_id": "free", "status": "active", "condition": "new", **MANUAL},
            "item.listing_type.invalid",
        ),
        ({"status": "paused", **MANUAL}, "item.status.invalid"),
    ],
)
def test_a_discount_on_an_ineligible_item_is_refused(
    seller: Seller, wanted: dict[str, Any], error: str
) -> None:
    item = seller.first(**wanted)
    assert refusal(discount(seller, item)) == (400, error)
    state = seller.client.get(f"/_sim/state/items/{item['id']}").json()
    assert state["promotions"] == [] and state["price"] == item["price"]


def eligible(seller: Seller) -> dict[str, Any]:
    return seller.first(
        status="active", condition="new", listing_type_id="gold_special", price_automated=False
    )


def test_a_discount_longer_than_14_days_is_refused(seller: Seller) -> None:
    item = eligible(seller)
    now = sim_now(str(seller.client.base_url))
    answer = discount(seller, item, finish_date=to_iso(now + 14 * DAY + 60))
    assert refusal(answer) == (400, "promotion.duration_exceeded")


@pytest.mark.parametrize("factor", [1.0, 0.97, 1.2])
def test_a_deal_price_not_5_percent_below_is_refused(seller: Seller, factor: float) -> None:
    item = eligible(seller)
    deal = round(float(item["list_price"]) * factor, 2)
    assert refusal(discount(seller, item, deal_price=deal)) == (400, "promotion.price.invalid")


def test_a_seller_without_green_reputation_is_refused(base_url: str) -> None:
    yellow = new_seller(base_url, next(seeds), items=60, reputation="3_yellow")
    assert refusal(discount(yellow, eligible(yellow))) == (400, "seller.reputation.invalid")


def test_a_second_discount_conflicts_and_removal_is_idempotent(seller: Seller) -> None:
    item = eligible(seller)
    assert discount(seller, item).status_code == 201
    assert refusal(discount(seller, item)) == (409, "promotion.already_exists")
    path = f"/seller-promotions/items/{item['id']}?promotion_type=PRICE_DISCOUNT&app_version=v2"
    assert seller.client.delete(path).status_code == 200
    assert seller.client.get(f"/items/{item['id']}").json()["price"] == item["list_price"]
    assert seller.client.delete(path).status_code == 404


def test_a_discount_goes_live_and_finishes_with_the_clock(base_url: str, seller: Seller) -> None:
    item = eligible(seller)
    now = sim_now(base_url)
    deal = round(float(item["list_price"]) * 0.85, 2)
    answer = discount(
        seller, item, deal_price=deal, start_date=to_iso(now + 60), finish_date=to_iso(now + 3600)
    )
    assert answer.status_code == 201
    assert answer.json() == {"price": deal, "original_price": item["list_price"]}
    path = f"/items/{item['id']}"
    assert seller.client.get(path).json()["original_price"] is None
    [pending] = seller.client.get(f"/seller-promotions/items/{item['id']}").json()[:1]
    assert pending["status"] == "pending"

    advance(base_url, 120)
    live = seller.client.get(path).json()
    assert (live["price"], live["original_price"]) == (deal, item["list_price"])
    promotions = seller.client.get(f"/seller-promotions/items/{item['id']}").json()
    assert [(p["type"], p["status"]) for p in promotions if p["type"] == "PRICE_DISCOUNT"] == [
        ("PRICE_DISCOUNT", "started")
    ]

    advance(base_url, 3600)
    after = seller.client.get(path).json()
    assert (after["price"], after["original_price"]) == (item["list_price"], None)
    state = seller.client.get(f"/_sim/state/items/{item['id']}").json()
    assert state["promotions"] == []


def test_price_changes_are_refused_under_automation(seller: Seller) -> None:
    automated = seller.first(price_automated=True)
    path = f"/items/{automated['id']}"
    assert refusal(seller.client.put(path, json={"price": 10.0})) == (400, "item.price.automated")
    rule = seller.client.get(f"/marketplace/items/{automated['id']}/prices/automate")
    assert rule.json()["status"] == "ACTIVE"
    free = eligible(seller)
    assert seller.client.get(f"/marketplace/items/{free['id']}/prices/automate").status_code == 404
    changed = seller.client.put(f"/items/{free['id']}", json={"price": 99.9}).json()
    assert changed["price"] == 99.9


def test_invitations_enforce_price_and_stock_bounds(seller: Seller) -> None:
    invitations = seller.client.get(f"/seller-promotions/users/{seller.user_id}").json()
    types = {row["type"] for row in invitations["results"]}
    assert types == {"DEAL", "LIGHTNING", "DOD"}
    lightning = next(row for row in invitations["results"] if row["type"] == "LIGHTNING")
    items = seller.client.get(
        f"/seller-promotions/promotions/{lightning['id']}/items",
        params={"promotion_type": "LIGHTNING", "app_version": "v2"},
    ).json()
    candidate = items["results"][0]
    low, high = candidate["min_discounted_price"], candidate["max_discounted_price"]
    assert candidate["status"] == "candidate" and low < high < candidate["price"]
    path = f"/seller-promotions/items/{candidate['id']}?app_version=v2"
    join = {"promotion_id": lightning["id"], "promotion_type": "LIGHTNING"}
    stock = candidate["stock"]["min"]
    for price in (round(low - 0.01, 2), round(high + 0.01, 2)):
        answer = seller.client.post(path, json={**join, "deal_price": price, "stock": stock})
        assert refusal(answer) == (400, "promotion.price.out_of_range")
    too_much = candidate["stock"]["max"] + 1
    answer = seller.client.post(path, json={**join, "deal_price": high, "stock": too_much})
    assert refusal(answer) == (400, "promotion.stock.out_of_range")
    joined = seller.client.post(path, json={**join, "deal_price": high, "stock": stock})
    assert joined.status_code == 201
    assert joined.json() == {"price": high, "original_price": candidate["price"]}
    mine = seller.client.get(f"/seller-promotions/items/{candidate['id']}").json()
    assert {"id": lightning["id"], "status": "pending"}.items() <= mine[0].items()
    leave = f"{path}&promotion_type=LIGHTNING&promotion_id={lightning['id']}"
    assert seller.client.delete(leave).status_code == 200
    assert seller.client.delete(leave).status_code == 404


def test_another_sellers_item_is_forbidden(base_url: str, seller: Seller) -> None:
    other = new_seller(base_url, next(seeds), items=30)
    item = eligible(other)
    assert discount(seller, item).status_code == 403


class Receiver(BaseHTTPRequestHandler):
    """Records notification bodies; answers 500 to the first delivery of each id."""

    bodies: list[dict[str, Any]] = []
    seen: set[str] = set()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.bodies.append(body)
        first = body["_id"] not in self.seen
        self.seen.add(body["_id"])
        self.send_response(500 if first else 200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(base_url: str) -> Iterator[type[Receiver]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.bodies, Receiver.seen = [], set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/notifications"
    httpx.post(f"{base_url}/_sim/webhooks", json={"url": url})
    try:
        yield Receiver
    finally:
        httpx.post(f"{base_url}/_sim/webhooks", json={"url": None})
        server.shutdown()


def wait_for(check: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_webhooks_are_delivered_and_retried(
    base_url: str, seller: Seller, receiver: type[Receiver]
) -> None:
    item = eligible(seller)
    assert discount(seller, item).status_code == 201
    advance(base_url, 6 * 3600)  # some hours of orders in every shop

    def delivered(topic: str) -> list[dict[str, Any]]:
        return [b for b in receiver.bodies if b["topic"] == topic and b["attempts"] == 2]

    wait_for(lambda: delivered("promotions") and delivered("orders_v2") and delivered("items"))
    [promotion] = [b for b in delivered("promotions") if b["user_id"] == seller.user_id]
    assert promotion["resource"] == f"/seller-promotions/items/{item['id']}"
    order = delivered("orders_v2")[0]
    assert order["resource"].startswith("/orders/")
    first_try = [b for b in receiver.bodies if b["_id"] == promotion["_id"]]
    assert [b["attempts"] for b in first_try] == [1, 2]


def test_a_replayed_notification_keeps_its_id(
    base_url: str, seller: Seller, receiver: type[Receiver]
) -> None:
    item = eligible(seller)
    assert discount(seller, item).status_code == 201
    wait_for(lambda: any(b["attempts"] == 2 for b in receiver.bodies))
    last = httpx.post(f"{base_url}/_sim/webhooks/replay", json={"last": 1}).json()
    assert last == {"replayed": 1}
    wait_for(
        lambda: (
            len({b["_id"] for b in receiver.bodies if b["attempts"] == 1})
            < len([b for b in receiver.bodies if b["attempts"] == 1])
        )
    )


def test_a_429_rate_of_one_answers_429_with_retry_after(base_url: str, seller: Seller) -> None:
    httpx.post(f"{base_url}/_sim/faults", json={"rate_429": 1.0, "retry_after_seconds": 3})
    try:
        answers = [seller.client.get("/users/me") for _ in range(3)]
    finally:
        httpx.post(f"{base_url}/_sim/faults", json={"rate_429": 0.0, "retry_after_seconds": 1})
    assert {answer.status_code for answer in answers} == {429}
    assert answers[0].headers["Retry-After"] == "3"  # the configured wait, not a constant
    assert seller.client.get("/users/me").status_code == 200


def test_a_5xx_rate_of_one_answers_503(base_url: str, seller: Seller) -> None:
    httpx.post(f"{base_url}/_sim/faults", json={"rate_5xx": 1.0})
    try:
        answer = seller.client.get("/users/me")
    finally:
        httpx.post(f"{base_url}/_sim/faults", json={"rate_5xx": 0.0})
    assert answer.status_code == 503


def test_forced_token_expiry_answers_401(base_url: str, seller: Seller) -> None:
    assert seller.client.get("/users/me").status_code == 200
    httpx.post(f"{base_url}/_sim/faults", json={"expire_tokens": True})
    answer = seller.client.get("/users/me")
    assert (answer.status_code, answer.json()["message"]) == (401, "invalid access token")
