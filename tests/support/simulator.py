"""The marketplace simulator served on a free port: by uvicorn in a thread (real sockets), or as
`mlproject simulator` in its own process (benchmarks: no GIL shared with what is measured)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import uvicorn

from server.simulator import SimulatorConfig, create_simulator_app
from tests.support.services import free_port

START = "2026-11-25T10:00:00.000-03:00"
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def simulator_process(*options: str) -> Iterator[str]:
    """`mlproject simulator <options>` in its own process on a free port; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "server.cli", "simulator", "--port", str(port), *options]
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, stdout=quiet, stderr=quiet)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/_sim/clock", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextmanager
def running_simulator(config: SimulatorConfig) -> Iterator[str]:
    """Serve the simulator until the block ends; yields its base URL."""
    port = free_port()
    app = create_simulator_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    user_id: int


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(client: httpx.Client, config: SimulatorConfig, redirect_uri: str) -> Tokens:
    """The authorization-code flow with PKCE, as the product's client runs it."""
    verifier, challenge = pkce_pair()
    answer = client.get(
        "/authorization",
        params={
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": redirect_uri,
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert answer.status_code == 302
    query = parse_qs(urlparse(answer.headers["location"]).query)
    assert query["state"] == ["st"]
    token = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    body = token.json()
    return Tokens(body["access_token"], body["refresh_token"], body["user_id"])


@dataclass
class Seller:
    """A fresh simulated seller: an authorized client and its listings' full state."""

    client: httpx.Client
    user_id: int
    items: list[dict[str, Any]]

    def first(self, **wanted: object) -> dict[str, Any]:
        """The first listing whose state has all the `wanted` values."""
        return next(
            item for item in self.items if all(item[key] == value for key, value in wanted.items())
        )


def new_seller(base_url: str, seed: int, items: int = 150, **extra: object) -> Seller:
    """`POST /_sim/sellers` and a client holding its access token."""
    created = httpx.post(f"{base_url}/_sim/sellers", json={"seed": seed, "items": items, **extra})
    assert created.status_code == 201, created.text
    body = created.json()
    client = httpx.Client(
        base_url=base_url,
        timeout=30,
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    state = client.get(f"/_sim/state/sellers/{body['user_id']}/items").json()
    return Seller(client, body["user_id"], state)


def sim_now(base_url: str) -> float:
    return float(httpx.get(f"{base_url}/_sim/clock").json()["epoch"])


def advance(base_url: str, seconds: float) -> None:
    answer = httpx.post(f"{base_url}/_sim/clock", json={"advance_seconds": seconds}, timeout=60)
    assert answer.status_code == 200
