"""The marketplace store through GraphQL, as a client uses it (the documented operations),
against the simulator over real HTTP, on SQLite and PostgreSQL: connect, sync, browse listings
and orders with filters and cursor pages, set costs (one by one and from a CSV), and the codes
of refused inputs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import pytest_asyncio

from server.app import create_app
from server.bootstrap import Container, build
from server.config import Settings
from server.simulator import SimulatorConfig
from tests.conftest import running_server
from tests.integration.test_sql_statements import counting_statements
from tests.support.api import Api, Seller, operation
from tests.support.simulator import START, running_simulator
from tests.support.ws import connect

SHOP_ITEMS = 60


@dataclasses.dataclass
class Shop:
    api: Api
    seller: Seller
    connection_id: str


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    with running_simulator(SimulatorConfig(seed=11, items=SHOP_ITEMS, start=START)) as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def shop_container(settings: Settings, simulator: str) -> AsyncIterator[Container]:
    container = build(
        dataclasses.replace(
            settings,
            simulator_url=simulator,
            # "Mercado Livre" is the simulator too, so its consent step can be followed here.
            ml_api_base=simulator,
            ml_auth_base=simulator,
            ml_client_id="111",
            ml_client_secret="simulator-secret",
        )
    )
    yield container
    await container.aclose()


@pytest_asyncio.fixture(scope="module")
async def shop_api(shop_container: Container) -> AsyncIterator[Api]:
    app = create_app(shop_container.settings, shop_container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client)


async def _synced(api: Api, seller: Seller, connection_id: str) -> dict[str, Any]:
    started = await api.op(
        "SyncMarketplace", {"input": {"connectionId": connection_id}}, seller.token
    )
    sync_id = started["syncMarketplace"]["sync"]["id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while True:
        sync = (await api.op("MarketplaceSync", {"id": sync_id}, seller.token))["marketplaceSync"]
        if sync["status"] in ("SUCCEEDED", "FAILED"):
            return sync
        assert loop.time() < deadline, sync
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(scope="module")
async def shop(shop_api: Api) -> Shop:
    seller = await shop_api.sign_up()
    connected = await shop_api.op(
        "ConnectMarketplace", {"input": {"provider": "SIMULATOR"}}, seller.token
    )
    connection = connected["connectMarketplace"]["connection"]
    assert connection["status"] == "CONNECTED" and connection["sellerId"]
    sync = await _synced(shop_api, seller, connection["id"])
    assert sync["status"] == "SUCCEEDED", sync
    assert sync["counts"]["listingsCreated"] == SHOP_ITEMS
    return Shop(shop_api, seller, connection["id"])


async def _all_listings(shop: Shop, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"first": 25, "after": after, "filter": filter or {}}
        page = (await shop.api.op("Listings", variables, shop.seller.token))["listings"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def test_listings_page_through_every_item_once_and_filters_partition_them(shop: Shop) -> None:
    listed = await _all_listings(shop)
    assert len(listed) == SHOP_ITEMS == len({item["id"] for item in listed})
    connections = await shop.api.op("MarketplaceConnections", {}, shop.seller.token)
    assert connections["marketplaceConnections"][0]["lastSyncAt"] is not None
    by_status = [
        len(await _all_listings(shop, {"status": s})) for s in ("active", "paused", "closed")
    ]
    assert sum(by_status) == SHOP_ITEMS and by_status[0] > 0
    automated = await _all_listings(shop, {"priceAutomated": True})
    assert all(item["priceAutomated"] for item in automated)
    word = listed[0]["title"].split()[0].lower()
    titled = await _all_listings(shop, {"titleContains": word})
    assert titled and all(word in item["title"].lower() for item in titled)
    category = listed[0]["category"]
    assert all(i["category"] == category for i in await _all_listings(shop, {"category": category}))


async def test_orders_filter_by_listing_period_and_status(shop: Shop) -> None:
    token = shop.seller.token
    recent = (await shop.api.op("Orders", {"first": 1}, token))["orders"]
    assert recent["totalCount"] > 0
    order = recent["edges"][0]["node"]
    listing_id = order["items"][0]["listingId"]
    assert order["buyer"].startswith("B-")  # a pseudonym, never the marketplace's buyer

    of_listing = (
        await shop.api.op("Orders", {"first": 100, "filter": {"listingId": listing_id}}, token)
    )["orders"]
    assert of_listing["totalCount"] >= 1
    assert all(
        any(item["listingId"] == listing_id for item in edge["node"]["items"])
        for edge in of_listing["edges"]
    )
    nested = (await shop.api.op("Listing", {"id": listing_id, "first": 100}, token))["listing"]
    assert nested["orders"]["totalCount"] == of_listing["totalCount"]

    created = datetime.fromisoformat(order["createdAt"])
    window = {"from": (created - timedelta(days=7)).isoformat(), "to": created.isoformat()}
    windowed = (await shop.api.op("Orders", {"first": 100, "filter": window}, token))["orders"]
    for edge in windowed["edges"]:
        at = datetime.fromisoformat(edge["node"]["createdAt"])
        assert created - timedelta(days=7) <= at < created
    cancelled = (
        await shop.api.op("Orders", {"first": 100, "filter": {"status": "cancelled"}}, token)
    )["orders"]
    assert all(edge["node"]["status"] == "cancelled" for edge in cancelled["edges"])
    assert cancelled["totalCount"] < recent["totalCount"]


async def test_a_live_discount_shows_on_its_listing_and_in_the_filter(shop: Shop) -> None:
    token = shop.seller.token
    listing_id = (await _all_listings(shop))[3]["id"]
    now = datetime.now(UTC)
    await shop.api.op(
        "ScheduleDiscount",
        {
            "input": {
                "listingId": listing_id,
                "percent": 10,
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(days=2)).isoformat(),
            }
        },
        token,
    )
    listing = (await shop.api.op("Listing", {"id": listing_id}, token))["listing"]
    assert listing["liveDiscount"]["percent"] == 10
    live = await _all_listings(shop, {"hasLiveDiscount": True})
    assert [item["id"] for item in live] == [listing_id]
    assert len(await _all_listings(shop, {"hasLiveDiscount": False})) == SHOP_ITEMS - 1


async def test_update_listing_cost_refuses_bad_inputs_with_codes(shop: Shop, shop_api: Api) -> None:
    token = shop.seller.token
    listing_id = (await _all_listings(shop))[0]["id"]
    document = operation("UpdateListingCost")

    async def refused(variables: dict[str, Any], who: str = token) -> dict[str, Any]:
        return await shop.api.fail(document, {"input": variables}, who)

    negative = await refused({"listingId": listing_id, "unitCost": "-1"})
    assert negative["extensions"]["code"] == "BAD_USER_INPUT"
    assert negative["extensions"]["field"] == "unitCost"
    fractions = await refused({"listingId": listing_id, "unitCost": "1.001"})
    assert fractions["extensions"]["code"] == "BAD_USER_INPUT"
    unknown = await refused({"listingId": "MLB0000000000", "unitCost": "3"})
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    stranger = await shop_api.sign_up("Outra Loja")
    other = await refused({"listingId": listing_id, "unitCost": "3"}, stranger.token)
    assert other["extensions"]["code"] == "NOT_FOUND"
    viewer = await shop_api.add_user(shop.seller, "VIEWER")
    forbidden = await refused({"listingId": listing_id, "unitCost": "3"}, viewer.token)
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    unchanged = (await shop.api.op("Listing", {"id": listing_id}, token))["listing"]
    assert unchanged["unitCost"] is None

    done = await shop.api.op(
        "UpdateListingCost",
        {"input": {"listingId": listing_id.lower(), "unitCost": "54.90"}},
        token,
    )
    assert done["updateListingCost"]["listing"]["unitCost"] == "54.90"


async def _import(shop: Shop, content: bytes) -> dict[str, Any]:
    operations = {"query": operation("ImportListingCosts"), "variables": {"input": {"file": None}}}
    answer = await shop.api.http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("costs.csv", content, "text/csv")},
        headers={"authorization": f"Bearer {shop.seller.token}", "accept": "application/json"},
    )
    payload = answer.json()
    assert not payload.get("errors"), payload
    return payload["data"]["importListingCosts"]


async def test_a_cost_import_is_all_or_nothing_with_row_errors(shop: Shop) -> None:
    ids = [item["id"] for item in (await _all_listings(shop))[10:13]]
    bad = f"listing_id,unit_cost\n{ids[0]},10.50\n{ids[1]},-3\nMLB0000000001,4\n{ids[2]},x\n"
    refused = await _import(shop, bad.encode())
    assert refused["updatedCount"] == 0
    assert [(e["row"], e["listingId"]) for e in refused["errors"]] == [
        (3, ids[1]),
        (4, "MLB0000000001"),
        (5, ids[2]),
    ]
    first = (await shop.api.op("Listing", {"id": ids[0]}, shop.seller.token))["listing"]
    assert first["unitCost"] is None  # nothing was written

    good = f"listing_id,unit_cost\n{ids[0]},10.50\n{ids[1]},3\n".encode()
    assert await _import(shop, good) == {"updatedCount": 2, "errors": []}
    first = (await shop.api.op("Listing", {"id": ids[0]}, shop.seller.token))["listing"]
    assert first["unitCost"] == "10.50"


async def test_mercado_livre_connects_through_the_consent_url_and_the_callback(
    shop_api: Api,
) -> None:
    seller = await shop_api.sign_up()
    answer = await shop_api.op(
        "ConnectMarketplace", {"input": {"provider": "MERCADO_LIVRE"}}, seller.token
    )
    payload = answer["connectMarketplace"]
    assert payload["connection"]["status"] == "PENDING"
    url = payload["authorizationUrl"]
    assert "code_challenge=" in url and "code_challenge_method=S256" in url and "state=" in url
    assert "code_verifier" not in url

    # The seller's browser: consent (the simulator approves), then the redirect to our callback.
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(url, follow_redirects=False)
    assert consent.status_code == 302
    query = parse_qs(urlparse(consent.headers["location"]).query)
    callback = f"/oauth/mercadolivre/callback?code={query['code'][0]}&state={query['state'][0]}"
    finished = await shop_api.http.get(callback)
    assert finished.status_code == 200, finished.text
    assert finished.json()["connectionId"] == payload["connection"]["id"]
    connections = await shop_api.op("MarketplaceConnections", {}, seller.token)
    (connection,) = connections["marketplaceConnections"]
    assert connection["status"] == "CONNECTED" and connection["provider"] == "MERCADO_LIVRE"
    assert connection["sellerId"] and connection["nickname"]

    replayed = await shop_api.http.get(callback)  # a state is single-use
    assert replayed.status_code == 404
    unknown = await shop_api.http.get("/oauth/mercadolivre/callback?code=TG-x&state=nope")
    assert unknown.status_code == 404


LISTINGS_WITH_RELATIONS = """
query ($first: Int) {
  listings(first: $first) {
    nodes {
      id
      liveDiscount { id }
      orders(first: 3) { totalCount nodes { id items { listingId } } }
    }
  }
}
"""


async def test_listings_with_orders_and_discounts_cost_the_same_statements_at_any_length(
    shop: Shop, shop_container: Container
) -> None:
    counts = []
    for first in (2, 40):
        with counting_statements(shop_container) as statements:
            data = await shop.api.ok(LISTINGS_WITH_RELATIONS, {"first": first}, shop.seller.token)
        assert len(data["listings"]["nodes"]) == first
        counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    assert counts[0] == counts[1], counts


async def test_a_seed_connects_another_simulated_shop_and_is_refused_for_mercado_livre(
    shop: Shop, shop_api: Api
) -> None:
    seller = await shop_api.sign_up()
    seeded = await shop_api.op(
        "ConnectMarketplace", {"input": {"provider": "SIMULATOR", "seed": 12345}}, seller.token
    )
    default = await shop_api.op("MarketplaceConnections", {}, shop.seller.token)
    connection = seeded["connectMarketplace"]["connection"]
    assert connection["status"] == "CONNECTED"
    assert connection["sellerId"] != default["marketplaceConnections"][0]["sellerId"]
    refused = await shop_api.fail(
        operation("ConnectMarketplace"),
        {"input": {"provider": "MERCADO_LIVRE", "seed": 1}},
        seller.token,
    )
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "seed"}


async def test_a_real_server_process_connects_syncs_and_takes_webhooks(
    settings: Settings, simulator: str, tmp_path: Path
) -> None:
    with running_server(settings, tmp_path, {"SIMULATOR_URL": simulator}) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            api = Api(client)
            seller = await api.sign_up()
            connected = await api.op(
                "ConnectMarketplace", {"input": {"provider": "SIMULATOR"}}, seller.token
            )
            connection = connected["connectMarketplace"]["connection"]

            # marketplaceActivity over the WebSocket sees the sync's progress to its end.
            events: list[dict[str, Any]] = []
            subscribed = asyncio.Event()

            async def follow() -> None:
                async with connect(base_url, seller.token) as socket:
                    stream = socket.subscribe(operation("MarketplaceActivity"))
                    subscribed.set()
                    async for data in stream:
                        events.append(data["marketplaceActivity"])
                        if events[-1]["kind"] in ("SYNC_SUCCEEDED", "SYNC_FAILED"):
                            return

            follower = asyncio.create_task(follow())
            await asyncio.wait_for(subscribed.wait(), 30)
            await asyncio.sleep(0.5)  # the subscribe message reaches the server first
            sync = await _synced(api, seller, connection["id"])
            assert sync["status"] == "SUCCEEDED", sync
            await asyncio.wait_for(follower, 30)
            assert events[-1]["kind"] == "SYNC_SUCCEEDED" and events[-1]["progress"] == 1.0
            assert any(e["kind"] == "SYNC_PROGRESS" for e in events)
            assert {e["syncId"] for e in events} == {sync["id"]}

            listings = await api.op("Listings", {"first": 1}, seller.token)
            assert listings["listings"]["totalCount"] == SHOP_ITEMS
            notification = {
                "_id": uuid.uuid4().hex,
                "resource": f"/items/{listings['listings']['edges'][0]['node']['id']}",
                "user_id": int(connection["sellerId"]),
                "topic": "items",
            }
            answers = [
                await client.post("/webhooks/mercadolivre", json=notification) for _ in range(2)
            ]
            assert [a.status_code for a in answers] == [200, 200]
