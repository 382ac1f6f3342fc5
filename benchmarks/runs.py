"""Run pipeline figures against a real server with Redis, PostgreSQL and 2 ARQ workers.

Prints, measured in one run:
  1. time from the startRun response to the run's RUNNING event (p50/p99);
  2. event latency, from the worker's publish (event.at) to the subscriber's receipt (p50/p99);
  3. cancelRun of a running run (a real training) to its CANCELED event at the subscriber
     (p50/p99);
  4. runs per second for trivial runs (a trainer that does nothing, so the figure is our own
     pipeline: API, database, queue, events) against bare ARQ no-op jobs on the same Redis with
     the same number of workers, and the ratio (our overhead); with the PostgreSQL commits and
     Redis commands per trivial run (and per bare job), counted by the servers.

    .venv/bin/python benchmarks/runs.py --runs 30 --cancels 20 --trivial 300

Goals: RUNNING within 100 ms p99, events within 50 ms p99, cancel within 1 s p99, overhead
ratio 4 or less (1.5 the long-run aim). Needs PostgreSQL on 127.0.0.1 and `redis-server` (a
private one is started, so that its command counts are this benchmark's alone; without the
binary, BENCH_REDIS_URL is used and the Redis counts include other clients').
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.model.runs import RunMetrics  # noqa: E402
from domain.ports import TrainingOutcome  # noqa: E402
from tests.support.api import (  # noqa: E402
    GENEROUS_LIMITS,
    Api,
)
from tests.support.services import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    free_port,
)
from tests.support.ws import connect  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
STATS_SETTLE_SECONDS = 11.0
SECRET = "benchmark-secret-key-of-sufficient-length"
EVENTS = (ROOT / "graphql" / "operations" / "RunEvents.graphql").read_text()


class NoopTrainer:
    """Finishes at once with a fixed outcome: what is left to measure is the pipeline."""

    async def train(self, job: Any, on_event: Any, should_stop: Any) -> TrainingOutcome:
        return TrainingOutcome(
            metrics=RunMetrics(job.metric, 0.0, "noop", 0, "noop"),
            feature_importances=None,
            input_schema={},
            artifact_key=f"{job.account_id}/models/noop.joblib",
            mlflow_run_id=None,
        )


async def bare_noop(ctx: dict[str, Any]) -> None:
    return None


def worker_main(kind: str) -> None:
    """Entry point of the worker subprocesses this benchmark starts."""
    from arq import func
    from arq.connections import RedisSettings
    from arq.worker import Worker

    from server.config import Settings
    from server.logging_setup import configure_logging
    from server.worker import create_worker

    settings = Settings.from_env()
    configure_logging("WARNING")
    if kind == "trivial":
        create_worker(settings, trainer=NoopTrainer()).run()
    else:
        Worker(
            functions=[func(bare_noop, name="bare_noop")],
            redis_settings=RedisSettings.from_dsn(settings.redis_url or REDIS_URL),
            poll_delay=settings.worker_poll_delay,
            max_jobs=settings.worker_concurrency,
            handle_signals=True,
        ).run()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def demand_csv(rows: int = 200) -> bytes:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"price": rng.uniform(10, 100, rows).round(2), "promo": rng.choice([True, False], rows)}
    )
    frame["units"] = (200 - 1.5 * frame.price + 20 * frame.promo + rng.normal(0, 5, rows)).round()
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


class Deployment:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *command: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def cpu_seconds(self, prefix: str = "") -> float:
        """User + system CPU the running processes (named `prefix`...) used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for name, process in self.processes.items():
            if not name.startswith(prefix):
                continue
            try:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def stop(self, *names: str) -> None:
        for name in names or list(self.processes):
            process = self.processes.pop(name)
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


async def pipeline_latencies(
    api: Api, base_url: str, experiment_id: str, token: Any, runs: int
) -> tuple[list[float], list[float]]:
    running_ms: list[float] = []
    event_ms: list[float] = []
    for _ in range(runs):
        data = await api.op(
            "StartRun",
            {
                "input": {
                    "experimentId": experiment_id,
                    "cvFolds": 2,
                    "algorithms": ["linear"],
                    "budget": {"maxTrials": 2, "timeoutSeconds": 30},
                }
            },
            token.token,
        )
        answered = time.time()
        run_id = data["startRun"]["run"]["id"]
        async with connect(base_url, token.token) as connection:
            subscribed = time.time()
            async for payload in connection.subscribe(EVENTS, {"runId": run_id, "afterSeq": 0}):
                received = time.time()
                event = payload["runEvents"]
                at = datetime.fromisoformat(event["at"]).timestamp()
                if event["type"] == "STATUS" and event["data"]["status"] == "RUNNING":
                    running_ms.append((at - answered) * 1000)
                if at > subscribed:  # live, not replayed
                    event_ms.append((received - at) * 1000)
    return running_ms, event_ms


