"""A new user's marketplace walkthrough on `mlproject serve` as it starts: the simulator is
mounted at /simulator and is the default connection (no SIMULATOR_URL, no second process).
Connect, sync, browse listings, plan a campaign, watch a discount go live and come off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import Settings
from tests.conftest import running_server
from tests.support.api import Api
from tests.support.scheduling import until

SEED = 7
ITEMS = 40


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    env = {
        "SIMULATOR_MOUNT": "true",
        "SIMULATOR_SEED": str(SEED),
        "SIMULATOR_ITEMS": str(ITEMS),
        "SCHEDULER_TICK_SECONDS": "0.3",
    }
    with running_server(settings, tmp_path, env) as base_url:
        yield base_url


async def test_the_walkthrough_runs_on_the_mounted_simulator(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        api = Api(http)
        seller = await api.sign_up()
        connected = await api.op(
            "ConnectMarketplace", {"input": {"provider": "SIMULATOR"}}, seller.token
        )
        connection = connected["connectMarketplace"]["connection"]
        assert connection["status"] == "CONNECTED"
        started = await api.op(
            "SyncMarketplace", {"input": {"connectionId": connection["id"]}}, seller.token
        )
        sync_id = started["syncMarketplace"]["sync"]["id"]

        async def synced() -> bool:
            found = await api.op("MarketplaceSync", {"id": sync_id}, seller.token)
            assert found["marketplaceSync"]["status"] != "FAILED", found
            return bool(found["marketplaceSync"]["status"] == "SUCCEEDED")

        await until(synced, "the sync")
        listings = await api.op(
            "Listings", {"first": 100, "filter": {"status": "active"}}, seller.token
        )
        assert 0 < listings["listings"]["totalCount"] <= ITEMS
        # The simulator's own view picks a listing Mercado Livre would discount.
        shop = (
            await http.get(f"/simulator/_sim/state/sellers/{connection['sellerId']}/items")
        ).json()
        eligible = [
            item
            for item in shop
            if item["status"] == "active"
            and item["condition"] == "new"
            and item["listing_type_id"] != "free"
            and not item.get("price_automated")
        ]
        assert eligible, "the seeded shop has discountable listings"
        item = eligible[0]

        now = datetime.now(UTC)
        campaign = await api.op(
            "CreateCampaign",
            {
                "input": {
                    "name": "Semana do cliente",
                    "startsAt": now.isoformat(),
                    "endsAt": (now + timedelta(days=1)).isoformat(),
                }
            },
            seller.token,
        )
        campaign_id = campaign["createCampaign"]["campaign"]["id"]
        await api.op(
            "ScheduleDiscount",
            {
                "input": {
                    "listingId": item["id"],
                    "percent": 10,
                    "startsAt": (now + timedelta(seconds=2)).isoformat(),
                    "endsAt": (now + timedelta(seconds=8)).isoformat(),
                    "campaignId": campaign_id,
                }
            },
            seller.token,
        )
        activated = await api.op("ActivateCampaign", {"input": {"id": campaign_id}}, seller.token)
        assert activated["activateCampaign"]["campaign"]["status"] == "ACTIVE"

        async def discount_in(state: str) -> dict[str, Any] | None:
            listed = await api.op("Discounts", token=seller.token)
            node: dict[str, Any] = listed["discounts"]["edges"][0]["node"]
            assert node["marketplaceState"] in ("PENDING", "APPLIED", "WITHDRAWN"), node
            return node if node["marketplaceState"] == state else None

        async def sim_price() -> Decimal:
            state = (await http.get(f"/simulator/_sim/state/items/{item['id']}")).json()
            return Decimal(str(state["price"]))

        applied = await until(lambda: discount_in("APPLIED"), "APPLIED")
        deal = Decimal(applied["dealPrice"])
        assert deal < Decimal(str(item["price"]))

        async def priced(price: Decimal) -> bool:
            return await sim_price() == price

        await until(lambda: priced(deal), "the deal price on the simulator")
        await until(lambda: discount_in("WITHDRAWN"), "WITHDRAWN")
        await until(lambda: priced(Decimal(str(item["price"]))), "the price back")
        log = await api.op("PriceChanges", {"filter": {"listingId": item["id"]}}, seller.token)
        reasons = [e["node"]["reason"] for e in log["priceChanges"]["edges"]]
        assert reasons == ["DISCOUNT_WITHDRAWN", "DISCOUNT_APPLIED"]
