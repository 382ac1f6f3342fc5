"""Uploads and files, hardened (issue 7): checks before the body is read, a streaming cap,
temporary files that never outlive the request, malformed multipart, CSRF, a UTF-8 BOM,
MLflow and model files in the data directory, private modes, deletions that leave nothing.

The size, disk and descriptor findings were seen against a real `mlproject serve`, so those
tests start one (from an empty working directory, SQLite and PostgreSQL) and read its
/proc/<pid> figures: `wchar` (bytes the process wrote) and its open file descriptors.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.support import served as own_server
from tests.support.api import SALES_CSV, Api, Seller, operation
from tests.support.served import LIMIT_MB, Served

served = own_server.served  # the fixture: a real server started from an empty directory
MiB = 2**20
BOUNDARY = "----mlproject-test-boundary"
# A refused upload may cost the server a response, a log line and some bookkeeping: far less
# than the file. Old code wrote the whole body to a temporary file first.
SMALL_WRITE = 512 * 1024


@pytest_asyncio.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=120) as http:
        yield http


@pytest_asyncio.fixture
async def seller(client: httpx.AsyncClient) -> Seller:
    return await Api(client).sign_up()


def multipart_head(name: str = "big", filename: str = "big.csv") -> bytes:
    operations = {
        "query": operation("UploadDataset"),
        "variables": {"input": {"name": name, "file": None}},
    }
    return (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="operations"\r\n\r\n'
        f"{json.dumps(operations)}\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.input.file"]}\r\n'
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="0"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def csv_of_size(size: int) -> bytes:
    row = b"1234567890,abcdefghij,0.5\n"
    return (b"a,b,c\n" + row * (size // len(row) + 1))[:size].rsplit(b"\n", 1)[0] + b"\n"


async def stream_body(file_bytes: int, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    yield multipart_head()
    block = b"x" * chunk
    sent = 0
    while sent < file_bytes:
        piece = block[: min(chunk, file_bytes - sent)]
        sent += len(piece)
        yield piece
    yield TAIL


def upload_headers(token: str | None, length: int | None) -> dict[str, str]:
    headers = {
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        "accept": "application/json",
        "graphql-require-preflight": "1",
    }
    if token:
        headers["authorization"] = f"Bearer {token}"
    if length is not None:
        headers["content-length"] = str(length)
    return headers


async def live_latencies(base_url: str, during: asyncio.Task) -> list[float]:
    """GET /health/live over and over on a fresh connection while `during` runs."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as probe:
        while not during.done() or not latencies:
            started = time.perf_counter()
            response = await probe.get("/health/live")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
            await asyncio.sleep(0.05)
    return latencies


async def refused_while_probing(
    served: Served, token: str | None, file_bytes: int, declare_length: bool
) -> tuple[httpx.Response, int, list[float]]:
    """Send a big upload, probe liveness meanwhile; the answer, bytes written, latencies."""
    length = len(multipart_head()) + file_bytes + len(TAIL) if declare_length else None
    before = served.written()
    async with httpx.AsyncClient(base_url=served.base_url, timeout=120) as uploader:
        sending = asyncio.create_task(
            uploader.post(
                "/graphql",
                content=stream_body(file_bytes),
                headers=upload_headers(token, length),
            )
        )
        latencies = await live_latencies(served.base_url, sending)
        response = await sending
    return response, served.written() - before, latencies


# -- before the body is read -------------------------------------------------------------------


