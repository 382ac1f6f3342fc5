"""Fixtures: every back end for real (SQLite and PostgreSQL), in-process and real-server HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from server.app import create_app
from server.bootstrap import Container, build
from server.config import Settings
from server.migrate import upgrade_async
from tests.support.api import GENEROUS_LIMIT_SETTINGS, GENEROUS_LIMITS, Api
from tests.support.services import create_postgres_database, drop_postgres_database, free_port

ROOT = Path(__file__).resolve().parents[1]
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"
UPLOAD_LIMIT_MB = 1


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A migrated, empty database of each kind, shared by the session (tests use own accounts)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite')}/mlproject.db"
    else:
        url = await create_postgres_database()
    await upgrade_async(url)
    yield url
    if request.param == "postgresql":
        await drop_postgres_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=TEST_SECRET,
        artifacts_dir=data_dir / "artifacts",
        mlflow_tracking_uri=f"sqlite:///{data_dir}/mlflow.db",
        max_upload_bytes=UPLOAD_LIMIT_MB * 2**20,
        ws_auth_recheck_seconds=1.0,
        **GENEROUS_LIMIT_SETTINGS,  # type: ignore[arg-type]
    )


@pytest_asyncio.fixture(scope="session")
async def container(settings: Settings) -> AsyncIterator[Container]:
    built = build(settings)
    yield built
    await built.aclose()


def server_env(settings: Settings, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(settings.data_dir),
        "ARTIFACTS_DIR": str(settings.artifacts_dir),
        "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "SECRET_KEY": TEST_SECRET,
        "MAX_UPLOAD_MB": str(UPLOAD_LIMIT_MB),
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **GENEROUS_LIMITS,
        "WS_AUTH_RECHECK_SECONDS": "1",
        # The discount scheduler of a shared test server would act on other tests' discounts
        # in the shared database: it ticks only where a test asks for it (extra_env).
        "SCHEDULER_TICK_SECONDS": "86400",
    }


@contextmanager
def running_server(
    settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """A real `mlproject serve` process on a free port; yields its base URL."""
    port = free_port()
    log_path = log_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env={**server_env(settings, port), **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded CI machine can take a while to import
    while True:
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    try:
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


@pytest.fixture(scope="session")
def server_process(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlproject serve` process on a free port; yields its base URL."""
    with running_server(settings, tmp_path_factory.mktemp("server")) as base_url:
        yield base_url


@pytest_asyncio.fixture(scope="session", params=["inprocess", "process"])
async def http(
    request: pytest.FixtureRequest, settings: Settings, container: Container
) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP to the app: in-process (ASGI) and to a real server process."""
    if request.param == "inprocess":
        transport = httpx.ASGITransport(app=create_app(settings, container))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    else:
        base_url = await asyncio.to_thread(request.getfixturevalue, "server_process")
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            yield client


@pytest.fixture
def api(http: httpx.AsyncClient) -> Api:
    return Api(http)
