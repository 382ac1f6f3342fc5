"""Mounted under a path in another Starlette app (the embedded mode), the simulator still works."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from server.simulator import SimulatorConfig, create_simulator_app
from tests.support.simulator import START, pkce_pair

CONFIG = SimulatorConfig(items=50, start=START, speed=0.0)


async def test_oauth_and_items_work_under_a_mount_path() -> None:
    simulator = create_simulator_app(CONFIG)
    parent = Starlette(routes=[Mount("/simulator", app=simulator)])
    transport = httpx.ASGITransport(app=parent)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver/simulator"
        ) as client:
            headers = {"Authorization": f"Bearer {await _authorize(client)}"}
            me = (await client.get("/users/me", headers=headers)).json()
            search = await client.get(f"/users/{me['id']}/items/search", headers=headers)
            assert search.json()["paging"]["total"] == 50
            clock = await client.post("/_sim/clock", json={"advance_seconds": 3600})
            assert clock.json()["now"].startswith("2026-11-25T11:00:00")
    finally:
        await simulator.state.simulator.aclose()


async def _authorize(client: httpx.AsyncClient) -> str:
    """The same flow as tests.support.simulator.authorize, on an async client."""
    verifier, challenge = pkce_pair()
    redirect = "http://127.0.0.1:8000/marketplace/callback"
    answer = await client.get(
        "/authorization",
        params={
            "response_type": "code",
            "client_id": CONFIG.client_id,
            "redirect_uri": redirect,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    code = httpx.URL(answer.headers["location"]).params["code"]
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": CONFIG.client_id,
            "client_secret": CONFIG.client_secret,
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
    )
    return str(token.json()["access_token"])


async def test_unknown_paths_answer_in_the_marketplace_error_shape() -> None:
    simulator = create_simulator_app(CONFIG)
    transport = httpx.ASGITransport(app=simulator)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            missing = await client.get("/nowhere")
            wrong_method = await client.delete("/users/me")
    finally:
        await simulator.state.simulator.aclose()
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["status"]) == (405, 405)