async def cancel_latencies(
    api: Api, base_url: str, experiment_id: str, token: Any, runs: int
) -> list[float]:
    """cancelRun sent once the run trains (its first trial is in) -> CANCELED received."""
    latencies: list[float] = []
    for _ in range(runs):
        data = await api.op(
            "StartRun",
            {
                "input": {
                    "experimentId": experiment_id,
                    "cvFolds": 2,
                    "algorithms": ["linear", "random_forest"],
                    "budget": {"maxTrials": 1000, "timeoutSeconds": 300},
                }
            },
            token.token,
        )
        run_id = data["startRun"]["run"]["id"]
        asked = 0.0
        async with connect(base_url, token.token) as connection:
            async for payload in connection.subscribe(EVENTS, {"runId": run_id, "afterSeq": 0}):
                event = payload["runEvents"]
                if event["type"] == "TRIAL" and not asked:
                    asked = time.perf_counter()
                    await api.op("CancelRun", {"input": {"id": run_id}}, token.token)
                if event["type"] == "STATUS" and event["data"]["status"] == "CANCELED":
                    latencies.append((time.perf_counter() - asked) * 1000)
    return latencies


class Counters:
    """PostgreSQL commits of the benchmark's database and Redis commands, between two reads."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        self.database = database_url.rsplit("/", 1)[1]
        self.redis_url = redis_url
        self.redis_cpu = 0.0
        self.at = 0.0  # when the last reading was taken
        self.background = 0.0  # commits per second with no client (the workers' sweeps)

    async def measure_background(self) -> None:
        """The commits the deployment makes on its own (each worker's sweeper reads, outside
        a transaction, every SWEEP_SECONDS), per second, to leave out of the figures."""
        before, since = (await self.read())[0], self.at
        self.background = ((await self.read())[0] - before) / (self.at - since)

    def commits_since(self, before: int, since: float, now: int) -> float:
        """Commits between two readings, less the background's."""
        return now - before - self.background * (self.at - since)

    async def read(self) -> tuple[int, int]:
        import asyncpg
        from redis.asyncio import Redis

        # A PostgreSQL (15+) backend that went idle publishes its counters within 10 s (a busy
        # one about once a second): wait them out, or the pool's idle connections' last
        # transactions land in the next reading.
        await asyncio.sleep(STATS_SETTLE_SECONDS)
        self.at = time.monotonic()
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute("SELECT pg_stat_clear_snapshot()")
            commits = await connection.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", self.database
            )
        finally:
            await connection.close()
        redis = Redis.from_url(self.redis_url)
        stats = await redis.info("commandstats")
        cpu = await redis.info("cpu")
        await redis.aclose()
        calls = sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")
        self.redis_cpu = float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])
        return int(commits), calls


async def trivial_throughput(api: Api, experiment_id: str, seller: Any, count: int) -> float:
    started = time.perf_counter()
    semaphore = asyncio.Semaphore(8)

    async def one() -> None:
        async with semaphore:
            await api.op(
                "StartRun",
                {"input": {"experimentId": experiment_id, "budget": {"maxTrials": 1}}},
                seller.token,
            )

    await asyncio.gather(*(one() for _ in range(count)))
    SUBMITTED[0] = time.perf_counter() - started
    while await succeeded(api, experiment_id, seller) < count:
        POLLS[0] += 1
        await asyncio.sleep(0.05)  # polling from outside, as a client would
    POLLS[0] += 1
    return count / (time.perf_counter() - started)


async def succeeded(api: Api, experiment_id: str, seller: Any) -> int:
    """The client's status poll: how many runs of the experiment succeeded."""
    data = await api.ok(POLL, {"e": experiment_id}, seller.token)
    return int(data["runs"]["totalCount"])


async def commits_per_poll(api: Api, experiment_id: str, seller: Any, counters: Counters) -> float:
    """PostgreSQL counts each statement outside a transaction (the token check, the views'
    reads) as a commit: measure what one poll adds, to leave the polls out."""
    polls = 20
    before, since = (await counters.read())[0], counters.at
    for _ in range(polls):
        await succeeded(api, experiment_id, seller)
    return counters.commits_since(before, since, (await counters.read())[0]) / polls


POLL = (
    "query($e: ID!) { runs(first: 0, filter: {experimentId: $e, status: SUCCEEDED}) "
    "{ totalCount } }"
)
POLLS = [0]  # the client's status queries
SUBMITTED = [0.0]  # seconds until every startRun of the throughput phase was answered


