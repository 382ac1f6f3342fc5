"""Abuse control and token lifecycle (issue 7): rate limits, password rules, a sign-up that
reveals nothing, Argon2 off the default pool, refresh rotation with reuse detection, logout,
removeUser and changeUserRole taking effect at once, WebSockets that end with their token, and
per-user subscription caps. On SQLite and PostgreSQL, in-process and against real servers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
import websockets

from server.config import Settings
from tests.conftest import TEST_SECRET, running_server
from tests.support.api import Api, Seller, operation
from tests.support.ws import PROTOCOL, connect

STRONG = "long enough pw"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


async def sign_up_as(api: Api, email: str, account_name: str = "Loja") -> dict:
    variables = {"input": {"accountName": account_name, "email": email, "password": STRONG}}
    return (await api.op("SignUp", variables))["signUp"]


async def login(api: Api, email: str, password: str = STRONG, **extra: str) -> httpx.Response:
    return await api.post(
        operation("Login"), {"input": {"email": email, "password": password, **extra}}
    )


def first_error(response: httpx.Response) -> dict:
    errors = response.json().get("errors")
    assert errors, response.json()
    return errors[0]


# -- passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message_part"),
    [("password", "most common"), (" " * 8, "only spaces"), ("zzzzzzzzzz", "repeat")],
)
async def test_common_blank_and_repeated_passwords_are_refused(
    api: Api, password: str, message_part: str
) -> None:
    variables = {"input": {"accountName": "Loja", "email": new_email(), "password": password}}
    error = await api.fail(operation("SignUp"), variables)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "password"}
    assert message_part in error["message"]


async def test_a_password_holding_the_emails_name_is_refused(api: Api) -> None:
    owner = await api.sign_up()
    email = new_email()
    variables = {"input": {"email": email, "password": email.split("@")[0] + "!", "role": "VIEWER"}}
    error = await api.fail(operation("AddUser"), variables, owner.token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "password"}


# -- a sign-up that reveals nothing ------------------------------------------------------------


async def test_sign_up_answers_alike_whether_or_not_the_email_is_known(api: Api) -> None:
    email = new_email()
    first = await sign_up_as(api, email)
    second = await sign_up_as(api, email)
    assert set(first) == set(second)
    assert first["user"]["account"]["id"] != second["user"]["account"]["id"]
    assert second["user"]["role"] == "OWNER"


async def test_add_user_conflicts_only_within_the_same_account(api: Api) -> None:
    first, second = await api.sign_up(), await api.sign_up()
    variables = {"input": {"email": first.email, "password": STRONG, "role": "VIEWER"}}
    added = await api.op("AddUser", variables, second.token)  # known in another account: fine
    assert added["addUser"]["user"]["email"] == first.email
    error = await api.fail(operation("AddUser"), variables, second.token)
    assert error["extensions"] == {"code": "CONFLICT", "field": "email"}


async def test_login_lists_the_accounts_of_an_email_and_account_id_chooses(api: Api) -> None:
    email = new_email()
    older = await sign_up_as(api, email, "Older")
    newer = await sign_up_as(api, email, "Newer")
    chosen = (await login(api, email)).json()["data"]["login"]
    assert chosen["user"]["account"]["name"] == "Newer"  # the most recently used
    assert [a["name"] for a in chosen["accounts"]] == ["Newer", "Older"]
    older_id = older["user"]["account"]["id"]
    picked = (await login(api, email, accountId=older_id)).json()["data"]["login"]
    assert picked["user"]["account"]["id"] == older_id
    assert newer["user"]["account"]["id"] != older_id
    wrong = first_error(await login(api, email, password="not the password"))
    assert (wrong["extensions"]["code"], wrong["message"]) == (
        "UNAUTHENTICATED",
        "Wrong e-mail or password.",
    )


async def test_sign_up_past_the_accounts_per_email_cap_gets_the_generic_refusal(
    api: Api, settings: Settings
) -> None:
    email = new_email()
    for _ in range(settings.max_accounts_per_email):
        await sign_up_as(api, email)
    variables = {"input": {"accountName": "One more", "email": email, "password": STRONG}}
    error = await api.fail(operation("SignUp"), variables)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "another e-mail address" in error["message"]


# -- refresh rotation, reuse, logout -----------------------------------------------------------


async def refresh(api: Api, token: str) -> httpx.Response:
    return await api.post(operation("RefreshToken"), {"input": {"refreshToken": token}})


async def test_refresh_rotates_and_the_old_refresh_token_stops_working(api: Api) -> None:
    seller = await api.sign_up()
    pair = (await refresh(api, seller.refresh_token)).json()["data"]["refreshToken"]
    assert pair["refreshToken"] != seller.refresh_token
    assert (await api.op("Me", token=pair["accessToken"]))["me"]["id"] == seller.user_id
    error = first_error(await refresh(api, seller.refresh_token))
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "already used" in error["message"]


async def test_reusing_a_refresh_token_signs_the_whole_session_out(api: Api) -> None:
    seller = await api.sign_up()
    stolen = seller.refresh_token
    pair = (await refresh(api, stolen)).json()["data"]["refreshToken"]  # the user rotates
    await refresh(api, stolen)  # the thief replays the stolen token
    for response in (
        await refresh(api, pair["refreshToken"]),  # the user's newest refresh token
        await api.post(operation("Me"), token=pair["accessToken"]),  # and its access token
    ):
        assert first_error(response)["extensions"]["code"] == "UNAUTHENTICATED"
    again = (await login(api, seller.email, seller.password)).json()["data"]["login"]
    assert (await api.op("Me", token=again["accessToken"]))["me"]["id"] == seller.user_id


async def test_logout_revokes_the_session_and_its_access_tokens(api: Api) -> None:
    seller = await api.sign_up()
    other = (await login(api, seller.email, seller.password)).json()["data"]["login"]
    data = await api.op("Logout", {"input": {"refreshToken": seller.refresh_token}})
    assert data["logout"] == {"revoked": True}
    assert first_error(await refresh(api, seller.refresh_token))["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )
    error = await api.fail(operation("Me"), token=seller.token)
    assert "signed out" in error["message"]
    # Another session of the same user is untouched.
    assert (await api.op("Me", token=other["accessToken"]))["me"]["id"] == seller.user_id


# -- removeUser and changeUserRole take effect at once -------------------------------------------


async def test_a_removed_users_access_token_stops_reading_at_once(api: Api) -> None:
    owner = await api.sign_up()
    analyst = await api.add_user(owner, "ANALYST")
    assert (await api.op("Datasets", {"first": 5}, analyst.token))["datasets"] is not None
    removed = await api.op("RemoveUser", {"input": {"userId": analyst.user_id}}, owner.token)
    assert removed["removeUser"] == {"userId": analyst.user_id, "revoked": True}
    error = await api.fail(operation("Datasets"), {"first": 5}, analyst.token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert first_error(await refresh(api, analyst.refresh_token))["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )


async def test_an_owner_demoted_to_viewer_cannot_create_an_owner_with_the_old_token(
    api: Api,
) -> None:
    owner = await api.sign_up()
    second_owner = await api.add_user(owner, "OWNER")
    changed = await api.op(
        "ChangeUserRole", {"input": {"userId": second_owner.user_id, "role": "VIEWER"}}, owner.token
    )
    assert changed["changeUserRole"]["user"]["role"] == "VIEWER"
    variables = {"input": {"email": new_email(), "password": STRONG, "role": "OWNER"}}
    error = await api.fail(operation("AddUser"), variables, second_owner.token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    # Refreshing gives tokens with the new role, which may not manage users.
    pair = (await refresh(api, second_owner.refresh_token)).json()["data"]["refreshToken"]
    assert pair["user"]["role"] == "VIEWER"
    error = await api.fail(operation("AddUser"), variables, pair["accessToken"])
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_the_last_owner_cannot_be_removed_or_demoted(api: Api) -> None:
    owner = await api.sign_up()
    for name, variables in (
        ("RemoveUser", {"input": {"userId": owner.user_id}}),
        ("ChangeUserRole", {"input": {"userId": owner.user_id, "role": "ANALYST"}}),
    ):
        error = await api.fail(operation(name), variables, owner.token)
        assert error["extensions"] == {"code": "CONFLICT", "field": "userId"}
    assert (await api.op("Me", token=owner.token))["me"]["role"] == "OWNER"


@pytest.mark.parametrize("role", ["ANALYST", "VIEWER"])
async def test_only_owners_remove_users_or_change_roles(api: Api, role: str) -> None:
    owner = await api.sign_up()
    member = await api.add_user(owner, role)
    for name, variables in (
        ("RemoveUser", {"input": {"userId": owner.user_id}}),
        ("ChangeUserRole", {"input": {"userId": member.user_id, "role": "OWNER"}}),
    ):
        error = await api.fail(operation(name), variables, member.token)
        assert error["extensions"]["code"] == "FORBIDDEN"


async def test_removing_a_user_of_another_account_is_not_found(api: Api) -> None:
    owner, stranger = await api.sign_up(), await api.sign_up()
    error = await api.fail(
        operation("RemoveUser"), {"input": {"userId": stranger.user_id}}, owner.token
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


# -- Argon2 on its own pool -------------------------------------------------------------------


async def test_a_login_flood_leaves_the_default_thread_pool_free(
    http: httpx.AsyncClient, api: Api
) -> None:
    if not isinstance(http._transport, httpx.ASGITransport):
        pytest.skip("measures this process's default executor: in-process server only")
    seller = await api.sign_up()
    flood = [
        asyncio.ensure_future(login(api, seller.email, password=f"wrong password {i}"))
        for i in range(150)
    ]
    waits = []
    for _ in range(3):  # probe the default executor while the flood is hashing
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        await asyncio.to_thread(lambda: None)
        waits.append(time.perf_counter() - started)
    waited = max(waits)
    responses = await asyncio.gather(*flood)
    codes = {first_error(r)["extensions"]["code"] for r in responses}
    assert codes <= {"UNAUTHENTICATED", "RATE_LIMITED"}, codes
    assert waited < 0.5, f"asyncio.to_thread waited {waited:.2f} s behind password hashing"


# -- rate limits, against a real server with strict limits ---------------------------------------

STRICT = {
    "RATE_LIMIT_LOGIN_PER_IP": "10/minute",
    "RATE_LIMIT_LOGIN_PER_EMAIL": "5/minute",
    "RATE_LIMIT_SIGNUP_PER_IP": "3/hour",
    "RATE_LIMIT_PER_ACCOUNT": "20/minute",
    "RATE_LIMIT_PER_IP": "40/minute",
    # Each test speaks from its own address through the (trusted) loopback proxy.
    "TRUSTED_PROXIES": "127.0.0.1",
}


@pytest.fixture(scope="module")
def strict_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(settings, tmp_path_factory.mktemp("strict"), STRICT) as base_url:
        yield base_url


class StrictClient:
    """Speaks to the strict server as if from one client address."""

    def __init__(self, http: httpx.AsyncClient, address: str) -> None:
        self.api = Api(http)
        self.address = address

    async def post(self, query: str, variables: dict, token: str | None = None) -> httpx.Response:
        return await self.api.post(
            query, variables, token, headers={"x-forwarded-for": self.address}
        )


@pytest.fixture
async def strict(strict_server: str) -> object:
    async with httpx.AsyncClient(base_url=strict_server, timeout=30) as http:
        yield StrictClient(http, f"198.51.100.{uuid.uuid4().int % 250 + 1}")


def assert_rate_limited(response: httpx.Response, window: int = 60) -> None:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    error = first_error(response)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == retry_after
    assert 1 <= retry_after <= window


async def test_a_flood_of_wrong_passwords_from_one_address_gets_429(strict: StrictClient) -> None:
    responses = []
    for number in range(12):  # a different e-mail each time: only the per-IP limit applies
        variables = {"input": {"email": f"victim{number}@example.com", "password": "guess1234"}}
        responses.append(await strict.post(operation("Login"), variables))
    codes = [first_error(r)["extensions"]["code"] for r in responses]
    assert codes[:10] == ["UNAUTHENTICATED"] * 10
    assert_rate_limited(responses[10])
    assert_rate_limited(responses[11])


async def test_guessing_one_emails_password_is_limited_across_addresses(
    strict_server: str,
) -> None:
    email = new_email()
    async with httpx.AsyncClient(base_url=strict_server, timeout=30) as http:
        responses = []
        for number in range(6):
            client = StrictClient(http, f"203.0.113.{uuid.uuid4().int % 250 + 1}")
            variables = {"input": {"email": email, "password": f"guess {number} pw"}}
            responses.append(await client.post(operation("Login"), variables))
    assert [first_error(r)["extensions"]["code"] for r in responses[:5]] == ["UNAUTHENTICATED"] * 5
    assert_rate_limited(responses[5])


async def test_sign_up_is_limited_per_address(strict: StrictClient) -> None:
    responses = []
    for _ in range(4):
        variables = {"input": {"accountName": "Loja", "email": new_email(), "password": STRONG}}
        responses.append(await strict.post(operation("SignUp"), variables))
    assert all("errors" not in r.json() for r in responses[:3])
    assert_rate_limited(responses[3], window=3600)


async def test_an_accounts_requests_are_refused_before_execution_past_its_limit(
    strict: StrictClient,
) -> None:
    variables = {"input": {"accountName": "Loja", "email": new_email(), "password": STRONG}}
    token = (await strict.post(operation("SignUp"), variables)).json()["data"]["signUp"][
        "accessToken"
    ]
    answers = [await strict.post(operation("Me"), {}, token) for _ in range(21)]
    assert all(r.status_code == 200 for r in answers[:20])
    assert_rate_limited(answers[20])
    assert "data" not in answers[20].json()


# -- WebSockets end with their token; subscription caps -------------------------------------------


@pytest.fixture
async def served(server_process: str) -> object:
    """The API of the real server process (WebSocket tests need a real server)."""
    async with httpx.AsyncClient(base_url=server_process, timeout=30) as http:
        yield Api(http)


def short_lived(token: str, seconds: int) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = int(time.time()) + seconds
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


async def closed_code(socket: websockets.ClientConnection, within: float) -> int | None:
    try:
        while True:
            await asyncio.wait_for(socket.recv(), within)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


async def test_a_subscription_socket_closes_when_its_token_expires(
    server_process: str, served: Api
) -> None:
    seller = await served.sign_up()
    async with connect(server_process, short_lived(seller.token, 3)) as connection:
        await subscribe_raw(connection.socket, 1)
        assert await closed_code(connection.socket, 15) == 4401


async def test_a_removed_users_subscription_socket_closes_at_once(
    server_process: str, served: Api
) -> None:
    api = served
    owner = await api.sign_up()
    analyst = await api.add_user(owner, "ANALYST")
    async with connect(server_process, analyst.token) as connection:
        await subscribe_raw(connection.socket, 1)
        await api.op("RemoveUser", {"input": {"userId": analyst.user_id}}, owner.token)
        assert await closed_code(connection.socket, 10) == 4403


async def subscribe_raw(socket: websockets.ClientConnection, count: int) -> None:
    for _ in range(count):
        message = {
            "id": uuid.uuid4().hex,
            "type": "subscribe",
            "payload": {"query": operation("RunUpdates"), "variables": {}},
        }
        await socket.send(json.dumps(message))


async def next_error(socket: websockets.ClientConnection, within: float) -> list | None:
    """The errors of the next failed operation, as `error` or as `next` with errors."""
    try:
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), within))
            if message["type"] == "error":
                return message["payload"]
            if message["type"] == "next" and message["payload"].get("errors"):
                return message["payload"]["errors"]
    except TimeoutError:
        return None


async def test_subscriptions_per_user_are_capped_across_sockets(
    server_process: str, served: Api, settings: Settings
) -> None:
    seller: Seller = await served.sign_up()
    url = server_process.replace("http://", "ws://") + "/graphql"
    half = settings.max_subscriptions_per_user // 2
    sockets = []
    for _ in range(2):
        socket = await websockets.connect(url, subprotocols=[PROTOCOL])
        init = {"authorization": f"Bearer {seller.token}"}
        await socket.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        sockets.append(socket)
    first, second = sockets
    try:
        await subscribe_raw(first, half)
        await subscribe_raw(second, settings.max_subscriptions_per_user - half)
        assert await next_error(first, 1) is None
        await subscribe_raw(second, 1)
        refused = await next_error(second, 10)
        assert refused is not None
        assert refused[0]["extensions"]["code"] == "RATE_LIMITED"
        await first.close()  # frees its slots
        await asyncio.sleep(1)
        await subscribe_raw(second, 1)
        assert await next_error(second, 2) is None
    finally:
        for socket in sockets:
            await socket.close()
