"""A small, fast HTTP/1.1 keep-alive load generator (asyncio streams, one process).

`run_load(url, body, headers, concurrency, seconds)` returns latencies in seconds. It is
deliberately minimal so that the client, not the server, is rarely the bottleneck; both
targets of a comparison are loaded by this same code.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit


def _request(url: str, body: bytes, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.hostname}:{parts.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    return parts.hostname or "127.0.0.1", parts.port or 80, "\r\n".join(lines).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


async def _worker(
    host: str, port: int, payload: bytes, deadline: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while (started := time.perf_counter()) < deadline:
            writer.write(payload)
            status, _ = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            errors += status != 200
    finally:
        writer.close()
    return errors


async def run_load(
    url: str, body: bytes, headers: dict[str, str], concurrency: int, seconds: float
) -> tuple[list[float], int]:
    """Latencies of every completed request, and how many were not 200."""
    host, port, payload = _request(url, body, headers)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    errors = await asyncio.gather(
        *(_worker(host, port, payload, deadline, latencies) for _ in range(concurrency))
    )
    return latencies, sum(errors)


def fetch(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request, for checking what a target answers."""

    async def once() -> tuple[int, bytes]:
        host, port, payload = _request(url, body, headers)
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(payload)
        try:
            return await _read_response(reader)
        finally:
            writer.close()

    return asyncio.run(once())
