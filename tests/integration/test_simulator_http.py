"""The marketplace simulator over real HTTP (uvicorn on a free port, httpx clients)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from server.simulator import SimulatorConfig
from server.simulator.demand import HOURLY
from server.simulator.timefmt import to_iso
from tests.support.simulator import (
    START,
    Tokens,
    advance,
    authorize,
    new_seller,
    pkce_pair,
    running_simulator,
    sim_now,
)

CONFIG = SimulatorConfig(seed=42, items=1200, start=START, speed=0.0, tick_seconds=0.2)
REDIRECT = "http://127.0.0.1:1/callback"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_simulator(CONFIG) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def tokens(client: httpx.Client) -> Tokens:
    return authorize(client, CONFIG, REDIRECT)


@pytest.fixture(scope="module")
def seller(client: httpx.Client, tokens: Tokens) -> httpx.Client:
    """A client that speaks for the default seller."""
    client.headers["Authorization"] = f"Bearer {tokens.access_token}"
    return client


def test_a_request_without_a_token_is_unauthorized(base_url: str) -> None:
    answer = httpx.get(f"{base_url}/users/me")
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"


def test_me_is_the_green_seller(seller: httpx.Client, tokens: Tokens) -> None:
    me = seller.get("/users/me").json()
    assert me["id"] == tokens.user_id
    assert me["seller_reputation"]["level_id"] == "5_green"


def test_code_is_single_use_and_bound_to_its_verifier(client: httpx.Client) -> None:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": CONFIG.client_id,
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    location = client.get("/authorization", params=params).headers["location"]
    code = httpx.URL(location).params["code"]
    form = {
        "grant_type": "authorization_code",
        "client_id": CONFIG.client_id,
        "client_secret": CONFIG.client_secret,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": "not-the-verifier-" + verifier,
    }
    wrong = client.post("/oauth/token", data=form)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    again = client.post("/oauth/token", data={**form, "code_verifier": verifier})
    assert again.json()["error"] == "invalid_grant"  # the code died with the first attempt


def test_a_wrong_client_secret_is_invalid_client(client: httpx.Client) -> None:
    answer = client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CONFIG.client_id,
            "client_secret": "wrong",
            "refresh_token": "TG-x",
        },
    )
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


async def test_two_concurrent_refreshes_exactly_one_wins(client: httpx.Client) -> None:
    pair = authorize(client, CONFIG, REDIRECT)
    form = {
        "grant_type": "refresh_token",
        "client_id": CONFIG.client_id,
        "client_secret": CONFIG.client_secret,
        "refresh_token": pair.refresh_token,
    }
    async with httpx.AsyncClient(base_url=str(client.base_url)) as http:
        answers = await asyncio.gather(*(http.post("/oauth/token", data=form) for _ in range(2)))
        assert sorted(answer.status_code for answer in answers) == [200, 400]
        loser = next(answer for answer in answers if answer.status_code == 400)
        assert loser.json()["error"] == "invalid_grant"
        winner = next(answer for answer in answers if answer.status_code == 200).json()
        assert winner["refresh_token"] != pair.refresh_token
        bearer = {"Authorization": f"Bearer {winner['access_token']}"}
        assert (await http.get("/users/me", headers=bearer)).status_code == 200


def test_offset_paging_stops_at_1000(seller: httpx.Client, tokens: Tokens) -> None:
    path = f"/users/{tokens.user_id}/items/search"
    page = seller.get(path, params={"offset": 950, "limit": 50}).json()
    assert len(page["results"]) == 50
    assert page["paging"]["total"] == 1200
    refused = seller.get(path, params={"offset": 960, "limit": 50})
    assert refused.status_code == 400
    assert "scan" in refused.json()["message"]
    assert seller.get(path, params={"limit": 101}).status_code == 400


def test_scan_walks_past_1000_items(seller: httpx.Client, tokens: Tokens) -> None:
    path = f"/users/{tokens.user_id}/items/search"
    seen: list[str] = []
    page = seller.get(path, params={"search_type": "scan", "limit": 100}).json()
    while page["results"]:
        seen += page["results"]
        params = {"search_type": "scan", "limit": 100, "scroll_id": page["scroll_id"]}
        page = seller.get(path, params=params).json()
    assert len(seen) == len(set(seen)) == 1200
    assert seen == sorted(seen)


def test_item_batches_keep_order_and_report_missing(seller: httpx.Client, tokens: Tokens) -> None:
    ids = seller.get(f"/users/{tokens.user_id}/items/search", params={"limit": 3}).json()
    wanted = [ids["results"][2], "MLB1", ids["results"][0]]
    rows = seller.get("/items", params={"ids": ",".join(wanted)}).json()
    assert [row["code"] for row in rows] == [200, 404, 200]
    assert rows[0]["body"]["id"] == wanted[0]
    assert rows[2]["body"]["seller_id"] == tokens.user_id
    too_many = seller.get("/items", params={"ids": ",".join(["MLB1"] * 21)})
    assert too_many.status_code == 400


def test_orders_search_filters_by_date_and_sorts(seller: httpx.Client, tokens: Tokens) -> None:
    window: dict[str, str | int] = {
        "seller": tokens.user_id,
        "order.date_created.from": "2026-06-01T00:00:00.000-03:00",
        "order.date_created.to": "2026-06-30T23:59:59.999-03:00",
    }
    ascending = seller.get("/orders/search", params={**window, "sort": "date_asc"}).json()
    descending = seller.get("/orders/search", params={**window, "sort": "date_desc"}).json()
    total = ascending["paging"]["total"]
    assert 500 < total < 6000
    assert descending["paging"]["total"] == total
    dates = [order["date_created"] for order in ascending["results"]]
    assert dates == sorted(dates) and dates[0] >= "2026-06-01"
    assert descending["results"][0]["date_created"].startswith("2026-06-3")
    one = ascending["results"][0]
    assert seller.get(f"/orders/{one['id']}").json() == one
    assert seller.get("/orders/search", params={**window, "limit": 52}).status_code == 400


def test_orders_follow_the_reported_truth(base_url: str) -> None:
    """Over 30 simulated days, one listing's units sold match the sum of its daily truth."""
    shop = new_seller(base_url, 4242, items=80)
    selling = [item for item in shop.items if item["status"] == "active"]

    def truth(item_id: str, when: str) -> float:
        params = {"item_id": item_id, "date": when}
        answer = shop.client.get("/_sim/truth/demand", params=params)
        return float(answer.json()["expected_units"])

    today = START[:10]
    item = max(selling, key=lambda row: truth(str(row["id"]), today))
    changed = shop.client.put(f"/items/{item['id']}", json={"available_quantity": 1_000_000})
    assert changed.status_code == 200
    begin = sim_now(base_url)
    advance(base_url, 30 * 86_400)
    window: dict[str, str | int] = {
        "seller": shop.user_id,
        "item": item["id"],
        "order.date_created.from": to_iso(begin),
        "limit": 50,
    }
    units, offset = 0, 0
    while True:
        page = shop.client.get("/orders/search", params={**window, "offset": offset}).json()
        units += sum(order["order_items"][0]["quantity"] for order in page["results"])
        offset += 50
        if offset >= page["paging"]["total"]:
            break
    days = [to_iso(begin + day * 86_400)[:10] for day in range(1, 30)]
    expected = sum(truth(str(item["id"]), day) for day in days)
    # the first day from 10:00 and the last one until 10:00, by the hourly profile
    expected += truth(str(item["id"]), today) * HOURLY[10:].sum()
    expected += truth(str(item["id"]), to_iso(begin + 30 * 86_400)[:10]) * HOURLY[:10].sum()
    assert expected > 30
    assert abs(units - expected) < 4 * (1.3 * expected) ** 0.5, (units, expected)
