"""GraphQL over HTTP: media types, status codes, limits, and the graphql-http audit."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from server.health import code_heads
from tests.support.api import Api
from tests.support.node import node_clients

HEAD = ", ".join(code_heads())

GQL_RESPONSE = "application/graphql-response+json"


def test_the_server_passes_the_graphql_http_audit(server_process: str) -> None:
    """The graphql-http npm package's audit: no MUST failure and no SHOULD warning."""
    folder = node_clients()
    run = subprocess.run(
        ["node", "audit.mjs", f"{server_process}/graphql"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    summary = lines[-1]
    problems = [line for line in lines[:-1] if line["status"] != "ok"]
    assert summary["total"] > 50, run.stdout + run.stderr
    assert problems == [], problems
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"query": "{ me { id "}, "Syntax Error"),
        ({"query": "{ nope }"}, "Cannot query field 'nope'"),
        (
            {
                "query": "query($n: Int) { datasets(first: $n) { totalCount } }",
                "variables": {"n": "x"},
            },
            "Int cannot represent",
        ),
        ({"query": "{ me { id } }", "variables": "not an object"}, "variables"),
        ({"variables": {}}, "No GraphQL query"),
    ],
    ids=["syntax", "unknown-field", "variable-type", "variables-not-object", "no-query"],
)
@pytest.mark.parametrize("accept", ["application/json", GQL_RESPONSE])
async def test_request_errors_are_bad_user_input(
    http: httpx.AsyncClient, body: dict, message_part: str, accept: str
) -> None:
    response = await http.post("/graphql", json=body, headers={"accept": accept})
    payload = response.json()
    assert response.headers["content-type"].startswith(accept)
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert message_part in payload["errors"][0]["message"]
    if accept == GQL_RESPONSE:
        assert response.status_code == 400
        assert "data" not in payload


async def test_malformed_json_is_a_400_with_a_json_error(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_unacceptable_accept_header_is_406(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": "application/xml"}
    )
    assert response.status_code == 406


async def test_execution_errors_keep_data_and_200_under_the_new_media_type(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"accept": GQL_RESPONSE}
    )
    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Sign in first: send the header Authorization: Bearer <accessToken>.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["me"],
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ],
        "extensions": {"cost": {"requested": 1, "limit": 5000}},
    }


async def test_queries_work_over_get_and_mutations_do_not(
    api: Api, http: httpx.AsyncClient
) -> None:
    seller = await api.sign_up()
    headers = {"authorization": f"Bearer {seller.token}", "accept": "application/json"}
    got = await http.get("/graphql", params={"query": "{ me { email } }"}, headers=headers)
    assert got.json()["data"] == {"me": {"email": seller.email}}
    mutation = 'mutation { login(input: {email: "a@b.co", password: "x"}) { accessToken } }'
    refused = await http.get("/graphql", params={"query": mutation}, headers=headers)
    assert refused.status_code in (400, 405)
    assert "errors" in refused.json()


async def test_too_deep_queries_are_refused(api: Api) -> None:
    seller = await api.sign_up()
    deep = "{ me { account { users { edges { node { account { users { edges { node { account { users { edges { node { id } } } } } } } } } } } } } }"  # noqa: E501
    error = await api.fail(deep, token=seller.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "exceeds maximum operation depth" in error["message"]


async def test_too_many_aliases_are_refused(api: Api) -> None:
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    error = await api.fail(query)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "aliases" in error["message"]


async def test_oversized_documents_are_refused(api: Api) -> None:
    query = "{ " + " ".join("__typename" for _ in range(2100)) + " }"
    error = await api.fail(query)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "token" in error["message"].lower()


async def test_graphiql_is_served_to_browsers_with_the_documented_operations(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert "mutation SignUp" in page.text
    assert "query Experiments" in page.text


async def test_health_endpoints(http: httpx.AsyncClient) -> None:
    assert (await http.get("/health/live")).json() == {"status": "ok"}
    ready = await http.get("/health/ready")
    assert ready.json() == {"status": "ok", "database": "up", "schema": f"at {HEAD}"}


async def test_every_response_carries_a_request_id(http: httpx.AsyncClient) -> None:
    given = await http.get("/health/live", headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    fresh = await http.get("/health/live", headers={"x-request-id": "bad id with spaces"})
    assert fresh.headers["x-request-id"] != "bad id with spaces"
    assert len(fresh.headers["x-request-id"]) == 32