async def bare_throughput(count: int) -> float:
    from arq.connections import ArqRedis

    redis = ArqRedis.from_url(REDIS_URL)
    started = time.perf_counter()
    semaphore = asyncio.Semaphore(8)

    async def one(number: int) -> None:
        async with semaphore:
            await redis.enqueue_job("bare_noop", _job_id=f"bare:{number}")

    await asyncio.gather(*(one(n) for n in range(count)))
    while await redis.zcard("arq:queue") > 0 or await redis.keys("arq:in-progress:*"):
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await redis.aclose()
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30, help="real small runs for latencies")
    parser.add_argument("--cancels", type=int, default=20, help="running runs to cancel")
    parser.add_argument("--trivial", type=int, default=300, help="runs for throughput")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="jobs at a time per worker in the throughput phase (ARQ default)",
    )
    args = parser.parse_args()

    import redis as sync_redis

    workdir = Path(tempfile.mkdtemp(prefix="mlproject-runs-bench-"))
    global REDIS_URL
    own_redis = start_own_redis(workdir)
    if own_redis is not None:
        REDIS_URL = f"redis://127.0.0.1:{own_redis[1]}/0"
    sync_redis.Redis.from_url(REDIS_URL).flushdb()
    database_url = await create_postgres_database()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "DATA_DIR": str(workdir),
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/mlflow.db",
        "PYTHONPATH": str(ROOT),
        # The benchmark's clients all speak from 127.0.0.1: limits it cannot trip.
        **GENEROUS_LIMITS,
        # One seller queues every run here: per-account quotas would measure fairness, not
        # the pipeline's overhead.
        "MAX_QUEUED_RUNS_PER_ACCOUNT": "1000000",
        "MAX_RUNNING_RUNS_PER_ACCOUNT": "1000000",
    }
    deployment = Deployment(env, workdir)
    base_url = f"http://127.0.0.1:{port}"
    try:
        subprocess.run(
            [sys.executable, "-m", "server.cli", "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        import mlflow

        mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
        mlflow.MlflowClient().search_experiments()
        deployment.start("server", "-m", "server.cli", "serve", "--port", str(port))
        for number in (1, 2):
            deployment.start(f"worker-{number}", "-m", "server.cli", "worker")
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            for _ in range(300):
                try:
                    if (await http.get("/health/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.2)
            await asyncio.sleep(3)  # workers import the ML stack
            api = Api(http)
            seller = await api.sign_up("Bench")
            dataset = await api.dataset(seller, demand_csv(), name="bench")
            experiment = await api.experiment(seller, dataset["id"], target="units")
            if args.runs:
                await pipeline_latencies(api, base_url, experiment["id"], seller, 2)  # warm-up
            running_ms, event_ms = await pipeline_latencies(
                api, base_url, experiment["id"], seller, args.runs
            )
            cancel_ms = await cancel_latencies(
                api, base_url, experiment["id"], seller, args.cancels
            )
            deployment.stop("worker-1", "worker-2")
            deployment.env = {**env, "WORKER_CONCURRENCY": str(args.concurrency)}
            for number in (1, 2):
                deployment.start(f"trivial-{number}", "benchmarks/runs.py", "--worker", "trivial")
            await asyncio.sleep(4)
            trivial_experiment = await api.experiment(seller, dataset["id"], target="units")
            await trivial_throughput(api, trivial_experiment["id"], seller, 20)  # warm-up
            warm = await api.experiment(seller, dataset["id"], target="units")
            counters = Counters(database_url, REDIS_URL)
            await counters.measure_background()
            background = counters.background
            per_poll = await commits_per_poll(api, warm["id"], seller, counters)
            POLLS[0] = 0
            before = await counters.read()
            since = counters.at
            redis_before, cpu_before = counters.redis_cpu, deployment.cpu_seconds()
            server_before = deployment.cpu_seconds("server")
            ours = await trivial_throughput(api, warm["id"], seller, args.trivial)
            cpu_ours = deployment.cpu_seconds() - cpu_before
            cpu_server = deployment.cpu_seconds("server") - server_before
            after = await counters.read()
            cpu_ours += counters.redis_cpu - redis_before
            # The client's polling is no part of the pipeline.
            commits = counters.commits_since(before[0], since, after[0])
            commits_per_run = (commits - POLLS[0] * per_poll) / args.trivial
            redis_per_run = (after[1] - before[1]) / args.trivial
            deployment.stop("trivial-1", "trivial-2")
        for number in (1, 2):
            deployment.start(f"bare-{number}", "benchmarks/runs.py", "--worker", "bare")
        await asyncio.sleep(3)
        await bare_throughput(20)
        counters = Counters(database_url, REDIS_URL)
        before = await counters.read()
        redis_before, cpu_before = counters.redis_cpu, deployment.cpu_seconds()
        started_cpu = time.process_time()
        bare = await bare_throughput(args.trivial)
        cpu_bare = deployment.cpu_seconds() - cpu_before + time.process_time() - started_cpu
        after = await counters.read()
        cpu_bare += counters.redis_cpu - redis_before
        redis_per_job = (after[1] - before[1]) / args.trivial
    finally:
        deployment.stop()
        await drop_postgres_database(database_url)
        if own_redis is not None:
            own_redis[0].terminate()
            own_redis[0].wait(timeout=10)

    print(
        f"2 ARQ workers, PostgreSQL + Redis, {os.cpu_count()} cores; "
        f"{args.runs} small real runs, {args.trivial} trivial runs"
    )
    if running_ms and event_ms:  # --runs 0 measures throughput only
        print(
            f"startRun response -> RUNNING  p50 {statistics.median(running_ms):7.1f} ms   "
            f"p99 {percentile(running_ms, 0.99):7.1f} ms   (goal p99 <= 100)"
        )
        print(
            f"event publish -> subscriber   p50 {statistics.median(event_ms):7.1f} ms   "
            f"p99 {percentile(event_ms, 0.99):7.1f} ms   (goal p99 <= 50; {len(event_ms)} events)"
        )
    if cancel_ms:
        print(
            f"cancelRun -> CANCELED         p50 {statistics.median(cancel_ms):7.1f} ms   "
            f"p99 {percentile(cancel_ms, 0.99):7.1f} ms   (goal p99 < 1000; "
            f"{len(cancel_ms)} running runs)"
        )
    print(f"throughput at {args.concurrency} jobs per worker, poll delay 0.05 s:")
    print(
        f"trivial runs/s {ours:8.1f}   bare ARQ no-op jobs/s {bare:8.1f}   "
        f"overhead ratio {bare / ours:5.2f}  (goal <= 4; long-run aim 1.5)"
    )
    print(
        f"  of which the {args.trivial} startRun calls were answered after {SUBMITTED[0]:.1f} s "
        f"({args.trivial / SUBMITTED[0]:.1f}/s, 8 at a time)"
    )
    cpu_run, cpu_job = cpu_ours / args.trivial * 1000, cpu_bare / args.trivial * 1000
    print(
        f"CPU per trivial run {cpu_run:6.2f} ms (API server, workers, Redis)   per bare job "
        f"{cpu_job:6.2f} ms (its enqueuer, workers, Redis)   ratio {cpu_run / cpu_job:5.2f} "
        "(PostgreSQL's own CPU not counted; less sensitive to other load on the machine)"
    )
    print(
        f"  of which the API server (startRun and the client's polls) "
        f"{cpu_server / args.trivial * 1000:6.2f} ms"
    )
    print(
        f"per trivial run: {commits_per_run:4.1f} PostgreSQL commits (a read outside a "
        f"transaction counts one; the client's {POLLS[0]} status polls, {per_poll:.1f} each, "
        f"and the workers' sweeps, {background:.1f}/s, left out), {redis_per_run:5.1f} Redis "
        "commands "
        f"(a bare ARQ job: {redis_per_job:5.1f}; both include the workers' queue polling)"
        + ("" if own_redis else " [shared Redis: counts include other clients]")
    )
    print(
        json.dumps(
            {
                "running_ms_p99": percentile(running_ms, 0.99),
                "event_ms_p99": percentile(event_ms, 0.99),
                "cancel_ms_p50": statistics.median(cancel_ms) if cancel_ms else None,
                "cancel_ms_p99": percentile(cancel_ms, 0.99),
                "runs_per_s": ours,
                "bare_jobs_per_s": bare,
                "overhead_ratio": bare / ours,
                "cpu_ms_per_run": cpu_run,
                "cpu_ms_per_bare_job": cpu_job,
                "api_server_cpu_ms_per_run": cpu_server / args.trivial * 1000,
                "commits_per_run": commits_per_run,
                "redis_commands_per_run": redis_per_run,
                "redis_commands_per_bare_job": redis_per_job,
            }
        )
    )


def start_own_redis(workdir: Path) -> tuple[subprocess.Popen, int] | None:
    """A private redis-server (no persistence), so its command counts are ours alone."""
    import shutil

    import redis as sync_redis

    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            if sync_redis.Redis(port=port, socket_timeout=1).ping():
                return process, port
        except sync_redis.RedisError:
            time.sleep(0.05)
    process.terminate()
    return None


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    else:
        asyncio.run(main())
