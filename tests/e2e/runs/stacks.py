"""Stacks a test builds for itself: its own settings and, where it must kill Redis, its own
redis-server on a free port (never the shared one)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis

from server.config import Settings
from server.migrate import upgrade
from tests.e2e.runs.conftest import REDIS_URL, SECRET, TIMINGS, Stack, _init_mlflow
from tests.support.services import create_postgres_database, drop_postgres_database, free_port


class OwnRedis:
    """A redis-server of the test's own, without persistence: a restart loses everything."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None


@asynccontextmanager
async def own_stack(
    root: Path,
    mode: str,
    env: dict[str, str] | None = None,
    redis_url: str | None = None,
    workers: int = 2,
) -> AsyncIterator[Stack]:
    """An embedded (SQLite, runs in the server) or production (PostgreSQL, Redis, workers)
    stack with extra settings; production uses `redis_url` or the tests' Redis database."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        **TIMINGS,
        "DATA_DIR": str(root / "data"),
        "SECRET_KEY": SECRET,
        "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db",
        "LOG_LEVEL": "INFO",
        "PORT": str(port),
        **(env or {}),
    }
    database_url = None
    if mode == "embedded":
        environment["DATABASE_URL"] = f"sqlite+aiosqlite:///{root}/data/mlproject.db"
    else:
        environment["REDIS_URL"] = redis_url or REDIS_URL
        if redis_url is None:
            redis.Redis.from_url(REDIS_URL).flushdb()
        database_url = await create_postgres_database()
        environment["DATABASE_URL"] = database_url
        await asyncio.to_thread(upgrade, database_url)
    await asyncio.to_thread(_init_mlflow, environment["MLFLOW_TRACKING_URI"])
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    stack = Stack(
        mode, f"http://127.0.0.1:{port}", environment, Settings.from_env(environment), logs
    )
    stack.start("server", "serve", "--port", str(port))
    if mode == "production":
        for number in range(1, workers + 1):
            stack.start(f"worker-{number}", "worker")
    try:
        await asyncio.to_thread(stack.wait_ready, 240)
        yield stack
    finally:
        stack.stop_all()
        if database_url:
            await drop_postgres_database(database_url)