async def test_an_anonymous_upload_is_refused_before_any_byte_is_stored(served: Served) -> None:
    response, written, latencies = await refused_while_probing(
        served, token=None, file_bytes=64 * MiB, declare_length=True
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert written < SMALL_WRITE, f"the server wrote {written} bytes for a refused upload"
    assert max(latencies) < 1.0, latencies
    assert served.temp_fds() == []


async def test_a_bad_token_is_refused_before_any_byte_is_stored(served: Served) -> None:
    response, written, _ = await refused_while_probing(
        served, token="not-a-token", file_bytes=16 * MiB, declare_length=False
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert written < SMALL_WRITE


async def test_a_declared_oversized_upload_is_refused_before_it_is_read(
    served: Served, seller: Seller
) -> None:
    response, written, latencies = await refused_while_probing(
        served, token=seller.token, file_bytes=64 * MiB, declare_length=True
    )
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"larger than the {LIMIT_MB} MiB limit" in error["message"]
    assert written < SMALL_WRITE, f"the server wrote {written} bytes for a refused upload"
    assert max(latencies) < 1.0, latencies
    assert served.temp_fds() == []


async def test_a_chunked_upload_is_cut_off_at_the_limit(served: Served, seller: Seller) -> None:
    response, written, latencies = await refused_while_probing(
        served, token=seller.token, file_bytes=64 * MiB, declare_length=False
    )
    assert response.status_code == 413
    assert f"larger than the {LIMIT_MB} MiB limit" in response.json()["errors"][0]["message"]
    # At most the limit was spooled, not the 64 MiB that were sent.
    assert written < (LIMIT_MB + 1) * MiB, f"the server wrote {written} bytes"
    assert max(latencies) < 1.0, latencies
    assert served.temp_fds() == []


async def test_a_viewer_upload_is_refused_before_any_byte_is_stored(
    served: Served, client: httpx.AsyncClient, seller: Seller
) -> None:
    viewer = await Api(client).add_user(seller, "VIEWER")
    response, written, _ = await refused_while_probing(
        served, token=viewer.token, file_bytes=16 * MiB, declare_length=True
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert written < SMALL_WRITE


# -- temporary files -----------------------------------------------------------------------------


async def test_temporary_files_are_closed_and_removed_whatever_happens(
    served: Served, client: httpx.AsyncClient, seller: Seller
) -> None:
    api = Api(client)
    # Bigger than the 1 MiB kept in memory, so each of these is spooled to a real file.
    accepted = await api.upload(seller, csv_of_size(int(1.5 * MiB)), name="spooled")
    assert accepted.json()["data"]["uploadDataset"]["dataset"]["rowCount"] > 0
    too_big_file = await api.upload(seller, csv_of_size(LIMIT_MB * MiB + 100_000))
    assert too_big_file.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    not_csv = await api.upload(seller, b"\x00" * int(1.5 * MiB))
    assert "binary" in not_csv.json()["errors"][0]["message"]
    await disconnect_mid_upload(served, seller, sent_bytes=int(1.5 * MiB))
    for _ in range(100):  # the disconnect reaches the server a moment later
        if not served.temp_fds():
            break
        await asyncio.sleep(0.1)
    assert served.temp_fds() == []
    assert list(served.tmp_dir.iterdir()) == []
    assert not list(served.data_dir.rglob("*.part"))


async def disconnect_mid_upload(served: Served, seller: Seller, sent_bytes: int) -> None:
    """A client that goes away half way through its body."""
    host, port = served.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = multipart_head()
    total = len(head) + 4 * sent_bytes + len(TAIL)
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {seller.token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {total}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    writer.write(request + head + b"y" * sent_bytes)
    await writer.drain()
    await asyncio.sleep(0.5)  # let the server spool what it got
    writer.close()
    await writer.wait_closed()
    del reader


# -- malformed multipart and CSRF (in-process and a real server, both databases) -------------


def form(
    operations: str | None = None,
    files_map: str | None = None,
    file_part: bool = True,
    text_part: bool = False,
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    data: dict[str, str] = {}
    if operations is not None:
        data["operations"] = operations
    if files_map is not None:
        data["map"] = files_map
    files = {"0": ("sales.csv", SALES_CSV, "text/csv")} if file_part else {}
    if text_part:
        data["0"] = "not a file"
    return data, files


UPLOAD_OPERATIONS = json.dumps(
    {"query": operation("UploadDataset"), "variables": {"input": {"name": "x", "file": None}}}
)
GOOD_MAP = json.dumps({"0": ["variables.input.file"]})


@pytest.mark.parametrize(
    ("parts", "message_part"),
    [
        (form(UPLOAD_OPERATIONS, json.dumps([["variables.input.file"]])), "`map` part must be"),
        (form(UPLOAD_OPERATIONS, "{not json"), "not valid JSON"),
        (form(UPLOAD_OPERATIONS, json.dumps({"1": ["variables.input.file"]})), "no such part"),
        (form(None, GOOD_MAP), "no `operations` part"),
        (form("{not json", GOOD_MAP), "not valid JSON"),
        (form('"a string"', GOOD_MAP), "`operations` part must be"),
        (form(UPLOAD_OPERATIONS, GOOD_MAP, file_part=False, text_part=True), "must be a file"),
        (form(UPLOAD_OPERATIONS, json.dumps({"0": "variables.input.file"})), "list of paths"),
        (form(UPLOAD_OPERATIONS, json.dumps({"0": ["variables.nothing.here"]})), "placeholder"),
        (form(UPLOAD_OPERATIONS, None), "no `map` part"),
    ],
    ids=[
        "map-is-a-list",
        "map-not-json",
        "map-names-a-missing-part",
        "no-operations",
        "operations-not-json",
        "operations-not-an-object",
        "file-part-is-text",
        "map-entry-not-a-list",
        "map-path-missing",
        "no-map",
    ],
)
async def test_malformed_multipart_is_a_coded_400(
    api: Api,
    parts: tuple[dict[str, str], dict[str, tuple[str, bytes, str]]],
    message_part: str,
) -> None:
    seller = await api.sign_up()
    data, files = parts
    response = await api.http.post(
        "/graphql",
        data=data,
        files=files or {"unused": ("u.csv", b"a\n1\n", "text/csv")},
        headers={"authorization": f"Bearer {seller.token}", "accept": "application/json"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message_part in error["message"]


async def test_a_body_that_is_not_multipart_at_all_is_a_coded_400(api: Api) -> None:
    seller = await api.sign_up()
    response = await api.http.post(
        "/graphql",
        content=b"this is not a multipart body",
        headers={
            "authorization": f"Bearer {seller.token}",
            "content-type": "multipart/form-data",  # and no boundary
            "accept": "application/json",
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "text/plain", "application/x-www-form-urlencoded"],
)
async def test_a_cross_site_capable_request_needs_a_preflight_header(
    api: Api, content_type: str
) -> None:
    response = await api.http.post(
        "/graphql",
        content=b'{"query": "mutation { login(input: {}) { accessToken } }"}',
        headers={"content-type": content_type, "accept": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "GraphQL-Require-Preflight: 1" in error["message"]
    assert "Authorization" in error["message"]


async def test_a_preflighted_anonymous_upload_is_unauthenticated(api: Api) -> None:
    data, files = form(UPLOAD_OPERATIONS, GOOD_MAP)
    response = await api.http.post(
        "/graphql",
        data=data,
        files=files,
        headers={"graphql-require-preflight": "1", "accept": "application/json"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_json_requests_need_no_preflight_header(api: Api) -> None:
    # application/json always makes a browser ask first, so it is not a CSRF vector.
    await api.sign_up()


# -- a UTF-8 byte-order mark ----------------------------------------------------------------


async def test_a_csv_with_a_byte_order_mark_is_accepted(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller, "\ufeff".encode() + SALES_CSV)
    names = [c["name"] for c in dataset["columns"]]
    assert names[0] == "date"
    assert dataset["rowCount"] == 5
    date = next(c for c in dataset["columns"] if c["name"] == "date")
    assert date["dtype"] == "datetime"
