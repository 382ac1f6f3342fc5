"""A real `mlproject serve` of a test module's own: started from an empty working directory,
with its own data and temporary directories, so tests can read its /proc figures and files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.services import create_postgres_database, drop_postgres_database, free_port

SECRET = "uploads-tests-secret-key-long-enough-for-hs256"
LIMIT_MB = 2


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen
    data_dir: Path
    cwd: Path
    tmp_dir: Path
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def written(self) -> int:
        """Bytes the server process has written so far (files and sockets alike)."""
        for line in Path(f"/proc/{self.pid}/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
        raise AssertionError("no wchar in /proc/<pid>/io")

    def temp_fds(self) -> list[str]:
        """Open descriptors of the server on files in its temporary directory."""
        found = []
        for fd in Path(f"/proc/{self.pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(str(self.tmp_dir)):
                found.append(target)
        return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    root = tmp_path_factory.mktemp(f"uploads-{request.param}")
    cwd, data_dir, tmp_dir = root / "cwd", root / "data", root / "tmp"
    cwd.mkdir()
    tmp_dir.mkdir()
    port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "MLFLOW_TRACKING_URI", "ARTIFACTS_DIR"}
        },
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": SECRET,
        "MAX_UPLOAD_MB": str(LIMIT_MB),
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "TMPDIR": str(tmp_dir),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    args = [sys.executable, "-m", "server.cli", "serve"]
    database_url = None
    if request.param == "postgresql":
        database_url = asyncio.run(create_postgres_database())
        env["DATABASE_URL"] = database_url
        args.append("--migrate")
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
    yield Served(base_url, process, data_dir, cwd, tmp_dir, log)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    if database_url:
        asyncio.run(drop_postgres_database(database_url))
