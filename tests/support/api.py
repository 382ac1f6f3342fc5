"""A small GraphQL client for the tests, speaking to an in-process app or a real server."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

OPERATIONS_DIR = Path(__file__).resolve().parents[2] / "graphql" / "operations"

# The suite signs up and logs in many times a second from 127.0.0.1: test servers get generous
# rate limits (tests of the limits themselves set strict ones).
GENEROUS_LIMITS = {
    "RATE_LIMIT_LOGIN_PER_IP": "100000/minute",
    "RATE_LIMIT_LOGIN_PER_EMAIL": "100000/minute",
    "RATE_LIMIT_SIGNUP_PER_IP": "100000/minute",
    "RATE_LIMIT_PER_ACCOUNT": "100000/minute",
    "RATE_LIMIT_PER_IP": "100000/minute",
}
GENEROUS_LIMIT_SETTINGS = {name.lower(): value for name, value in GENEROUS_LIMITS.items()}

SALES_CSV = (
    b"date,listing_id,category,price,promo,units_sold,revenue\n"
    b"2026-01-01,MLB100,phones,1999.9,true,12,23998.8\n"
    b"2026-01-02,MLB100,phones,1899.9,false,9,17099.1\n"
    b"2026-01-03,MLB200,audio,299.0,true,30,8970.0\n"
    b"2026-01-04,MLB200,audio,,false,25,\n"
    b"2026-01-05,MLB300,phones,2499.0,true,4,9996.0\n"
)


def operation(name: str) -> str:
    """A documented operation from graphql/operations/ (the tests use the real documents)."""
    return (OPERATIONS_DIR / f"{name}.graphql").read_text()


@dataclass
class Seller:
    token: str
    refresh_token: str
    user_id: str
    account_id: str
    email: str
    password: str


class GraphQLError(AssertionError):
    pass


class Api:
    """`ok` expects data, `fail` expects an error; both return what a client would see."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {"accept": "application/json", **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post("/graphql", json=body, headers=all_headers)

    async def ok(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables, token)
        payload = response.json()
        if payload.get("errors"):
            raise GraphQLError(json.dumps(payload["errors"], indent=1))
        assert response.status_code == 200
        return payload["data"]

    async def fail(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The first error of a response that must have failed (200, legacy JSON)."""
        response = await self.post(query, variables, token)
        payload = response.json()
        assert payload.get("errors"), f"expected an error, got {payload}"
        return payload["errors"][0]

    async def op(
        self, name: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        return await self.ok(operation(name), variables, token)

    async def sign_up(self, account_name: str = "Loja Teste") -> Seller:
        email = f"seller-{uuid.uuid4().hex[:10]}@example.com"
        password = "correct horse battery"
        data = await self.op(
            "SignUp",
            {"input": {"accountName": account_name, "email": email, "password": password}},
        )
        auth = data["signUp"]
        return Seller(
            token=auth["accessToken"],
            refresh_token=auth["refreshToken"],
            user_id=auth["user"]["id"],
            account_id=auth["user"]["account"]["id"],
            email=email,
            password=password,
        )

    async def add_user(self, owner: Seller, role: str) -> Seller:
        email = f"{role.lower()}-{uuid.uuid4().hex[:10]}@example.com"
        password = "another good password"
        await self.op(
            "AddUser", {"input": {"email": email, "password": password, "role": role}}, owner.token
        )
        data = await self.op("Login", {"input": {"email": email, "password": password}})
        login = data["login"]
        return Seller(
            login["accessToken"],
            login["refreshToken"],
            login["user"]["id"],
            owner.account_id,
            email,
            password,
        )

    async def upload(
        self,
        seller: Seller,
        content: bytes = SALES_CSV,
        name: str = "Sales 2026",
        filename: str = "sales.csv",
    ) -> httpx.Response:
        """A GraphQL multipart request (the spec every upload client implements)."""
        operations = {
            "query": operation("UploadDataset"),
            "variables": {"input": {"name": name, "file": None}},
        }
        return await self.http.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.input.file"]}),
            },
            files={"0": (filename, content, "text/csv")},
            headers={"authorization": f"Bearer {seller.token}", "accept": "application/json"},
        )

    async def dataset(
        self, seller: Seller, content: bytes = SALES_CSV, name: str = "Sales"
    ) -> dict:
        payload = (await self.upload(seller, content, name)).json()
        if payload.get("errors"):
            raise GraphQLError(json.dumps(payload["errors"], indent=1))
        return payload["data"]["uploadDataset"]["dataset"]

    async def experiment(self, seller: Seller, dataset_id: str, **fields: Any) -> dict:
        values = {
            "name": f"exp-{uuid.uuid4().hex[:8]}",
            "datasetId": dataset_id,
            "problemType": "REGRESSION",
            "target": "units_sold",
            **fields,
        }
        data = await self.op("CreateExperiment", {"input": values}, seller.token)
        return data["createExperiment"]["experiment"]
