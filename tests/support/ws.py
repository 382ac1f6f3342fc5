"""A minimal graphql-transport-ws client (the protocol every modern GraphQL client speaks)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")


class SubscriptionError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(json.dumps(errors))
        self.errors = errors


class Connection:
    def __init__(self, socket: Any) -> None:
        self.socket = socket

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, wait_seconds: float = 60
    ) -> AsyncIterator[dict[str, Any]]:
        """Yields each `next` payload's data; ends on `complete`; raises on `error`."""
        operation_id = uuid.uuid4().hex
        await self.socket.send(
            json.dumps(
                {
                    "id": operation_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), wait_seconds))
            if message.get("type") == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
                continue
            if message.get("id") != operation_id:
                continue
            if message["type"] == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    raise SubscriptionError(payload["errors"])
                yield payload["data"]
            elif message["type"] == "error":
                raise SubscriptionError(message["payload"])
            elif message["type"] == "complete":
                return


@asynccontextmanager
async def connect(
    base_url: str, token: str | None, init_payload: dict[str, Any] | None = None
) -> AsyncIterator[Connection]:
    """Open, send connection_init with the token, and wait for connection_ack."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[PROTOCOL], open_timeout=10) as socket:
        payload = (
            init_payload
            if init_payload is not None
            else ({"authorization": f"Bearer {token}"} if token else {})
        )
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield Connection(socket)
