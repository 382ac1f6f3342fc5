"""OAuth: PKCE, the authorization URL, the code exchange, and single-flight refresh."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from domain.marketplace import (
    Marketplace,
    MarketplaceAuthorizationLost,
    MarketplaceClient,
    MarketplaceRefused,
    StoredCredentials,
)
from server.adapters.marketplace.oauth import code_challenge, new_code_verifier, new_state
from tests.unit.marketplace.fake_ml import CONNECTION, USER_ID, Rig, refused


def test_the_adapter_implements_the_port() -> None:
    rig = Rig()
    marketplace: Marketplace = rig.marketplace
    client: MarketplaceClient = marketplace.client(CONNECTION)
    assert client is not None


def test_the_s256_challenge_is_rfc_7636s_example() -> None:
    assert (
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_verifiers_and_states_are_long_unreserved_and_fresh() -> None:
    verifier = new_code_verifier()
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
    assert verifier != new_code_verifier()
    assert new_state() != new_state()


def test_the_authorization_url_carries_state_and_the_challenge() -> None:
    rig = Rig()
    url = rig.marketplace.authorization_url(
        state="st-1", code_challenge="ch-1", redirect_uri="http://app/cb"
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://auth.test/authorization"
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "response_type": "code",
        "client_id": "111",
        "redirect_uri": "http://app/cb",
        "state": "st-1",
        "code_challenge": "ch-1",
        "code_challenge_method": "S256",
    }


async def test_the_code_exchange_sends_the_verifier_and_returns_the_grant() -> None:
    rig = Rig()
    grant = await rig.marketplace.exchange_code(
        code="TG-1", code_verifier="v" * 50, redirect_uri="http://app/cb"
    )
    (request,) = rig.fake.calls("POST", "/oauth/token")
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form == {
        "grant_type": "authorization_code",
        "code": "TG-1",
        "redirect_uri": "http://app/cb",
        "code_verifier": "v" * 50,
        "client_id": "111",
        "client_secret": "secret",
    }
    assert (grant.access_token, grant.refresh_token, grant.user_id) == ("AT-1", "RT-1", "123456789")
    assert grant.expires_at == rig.clock.now() + timedelta(hours=6)


async def test_a_used_code_is_a_refusal_to_start_again() -> None:
    rig = Rig()
    rig.fake.script("POST", "/oauth/token", refused(400, "invalid_grant"))
    with pytest.raises(MarketplaceRefused) as caught:
        await rig.marketplace.exchange_code(code="TG-1", code_verifier="v" * 50, redirect_uri="x")
    assert caught.value.code == "invalid_grant"


async def test_a_wrong_client_secret_is_named() -> None:
    rig = Rig(client_secret="wrong")
    with pytest.raises(MarketplaceRefused, match="ML_CLIENT_ID/ML_CLIENT_SECRET") as caught:
        await rig.marketplace.exchange_code(code="TG-1", code_verifier="v" * 50, redirect_uri="x")
    assert caught.value.code == "invalid_client"


async def test_a_token_about_to_expire_is_refreshed_before_the_call() -> None:
    rig = Rig()
    client = await rig.connect(expires_in=30)  # inside the 5-minute margin
    assert (await client.me()).user_id == str(USER_ID)
    assert rig.fake.refreshes == 1
    assert [r.headers["Authorization"] for r in rig.fake.calls("GET", "/users/me")] == [
        "Bearer AT-1"
    ]
    saved = await rig.store.load(CONNECTION)
    assert saved is not None and (saved.access_token, saved.refresh_token) == ("AT-1", "RT-1")


@pytest.mark.parametrize("callers", [2, 10])
async def test_concurrent_calls_after_expiry_share_one_refresh(callers: int) -> None:
    rig = Rig()
    rig.fake.refresh_delay = 0.02  # the exchange is in flight while the others arrive
    client = await rig.connect(expires_in=-1)
    profiles = await asyncio.gather(*(client.me() for _ in range(callers)))
    assert {p.nickname for p in profiles} == {"LOJA"}
    assert rig.fake.refreshes == 1
    assert len(rig.fake.calls("POST", "/oauth/token")) == 1


@pytest.mark.parametrize("callers", [2, 10])
async def test_a_token_the_marketplace_expired_early_is_refreshed_once(callers: int) -> None:
    rig = Rig()
    rig.fake.refresh_delay = 0.02
    client = await rig.connect()
    rig.fake.valid_tokens = set()  # the marketplace forgets AT-0 before its expiry
    await asyncio.gather(*(client.me() for _ in range(callers)))
    assert rig.fake.refreshes == 1
    assert len(rig.fake.calls("GET", "/users/me")) == 2 * callers  # a 401, then the retry


async def test_a_refused_refresh_means_the_authorization_is_lost() -> None:
    rig = Rig()
    client = await rig.connect(expires_in=-1)
    rig.fake.refresh_token = "RT-elsewhere"  # ours was used by someone else
    with pytest.raises(MarketplaceAuthorizationLost, match="connect the seller again"):
        await client.me()


async def test_a_401_after_a_refresh_means_the_authorization_is_lost() -> None:
    rig = Rig()
    client = await rig.connect()
    rig.fake.script("GET", "/users/me", refused(401, "unauthorized"), refused(401, "unauthorized"))
    with pytest.raises(MarketplaceAuthorizationLost):
        await client.me()
    assert rig.fake.refreshes == 1


async def test_a_connection_without_credentials_is_not_authorised() -> None:
    rig = Rig()
    with pytest.raises(MarketplaceAuthorizationLost):
        await rig.marketplace.client("nobody").me()


async def test_a_token_saved_by_another_refresher_is_used_without_an_exchange() -> None:
    rig = Rig()
    client = await rig.connect()
    rig.fake.valid_tokens = {"AT-other"}

    async def another_process_refreshes(request: httpx.Request) -> None:
        # While our call with AT-0 is out, another process refreshes and saves its pair.
        if request.headers.get("Authorization") == "Bearer AT-0":
            fresh = rig.clock.now() + timedelta(hours=6)
            await rig.store.save(StoredCredentials(CONNECTION, "AT-other", "RT-other", fresh))

    rig.fake.before = another_process_refreshes
    await client.me()
    assert rig.fake.refreshes == 0
    assert [r.headers["Authorization"] for r in rig.fake.calls("GET", "/users/me")] == [
        "Bearer AT-0",
        "Bearer AT-other",
    ]


async def test_a_cancelled_caller_still_saves_the_new_pair() -> None:
    rig = Rig()
    rig.fake.refresh_delay = 0.05
    client = await rig.connect(expires_in=-1)
    exchanging = asyncio.Event()

    async def seen(request: httpx.Request) -> None:
        if request.url.path == "/oauth/token":
            exchanging.set()

    rig.fake.before = seen
    call = asyncio.create_task(client.me())
    await exchanging.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    saved = await rig.store.load(CONNECTION)
    assert saved is not None and saved.refresh_token == "RT-1"


async def test_calls_do_not_read_the_store_each_time_until_a_401() -> None:
    rig = Rig()
    client = await rig.connect()
    loads = 0
    load = rig.store.load

    async def counted(connection_id: str) -> StoredCredentials | None:
        nonlocal loads
        loads += 1
        return await load(connection_id)

    rig.store.load = counted  # type: ignore[method-assign]
    for _ in range(5):
        await client.me()
    assert loads == 1
    rig.fake.valid_tokens = set()  # forced expiry: the 401 re-reads, then refreshes
    await rig.marketplace.client("conn-1").me()
    assert loads == 2 and rig.fake.refreshes == 1
