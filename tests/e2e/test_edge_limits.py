"""Limits before work and clean answers at the edge (issue 7), against the app and a real server.

Each test names the finding it covers. The `http` fixture runs every test in-process and
against a real `mlproject serve` process, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.bootstrap import Container
from server.config import Settings
from tests.support.api import Api, operation

GQL_RESPONSE = "application/graphql-response+json"
LIMIT_BYTES = 1024 * 1024  # MAX_REQUEST_KB's default
MAX_COST = 5000  # GRAPHQL_MAX_COST's default
LIVE_WITHIN = 1.0  # seconds; generous, the machine is shared
HEAD_START = 0.2


def fragment_chain(count: int = 21) -> str:
    """The finding's 866-byte request: each fragment spreads the next twice."""
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(1, count)
    )
    return f"{{ ...F1 }} {fragments} fragment F{count} on Query {{ a: __typename }}"


def nested_users(first: str = "100", levels: int = 2) -> str:
    inner = "id email"
    for _ in range(levels):
        inner = f"account {{ users(first: {first}) {{ edges {{ node {{ {inner} }} }} }} }}"
    return "me { " + inner + " }"


async def live_while(
    http: httpx.AsyncClient, send: Callable[[], Coroutine[Any, Any, httpx.Response]]
) -> tuple[httpx.Response, float]:
    """Send a bad request, then /health/live while it is handled: (its answer, live's delay)."""
    started = time.perf_counter()
    bad = asyncio.create_task(send())
    await asyncio.sleep(HEAD_START)
    live = await http.get("/health/live")
    delay = time.perf_counter() - started - HEAD_START
    assert live.status_code == 200
    return await bad, delay


def first_error(response: httpx.Response) -> dict:
    payload = response.json()
    assert payload.get("errors"), payload
    return payload["errors"][0]


# --- fragment explosion: 21 fragments froze the whole server for 12.6 s --------------------


async def test_a_fragment_explosion_is_refused_while_the_server_stays_live(
    http: httpx.AsyncClient,
) -> None:
    query = fragment_chain(21)
    assert len(query) < 1000

    async def send() -> httpx.Response:
        return await http.post("/graphql", json={"query": query})

    response, delay = await live_while(http, send)
    assert delay < LIVE_WITHIN
    error = first_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "aliases found" in error["message"]  # 2**20 aliases once the spreads are expanded


async def test_a_thirty_fragment_chain_without_aliases_is_answered_at_once(
    http: httpx.AsyncClient,
) -> None:
    query = fragment_chain(30).replace("a: __typename", "__typename")

    async def send() -> httpx.Response:
        return await http.post("/graphql", json={"query": query})

    response, delay = await live_while(http, send)
    assert delay < LIVE_WITHIN
    assert response.json()["data"] == {"__typename": "Query"}


# --- body size: no limit, 10 MB comment documents parsed and cached ------------------------


async def test_a_body_over_the_limit_is_refused_from_its_content_length(
    http: httpx.AsyncClient,
) -> None:
    body = json.dumps({"query": "{ __typename }", "variables": {"x": "y" * (2 * LIMIT_BYTES)}})

    async def send() -> httpx.Response:
        return await http.post(
            "/graphql", content=body.encode(), headers={"content-type": "application/json"}
        )

    response, delay = await live_while(http, send)
    assert delay < LIVE_WITHIN
    assert response.status_code == 413
    error = first_error(response)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "limitBytes": LIMIT_BYTES}
    assert "MAX_REQUEST_KB" in error["message"]


async def test_a_streamed_body_is_cut_off_at_the_limit(http: httpx.AsyncClient) -> None:
    """No Content-Length (chunked): the server counts bytes as they arrive."""
    chunk = b"#" * 65536

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "'
        for _ in range(10 * LIMIT_BYTES // len(chunk)):
            yield chunk
        yield b' { __typename }"}'

    async def send() -> httpx.Response:
        return await http.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )

    response, delay = await live_while(http, send)
    assert delay < LIVE_WITHIN
    assert response.status_code == 413
    assert first_error(response)["extensions"]["limitBytes"] == LIMIT_BYTES


async def test_a_ten_megabyte_comment_document_is_refused(http: httpx.AsyncClient) -> None:
    query = "#" * (10 * 2**20) + "\n{ __typename }"
    response = await http.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert first_error(response)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_document_over_its_own_size_limit_is_refused(api: Api) -> None:
    error = await api.fail("#" * (200 * 1024) + "\n{ __typename }")
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "limitBytes": 100 * 1024}
    assert "GRAPHQL_MAX_DOCUMENT_KB" in error["message"]


