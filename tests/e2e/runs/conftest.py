"""Run stacks: embedded (SQLite, runs inside `mlproject serve`) and production (PostgreSQL,
Redis, two `mlproject worker` processes). Real processes, real WebSockets."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import redis

from server.config import Settings
from server.migrate import upgrade
from tests.support.api import GENEROUS_LIMITS, Api
from tests.support.services import (
    IN_CI,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    require_service,
)

ROOT = Path(__file__).resolve().parents[3]
SECRET = "run-tests-secret-key-long-enough-for-hs256"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
TIMINGS = {
    "HEARTBEAT_SECONDS": "0.5",
    "HEARTBEAT_TIMEOUT_SECONDS": "4",
    "SWEEP_SECONDS": "0.5",
    "MAX_RUN_ATTEMPTS": "3",
    "WORKER_CONCURRENCY": "1",
}


@dataclass
class Stack:
    """A running deployment the tests talk to over HTTP and WebSocket."""

    name: str
    base_url: str
    env: dict[str, str]
    settings: Settings
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, name: str, signum: signal.Signals, within: float = 30) -> float:
        """Send a polite signal; return how many seconds the process took to exit."""
        process = self.processes.pop(name)
        started = time.monotonic()
        process.send_signal(signum)
        try:
            process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        return time.monotonic() - started

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log"))
        )

    def wait_ready(self, within: float = 90) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if any(p.poll() is not None for p in self.processes.values()):
                break
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} stack did not start:\n{self.log_tail()}")


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def _init_mlflow(uri: str) -> None:
    """Create the tracking store once, before several processes open it at the same time."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.MlflowClient().search_experiments()


@pytest_asyncio.fixture(scope="session", params=["embedded", "production"])
async def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    root = tmp_path_factory.mktemp(request.param)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        **TIMINGS,
        **GENEROUS_LIMITS,
        "DATA_DIR": str(root / "data"),
        "SECRET_KEY": SECRET,
        "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db",
        "LOG_LEVEL": "INFO",
        "PORT": str(port),
    }
    database_url = None
    if request.param == "embedded":
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{root}/data/mlproject.db"
    else:
        require_service(_redis_available(), f"Redis is not reachable at {REDIS_URL}")
        redis.Redis.from_url(REDIS_URL).flushdb()
        database_url = await create_postgres_database()
        env["DATABASE_URL"] = database_url
        env["REDIS_URL"] = REDIS_URL
        await asyncio.to_thread(upgrade, database_url)
    await asyncio.to_thread(_init_mlflow, env["MLFLOW_TRACKING_URI"])
    settings = Settings.from_env(env)
    logs = root / "logs"
    logs.mkdir()
    deployment = Stack(request.param, f"http://127.0.0.1:{port}", env, settings, logs)
    deployment.start("server", "serve", "--port", str(port))
    if request.param == "production":
        deployment.start("worker-1", "worker")
        deployment.start("worker-2", "worker")
    try:
        await asyncio.to_thread(deployment.wait_ready)
    except RuntimeError:
        deployment.stop_all()  # no orphaned workers taking later sessions' jobs
        raise
    yield deployment
    deployment.stop_all()
    if database_url:
        await drop_postgres_database(database_url)
    if IN_CI:
        print(deployment.log_tail()[-2000:])


@pytest_asyncio.fixture(scope="session")
async def stack_http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as client:
        yield client


@pytest.fixture
def stack_api(stack_http: httpx.AsyncClient) -> Api:
    return Api(stack_http)


@pytest.fixture
def worker_pids(stack: Stack) -> Iterator[dict[str, int]]:
    yield {name: p.pid for name, p in stack.processes.items() if name.startswith("worker")}
