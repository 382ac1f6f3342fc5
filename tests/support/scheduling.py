"""Helpers for the scheduler's tests against the simulator: an item it will discount, waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from domain.model.accounts import Principal
from domain.model.marketplace import MarketplaceProvider
from server.bootstrap import Container

WAIT = 60.0  # a guard against a hung test, never a measurement


async def eligible_item(simulator: str, seed: int) -> dict[str, Any]:
    """An item of the seed's shop the marketplace will discount, as the simulator's own state
    reports it (its truth: only tests read it)."""
    async with httpx.AsyncClient(base_url=simulator, timeout=30) as http:
        seller = (await http.post("/_sim/sellers", json={"seed": seed})).json()
        auth = {"Authorization": f"Bearer {seller['access_token']}"}
        found = await http.get(
            f"/users/{seller['user_id']}/items/search", params={"limit": 50}, headers=auth
        )
        for item_id in found.json()["results"]:
            state = (await http.get(f"/_sim/state/items/{item_id}")).json()
            if (
                state["status"] == "active"
                and state["condition"] == "new"
                and state["listing_type_id"] != "free"
                and not state["price_automated"]
                and not state["promotions"]
            ):
                return dict(state)
    raise AssertionError("no eligible item in the simulated shop")


async def until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll `check` until it returns something truthy (and return it)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not (result := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return result


async def connected_seller(container: Container, seed: int) -> Principal:
    """A new account whose owner connected the simulator's shop of `seed`."""
    tag = uuid.uuid4().hex[:8]
    session = await container.accounts.sign_up(f"S{tag}", f"{tag}@example.com", "a long password")
    principal = container.accounts.authenticate(session.tokens.access_token)
    assert container.marketplace is not None
    connected = await container.marketplace.service.connect(
        principal, MarketplaceProvider.SIMULATOR, seed
    )
    assert connected.connection.id
    return principal