async def test_comments_count_toward_the_token_limit(api: Api) -> None:
    error = await api.fail("#\n" * 3000 + "{ __typename }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "2000 tokens" in error["message"]


async def test_a_long_query_string_is_refused_and_a_small_limit_applies_to_bodies(
    settings: Settings, container: Container
) -> None:
    """MAX_REQUEST_KB also caps GET query strings (HTTP clients stop at 64 KB URLs)."""
    small = dataclasses.replace(settings, max_request_kb=16)
    transport = httpx.ASGITransport(app=create_app(small, container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        query = "{ __typename }" + " " * (20 * 1024)
        got = await client.get("/graphql", params={"query": query})
        assert got.status_code == 414
        assert first_error(got)["extensions"] == {"code": "BAD_USER_INPUT", "limitBytes": 16384}
        assert "POST" in first_error(got)["message"]
        posted = await client.post("/graphql", json={"query": query})
        assert posted.status_code == 413
        fits = await client.post("/graphql", json={"query": query[: 15 * 1024]})
        assert fits.json()["data"] == {"__typename": "Query"}


# --- query cost: me.account.users.account.users with 100-item pages took 5 s ---------------


async def test_the_nested_users_query_is_refused_before_execution(api: Api) -> None:
    seller = await api.sign_up()
    response = await api.post("{ " + nested_users() + " }", token=seller.token)
    payload = response.json()
    error = payload["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["cost"] == {"requested": 20403, "limit": MAX_COST}
    assert "20403" in error["message"] and str(MAX_COST) in error["message"]
    assert "first" in error["message"]
    assert payload["data"] is None
    assert payload["extensions"]["cost"] == {"requested": 20403, "limit": MAX_COST}


async def test_thirty_aliased_copies_are_refused_while_the_server_stays_live(
    api: Api, http: httpx.AsyncClient
) -> None:
    seller = await api.sign_up()
    query = "{ " + " ".join(f"u{i}: {nested_users()}" for i in range(30)) + " }"

    async def send() -> httpx.Response:
        return await api.post(query, token=seller.token)

    response, delay = await live_while(http, send)
    assert delay < LIVE_WITHIN
    assert first_error(response)["extensions"]["cost"] == {
        "requested": 30 * 20403,
        "limit": MAX_COST,
    }


async def test_variables_used_for_first_count_in_the_cost(api: Api) -> None:
    seller = await api.sign_up()
    query = "query Q($n: Int) { " + nested_users("$n") + " }"
    refused = await api.post(query, {"n": 100}, token=seller.token)
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    accepted = await api.post(query, {"n": 5}, token=seller.token)
    payload = accepted.json()
    assert "errors" not in payload
    inner = payload["data"]["me"]["account"]["users"]["edges"][0]["node"]["account"]
    assert inner["users"]["edges"][0]["node"]["email"] == seller.email
    assert payload["extensions"]["cost"] == {"requested": 3 + 5 * (4 + 5 * 2), "limit": MAX_COST}


async def test_every_response_reports_its_cost(api: Api, http: httpx.AsyncClient) -> None:
    seller = await api.sign_up()
    me = await api.post(operation("Me"), token=seller.token)
    assert me.json()["extensions"]["cost"] == {"requested": 2, "limit": MAX_COST}
    syntax = await api.post("{ me {")
    assert syntax.json()["extensions"]["cost"] == {"requested": 0, "limit": MAX_COST}
    not_json = await http.post(
        "/graphql", content=b"null", headers={"content-type": "application/json"}
    )
    assert not_json.json()["extensions"]["cost"]["limit"] == MAX_COST


async def test_every_documented_query_runs_at_the_largest_page_size(api: Api) -> None:
    seller = await api.sign_up()
    for name in ("Datasets", "Experiments", "Campaigns", "Discounts"):
        response = await api.post(operation(name), {"first": 100}, token=seller.token)
        payload = response.json()
        assert "errors" not in payload, (name, payload)
        assert payload["extensions"]["cost"]["requested"] <= MAX_COST


# --- 26 distinct inputs gave a 500 --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        (b"null", "JSON object"),
        (b'"x"', "JSON object"),
        (b"1", "JSON object"),
        (b"true", "JSON object"),
        (b"1.5e999", "JSON object"),
        (b"[]", "Batching"),
        (b'[{"query": "{ __typename }"}]', "Batching"),
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"query": "\xff"}', "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "too deeply"),
        (b'{"query": 1}', "`query` must be a string"),
        (b'{"query": ["{ __typename }"]}', "`query` must be a string"),
        (b'{"query": "{ __typename }", "variables": []}', "`variables` must be an object"),
        (b'{"query": "{ __typename }", "variables": "x"}', "`variables` must be an object"),
        (b'{"query": "{ __typename }", "operationName": 1}', "`operationName` must be a string"),
        (b'{"query": "{ __typename }", "extensions": 1}', "`extensions` must be an object"),
        (b"{}", "No GraphQL query"),
    ],
    ids=lambda value: value[:24] if isinstance(value, bytes) else None,
)
@pytest.mark.parametrize("accept", ["application/json", GQL_RESPONSE])
async def test_malformed_requests_are_coded_400s(
    http: httpx.AsyncClient, body: bytes, message_part: str, accept: str
) -> None:
    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json", "accept": accept}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(accept)
    error = first_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message_part in error["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_an_unsupported_content_type_is_a_coded_415(
    http: httpx.AsyncClient, content_type: str
) -> None:
    body = b'{"query": "{ __typename }"}'
    # A browser can send these cross-site without a preflight: the CSRF rule answers first.
    csrf = await http.post("/graphql", content=body, headers={"content-type": content_type})
    assert csrf.status_code == 400
    assert "GraphQL-Require-Preflight" in first_error(csrf)["message"]
    response = await http.post(
        "/graphql",
        content=body,
        headers={"content-type": content_type, "graphql-require-preflight": "1"},
    )
    assert response.status_code == 415
    error = first_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "application/json" in error["message"]


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_over_http_is_told_to_use_the_websocket(
    http: httpx.AsyncClient, method: str
) -> None:
    query = "subscription { runUpdates { id } }"
    if method == "POST":
        response = await http.post("/graphql", json={"query": query})
    else:
        response = await http.get(
            "/graphql", params={"query": query}, headers={"accept": "application/json"}
        )
    assert response.status_code == 400
    error = first_error(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "WebSocket" in error["message"]


async def test_a_subscription_asking_for_server_sent_events_is_refused_too(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql",
        json={"query": "subscription { runUpdates { id } }"},
        headers={"accept": "text/event-stream, application/json"},
    )
    assert response.status_code == 400
    assert "WebSocket" in first_error(response)["message"]


async def test_an_undefined_fragment_is_bad_user_input(api: Api) -> None:
    for query in (
        "{ ...Missing }",
        "{ __typename ...Missing }",
        "{ ...A } fragment A on Query { ...B }",
    ):
        error = await api.fail(query)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", query
        assert "Unknown fragment" in error["message"]


async def test_a_fragment_cycle_is_bad_user_input(api: Api) -> None:
    error = await api.fail("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "within itself" in error["message"]


async def test_several_operations_need_an_operation_name(http: httpx.AsyncClient) -> None:
    query = "query A { a: __typename } query B { b: __typename }"
    unnamed = await http.post("/graphql", json={"query": query})
    error = first_error(unnamed)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "operationName" in error["message"]
    named = await http.post("/graphql", json={"query": query, "operationName": "B"})
    assert named.json()["data"] == {"b": "Query"}
    unknown = await http.post("/graphql", json={"query": query, "operationName": "C"})
    assert unknown.status_code == 400
    assert first_error(unknown)["extensions"]["code"] == "BAD_USER_INPUT"


async def test_suggestions_are_off_when_introspection_is_off(
    settings: Settings, container: Container
) -> None:
    closed = dataclasses.replace(settings, graphql_introspection=False)
    transport = httpx.ASGITransport(app=create_app(closed, container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        api = Api(client)
        field = await api.fail("{ me { emial } }")
        assert field["message"] == "Cannot query field 'emial' on type 'User'."
        introspection = await api.fail("{ __schema { types { name } } }")
        assert introspection["extensions"]["code"] == "BAD_USER_INPUT"
        seller = await api.sign_up()
        enum = await api.fail(
            "query($r: Role) { me { account { users(role: $r) { totalCount } } } }",
            {"r": "OWNR"},
            token=seller.token,
        )
        assert "Did you mean" not in enum["message"]
