"""Reading a request body within a limit: Content-Length first, then the bytes as they stream.

Nothing past the limit is ever buffered: a declared length over the limit is refused before
a byte is read, and a streamed (chunked, or lying) body is refused at the chunk that would
cross it. Usable by any ASGI handler (the multipart upload path can reuse `declared_length`
and `read_limited`, or `iter_limited` to stream into a file).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.types import Message, Receive, Scope


class BodyTooLarge(Exception):
    """The request body (or query string) is larger than the limit."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        super().__init__(f"request larger than {limit} bytes")
        self.limit = limit
        self.size = size


class BadContentLength(Exception):
    """The Content-Length header is not a single non-negative integer."""


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the client declared, or None for a streamed body."""
    values = [v for k, v in scope.get("headers") or () if k == b"content-length"]
    if not values:
        return None
    if len(set(values)) != 1 or not values[0].strip().isdigit():
        raise BadContentLength(values[0].decode("latin-1"))
    return int(values[0])


def check_declared(scope: Scope, limit: int) -> None:
    """Refuse at once when the declared length is already over the limit."""
    length = declared_length(scope)
    if length is not None and length > limit:
        raise BodyTooLarge(limit, length)


async def iter_limited(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The body's chunks, refusing the one that would take the total past the limit."""
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(limit, None)
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def read_limited(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, if it fits in `limit` bytes."""
    check_declared(scope, limit)
    return b"".join([chunk async for chunk in iter_limited(receive, limit)])


async def discard(receive: Receive, max_bytes: int, seconds: float) -> None:
    """Read and drop the rest of a refused body, within bounds, so the client gets the answer.

    A server that answers while the client is still sending, and then closes, resets the
    connection: most clients then report a broken connection instead of the 413. Reading the
    remainder without keeping it (nginx's "lingering close") avoids that. Bodies declared
    larger than `max_bytes`, and clients slower than `seconds`, are not waited for.
    """

    async def drain() -> None:
        dropped = 0
        while dropped <= max_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return
            dropped += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(drain(), seconds)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over an already read body, then defers to the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
