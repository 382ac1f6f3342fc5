"""GraphiQL for real: served from our own assets under a strict CSP, tabs in the walkthrough's
order with example variables, and off by default in production.

The page is checked without a browser (its HTML, headers and every asset it loads), in-process
and against a real `mlproject serve`. docs/security-graphiql.md describes the manual check in
headless Chromium with no internet.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from server.config import Settings
from server.migrate import upgrade
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "graphql" / "operations"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
WALKTHROUGH_START = [
    "SignUp",
    "Login",
    "Me",
    "UploadDataset",
    "Datasets",
    "CreateExperiment",
    "StartRun",
    "Run",
    "RunEvents",
    "PromoteModel",
    "Predict",
]


class PageParts(HTMLParser):
    """The URLs a browser would load for this page, and the contents of its script blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag, url)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append((tag, str(found[name])))
        if tag == "script":
            self._script, self._text = found, []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None


async def open_page(http: httpx.AsyncClient) -> tuple[httpx.Response, PageParts]:
    page = await http.get("/graphql", headers={"accept": BROWSER_ACCEPT})
    assert page.status_code == 200, page.text[:500]
    assert page.headers["content-type"].startswith("text/html")
    parts = PageParts()
    parts.feed(page.text)
    return page, parts


def page_config(parts: PageParts) -> dict:
    blocks = [text for attrs, text in parts.scripts if attrs.get("id") == "graphiql-config"]
    assert len(blocks) == 1
    return json.loads(blocks[0])


def operation_name(query: str) -> str:
    match = re.search(r"^(?:query|mutation|subscription)\s+(\w+)", query, re.M)
    return match.group(1) if match else ""


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


async def test_graphiql_page_carries_a_strict_content_security_policy(
    http: httpx.AsyncClient,
) -> None:
    page, _ = await open_page(http)
    csp = csp_directives(page.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    # styles: our files, plus by hash the one <style> GraphiQL's dialogs insert
    assert csp["style-src"][0] == "'self'"
    assert all(value.startswith("'sha256-") for value in csp["style-src"][1:])
    assert "unsafe" not in page.headers["content-security-policy"]
    assert csp["connect-src"][0] == "'self'"
    assert all(re.match(r"^wss?://[^*\s]+$", value) for value in csp["connect-src"][1:])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'none'"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_graphiql_page_has_no_inline_script(http: httpx.AsyncClient) -> None:
    _, parts = await open_page(http)
    for attrs, text in parts.scripts:
        if not attrs.get("src"):
            # a data block: the browser never runs it, so script-src 'self' holds
            assert attrs.get("type") == "application/json", text[:200]


async def test_every_asset_of_the_page_is_same_origin_and_served(
    http: httpx.AsyncClient,
) -> None:
    page, parts = await open_page(http)
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    origin = urlsplit(str(page.url))[:2]
    loaded = [(tag, url) for tag, url in parts.urls if not url.startswith("data:")]
    assert {tag for tag, _ in loaded} == {"link", "script"}
    for tag, url in loaded:
        absolute = urljoin(str(page.url), url)
        assert urlsplit(absolute)[:2] == origin, url
        asset = await http.get(absolute, headers={"accept-encoding": "gzip"})
        assert asset.status_code == 200, url
        kind = "javascript" if tag == "script" else "css"
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert "immutable" in asset.headers["cache-control"]
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert len(asset.content) > 100


async def test_the_graphiql_bundle_is_sent_compressed(http: httpx.AsyncClient) -> None:
    page, parts = await open_page(http)
    bundle = next(url for _, url in parts.urls if "graphiql.min.js" in url)
    response = await http.get(urljoin(str(page.url), bundle))
    assert response.headers.get("content-encoding") == "gzip"


async def test_tabs_follow_the_walkthrough_with_example_variables(
    http: httpx.AsyncClient,
) -> None:
    _, parts = await open_page(http)
    tabs = page_config(parts)["tabs"]
    welcome, *operations = tabs
    assert welcome["query"].startswith("# ML Project GraphQL API")
    assert "Authorization" in welcome["query"] and "Headers pane" in welcome["query"]
    names = [operation_name(tab["query"]) for tab in operations]
    assert names[: len(WALKTHROUGH_START)] == WALKTHROUGH_START
    assert sorted(names) == sorted(path.stem for path in OPERATIONS.glob("*.graphql"))
    for tab in operations:
        variables = json.loads(tab["variables"])
        if "$" in tab["query"]:
            assert variables, f"{operation_name(tab['query'])} has no example variables"
    signup = json.loads(operations[0]["variables"])["input"]
    assert set(signup) == {"accountName", "email", "password"}


async def test_tabs_hint_at_the_token_header(http: httpx.AsyncClient) -> None:
    _, parts = await open_page(http)
    config = page_config(parts)
    by_name = {operation_name(tab["query"]): tab for tab in config["tabs"]}
    for name in ("Me", "StartRun", "Predict"):
        headers = json.loads(by_name[name]["headers"])
        assert headers["Authorization"].startswith("Bearer <paste accessToken")
    assert by_name["SignUp"]["headers"] == ""
    assert json.loads(config["headers"])["Authorization"].startswith("Bearer <")


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlproject serve` with ENVIRONMENT=production and nothing said about GraphiQL."""
    data_dir = tmp_path_factory.mktemp("production")
    url = f"sqlite+aiosqlite:///{data_dir}/mlproject.db"
    upgrade(url)
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": "production-secret-key-long-enough-for-hs256",
        "DATABASE_URL": url,
        "DATA_DIR": str(data_dir),
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("GRAPHIQL", None)
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    yield base_url
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


async def test_production_serves_no_graphiql_by_default(production_server: str) -> None:
    async with httpx.AsyncClient(base_url=production_server, timeout=30) as http:
        browser = await http.get("/graphql", headers={"accept": BROWSER_ACCEPT})
        # a GET without a query, as the GraphQL-over-HTTP spec answers it: 400, JSON, no page
        assert browser.status_code == 400
        assert browser.headers["content-type"].startswith("application/json")
        assert browser.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "<html" not in browser.text
        html_only = await http.get("/graphql", headers={"accept": "text/html"})
        assert html_only.status_code == 406
        assert "<html" not in html_only.text
        assets = await http.get("/graphiql/static/graphiql.min.js")
        assert assets.status_code == 404
        query = await http.get("/graphql", params={"query": "{ __typename }"})
        assert query.json()["data"] == {"__typename": "Query"}


def test_graphiql_setting_defaults_and_overrides() -> None:
    production = {"ENVIRONMENT": "production", "SECRET_KEY": "k" * 32}
    assert Settings.from_env({}).graphiql is True
    assert Settings.from_env(production).graphiql is False
    assert Settings.from_env({**production, "GRAPHIQL": "true"}).graphiql is True
    assert Settings.from_env({"GRAPHIQL": "false"}).graphiql is False
