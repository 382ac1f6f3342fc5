"""GraphQL throughput against a bare Starlette floor, measured in the same run.

Starts the real server (`mlproject serve`) and benchmarks/bare_app.py (same token check, same
views, same SQL, the same JSON written by hand) on a seeded database, loads each with the same
client (benchmarks/loadgen.py, its own process) at the same concurrency, and prints requests
per second, p50 and p99 latency, and GraphQL/bare ratios, for `me` and for a 20-experiment
page with each experiment's dataset and runs. On PostgreSQL a third target, the physical
floor (benchmarks/asyncpg_floor.py: one hand-written asyncpg query and `json.dumps`), serves
the same page; its ratios say what the layers above the database driver cost.

    .venv/bin/python benchmarks/graphql_throughput.py --seconds 10 --concurrency 16
    .venv/bin/python benchmarks/graphql_throughput.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Goal: the GraphQL path at 0.6 of the bare floor or better (ratio >= 0.6).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.loadgen import fetch, run_load  # noqa: E402
from domain.model.runs import Run, RunConfig, RunStatus  # noqa: E402
from server.bootstrap import build  # noqa: E402
from server.config import Settings  # noqa: E402
from server.migrate import upgrade_async  # noqa: E402
from tests.support.api import GENEROUS_LIMITS  # noqa: E402
from tests.support.services import free_port  # noqa: E402

EXPERIMENTS_QUERY = (ROOT / "graphql" / "operations" / "Experiments.graphql").read_text()
ME_QUERY = "query Me { me { id email role } }"
SECRET = "benchmark-secret-key-of-sufficient-length"


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


async def seed(settings: Settings, experiments: int) -> str:
    """One seller with `experiments` experiments (2 datasets), 3 runs each; returns a token."""
    await upgrade_async(settings.database_url)
    container = build(settings)
    try:
        session = await container.accounts.sign_up("Bench", "bench@example.com", "a long password")
        principal = container.accounts.authenticate(session.tokens.access_token)
        datasets = []
        for number in range(2):

            async def chunks() -> AsyncIterator[bytes]:
                yield b"date,price,units\n2026-01-01,10.5,3\n2026-01-02,11.0,4\n"

            datasets.append(await container.datasets.upload(principal, f"d{number}", chunks()))
        from domain.model.experiments import ProblemType

        now = container.clock.now()
        async with container.uow() as uow:
            for position in range(experiments):
                experiment = await container.experiments.create(
                    principal,
                    dataset_id=datasets[position % 2].id,
                    name=f"e{position}",
                    description=None,
                    problem_type=ProblemType.REGRESSION,
                    target="units",
                    metric=None,
                )
                for attempt in range(3):
                    run = Run.queue(principal.account_id, experiment.id, RunConfig(), now)
                    run.queued_at = now + timedelta(seconds=position * 10 + attempt)
                    if attempt == 0:
                        run.move_to(RunStatus.RUNNING, now)
                    await uow.runs.add(run)
            await uow.commit()
        # A long-lived token: the run must not outlast it.
        return session.tokens.access_token
    finally:
        await container.aclose()


def start(command: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen:
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}{probe}", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    assert process.stderr is not None  # stderr=PIPE
    raise RuntimeError(f"{command} did not start: {process.stderr.read().decode()[-2000:]}")


def _load_in_child(args: tuple) -> tuple[list[float], int]:
    url, body, headers, concurrency, seconds = args
    return asyncio.run(run_load(url, body, headers, concurrency, seconds))


def measure(
    url: str,
    body: bytes,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    pool: multiprocessing.pool.Pool,
) -> Figures:
    pool.apply(_load_in_child, ((url, body, headers, concurrency, min(2.0, seconds)),))  # warm-up
    latencies, errors = pool.apply(_load_in_child, ((url, body, headers, concurrency, seconds),))
    latencies.sort()
    return Figures(
        rps=len(latencies) / seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
        errors=errors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--experiments", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per target")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mlproject-bench-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{workdir}/bench.db"
    settings = Settings(
        data_dir=workdir,
        database_url=database_url,
        secret_key=SECRET,
        artifacts_dir=workdir / "artifacts",
        access_token_minutes=120,
    )
    token = asyncio.run(seed(settings, args.experiments))
    graphql_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(workdir),
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
        "ACCESS_TOKEN_MINUTES": "120",
        # The per-account check still runs on every request (its cost is part of the
        # figure); only the allowance is raised so the load cannot trip it.
        **GENEROUS_LIMITS,
    }
    postgres = database_url.startswith("postgresql")
    floor_port = free_port()
    servers = [
        start(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(graphql_port)],
            env,
            graphql_port,
            "/graphql",
        ),
        start(
            [sys.executable, "benchmarks/bare_app.py", str(bare_port)],
            {**env, "PYTHONPATH": str(ROOT)},
            bare_port,
            "/me",
        ),
    ]
    if postgres:
        servers.append(
            start(
                [sys.executable, "benchmarks/asyncpg_floor.py", str(floor_port)],
                {**env, "PYTHONPATH": str(ROOT)},
                floor_port,
                "/experiments",
            )
        )
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    cases = {
        "me": (ME_QUERY, {}, "/me"),
        f"experiments({args.experiments}) + dataset + runs": (
            EXPERIMENTS_QUERY,
            {"first": args.experiments},
            "/experiments",
        ),
    }
    try:
        print(
            f"concurrency {args.concurrency}, {args.seconds:g} s per measurement, "
            f"database {database_url.split(':')[0]}, {os.cpu_count()} cores"
        )
        print(f"{'case':42} {'target':8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            for name, (query, variables, path) in cases.items():
                body = json.dumps({"query": query, "variables": variables}).encode()
                graphql_url = f"http://127.0.0.1:{graphql_port}/graphql"
                bare_url = f"http://127.0.0.1:{bare_port}{path}"
                targets = {"graphql": graphql_url, "bare": bare_url}
                if postgres and path == "/experiments":
                    targets["physical"] = f"http://127.0.0.1:{floor_port}{path}"
                answer = json.loads(fetch(graphql_url, body, headers)[1])
                same = {
                    target: json.loads(fetch(url, body, headers)[1]) == answer
                    for target, url in targets.items()
                }
                # Alternate the targets for several rounds and keep each one's median round,
                # so that drift in the machine's load does not favour either side.
                rounds: dict[str, list[Figures]] = {target: [] for target in targets}
                for _ in range(args.rounds):
                    for target, url in targets.items():
                        rounds[target].append(
                            measure(url, body, headers, args.concurrency, args.seconds, pool)
                        )
                results = {
                    target: sorted(figures, key=lambda f: f.rps)[len(figures) // 2]
                    for target, figures in rounds.items()
                }
                for target, figures in results.items():
                    print(
                        f"{name:42} {target:8} {figures.rps:9.0f} {figures.p50_ms:8.2f} "
                        f"{figures.p99_ms:8.2f} {figures.errors:6d}"
                    )
                ratio = results["graphql"].rps / results["bare"].rps
                print(
                    f"{name:42} {'ratio':8} {ratio:9.2f}  (GraphQL/bare req/s; goal >= 0.6; "
                    f"same JSON: {'yes' if same['bare'] else 'NO'})"
                )
                if "physical" in results:
                    physical = results["physical"].rps
                    print(
                        f"{name:42} {'ratio':8} {results['graphql'].rps / physical:9.2f}  "
                        "(GraphQL/physical floor req/s)"
                    )
                    print(
                        f"{name:42} {'ratio':8} {results['bare'].rps / physical:9.2f}  "
                        f"(bare/physical floor req/s; physical floor same JSON: "
                        f"{'yes' if same['physical'] else 'NO'})"
                    )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
