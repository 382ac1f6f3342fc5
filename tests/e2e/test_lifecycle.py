"""Start-up checks and readiness, against real `mlproject` processes.

Start-up: a wrong DATABASE_URL or REDIS_URL, an unreachable server, a missing or unmigrated
database make `serve`, `worker` and `migrate` fail in one sentence naming the setting, never
with a traceback. Readiness: /health/ready answers 503 naming what is wrong when the schema is
behind the code or (production mode) Redis is down.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from alembic import command

from server.health import code_heads
from server.migrate import alembic_config, upgrade_async
from tests.support.services import (
    create_postgres_database,
    drop_postgres_database,
    free_port,
    require_service,
)

ROOT = Path(__file__).resolve().parents[2]
HEAD = ", ".join(code_heads())
SECRET = "lifecycle-tests-secret-key-long-enough"


def mlproject(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def base_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        SECRET_KEY=SECRET,
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/mlflow.db",
        LOG_LEVEL="INFO",
        **values,
    )
    return env


def assert_one_sentence(result: subprocess.CompletedProcess, *words: str) -> None:
    """Failed, no traceback, one line on stderr naming the setting (and the fix)."""
    assert result.returncode in (1, 2), result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest_asyncio.fixture
async def empty_postgres() -> AsyncIterator[str]:
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


@pytest.mark.parametrize(
    ("command_", "url", "words"),
    [
        ("serve", "mysql://root@127.0.0.1/shop", ["DATABASE_URL", "postgresql+asyncpg://"]),
        ("worker", "mysql://root@127.0.0.1/shop", ["DATABASE_URL", "postgresql+asyncpg://"]),
        ("migrate", "not a url", ["DATABASE_URL"]),
    ],
)
def test_a_database_url_of_the_wrong_kind_is_one_sentence(
    tmp_path: Path, command_: str, url: str, words: list[str]
) -> None:
    env = base_env(tmp_path, DATABASE_URL=url, REDIS_URL="redis://127.0.0.1:6379/14")
    result = mlproject(env, command_)
    assert_one_sentence(result, *words)
    assert result.returncode == 2


@pytest.mark.parametrize("command_", ["serve", "worker", "migrate"])
def test_an_unreachable_database_server_is_one_sentence(tmp_path: Path, command_: str) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/shop"
    env = base_env(tmp_path, DATABASE_URL=url, REDIS_URL="redis://127.0.0.1:6379/14")
    assert_one_sentence(mlproject(env, command_), "DATABASE_URL", "Cannot reach")


@pytest.mark.parametrize("command_", ["serve", "migrate"])
def test_a_missing_postgres_database_says_how_to_create_it(tmp_path: Path, command_: str) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/mlp_lifecycle_no_such_db"
    result = mlproject(base_env(tmp_path, DATABASE_URL=url), command_)
    assert_one_sentence(result, "DATABASE_URL", "does not exist", "createdb")


@pytest.mark.parametrize("command_", ["serve", "worker"])
async def test_a_shared_database_behind_the_code_says_migrate(
    tmp_path: Path, empty_postgres: str, command_: str
) -> None:
    await upgrade_async(empty_postgres, "0002")
    env = base_env(tmp_path, DATABASE_URL=empty_postgres, REDIS_URL="redis://127.0.0.1:6379/14")
    result = await asyncio.to_thread(mlproject, env, command_)
    assert_one_sentence(result, "DATABASE_URL", "behind: at 0002", "mlproject migrate")


async def test_postgres_urls_without_a_driver_are_accepted(
    tmp_path: Path, empty_postgres: str
) -> None:
    plain = empty_postgres.replace("postgresql+asyncpg://", "postgres://")
    result = await asyncio.to_thread(mlproject, base_env(tmp_path, DATABASE_URL=plain), "migrate")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command_", "redis_url", "words", "code"),
    [
        ("serve", "http://127.0.0.1:6379", ["REDIS_URL", "redis://"], 2),
        ("worker", "redis://127.0.0.1:notaport/0", ["REDIS_URL"], 2),
        ("serve", "redis://127.0.0.1:{port}/0", ["REDIS_URL", "Cannot reach Redis"], 1),
        ("worker", "redis://127.0.0.1:{port}/0", ["REDIS_URL", "Cannot reach Redis"], 1),
    ],
)
def test_a_bad_or_unreachable_redis_is_one_sentence(
    tmp_path: Path, command_: str, redis_url: str, words: list[str], code: int
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/data/mlproject.db"
    env = base_env(tmp_path, DATABASE_URL=database, REDIS_URL=redis_url.format(port=free_port()))
    if command_ == "worker":
        without_redis = {k: v for k, v in env.items() if k != "REDIS_URL"}
        assert mlproject(without_redis, "migrate").returncode == 0
    result = mlproject(env, command_)
    assert_one_sentence(result, *words)
    assert result.returncode == code


# Readiness -------------------------------------------------------------------------------


class Server:
    """One `mlproject serve` process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"server did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def ready(server: Server) -> httpx.Response:
    return httpx.get(f"{server.url}/health/ready", timeout=10)


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def migrated_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/ready.db"
    else:
        url = await create_postgres_database()
    await upgrade_async(url)
    yield url
    if request.param == "postgresql":
        await drop_postgres_database(url)


async def test_readiness_fails_while_the_schema_is_behind_the_code(
    tmp_path: Path, migrated_database: str
) -> None:
    server = Server(base_env(tmp_path, DATABASE_URL=migrated_database), tmp_path / "serve.log")
    try:
        await asyncio.to_thread(server.wait_ready)
        assert ready(server).json() == {"status": "ok", "database": "up", "schema": f"at {HEAD}"}
        config = alembic_config(migrated_database)
        await asyncio.to_thread(command.downgrade, config, "0002")
        behind = await asyncio.to_thread(ready, server)
        assert behind.status_code == 503
        assert behind.json() == {
            "status": "unavailable",
            "database": "up",
            "schema": f"behind: at 0002, code needs {HEAD}",
        }
        await upgrade_async(migrated_database)
        assert (await asyncio.to_thread(ready, server)).status_code == 200
    finally:
        server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, tuple[Callable[[], None], ...]]]:
    """A redis-server of this test's own (the shared one is never stopped)."""
    binary = shutil.which("redis-server")
    require_service(binary is not None, "redis-server is not installed")
    assert binary is not None
    port = free_port()
    processes: list[subprocess.Popen] = []

    def start() -> None:
        processes.append(
            subprocess.Popen(
                [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import redis

                if redis.Redis(port=port, socket_timeout=1).ping():
                    return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop() -> None:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        processes.clear()

    start()
    yield f"redis://127.0.0.1:{port}/0", (start, stop)
    stop()


async def test_readiness_fails_while_redis_is_down_in_production_mode(
    tmp_path: Path, empty_postgres: str, own_redis: tuple[str, tuple[Callable[[], None], ...]]
) -> None:
    redis_url, (start_redis, stop_redis) = own_redis
    await upgrade_async(empty_postgres)
    env = base_env(tmp_path, DATABASE_URL=empty_postgres, REDIS_URL=redis_url)
    server = Server(env, tmp_path / "serve.log")
    try:
        await asyncio.to_thread(server.wait_ready)
        assert ready(server).json()["redis"] == "up"
        stop_redis()
        started = time.monotonic()
        down = await asyncio.to_thread(ready, server)
        assert time.monotonic() - started < 8  # short timeouts: the probe itself never hangs
        assert down.status_code == 503
        assert down.json() == {
            "status": "unavailable",
            "database": "up",
            "schema": f"at {HEAD}",
            "redis": "down",
        }
        start_redis()
        assert (await asyncio.to_thread(ready, server)).status_code == 200
    finally:
        server.stop()
