"""Issue 9's marketplace figures in one command: the full sync against its bare-httpx floor,
then the discount scheduler's lag with 500 discounts due at once, on both databases.

    .venv/bin/python benchmarks/marketplace.py            # --items 1000 --discounts 500 --tick 1

Each part runs in its own process (benchmarks/marketplace_sync.py, benchmarks/scheduler_lag.py,
which can also be run alone with more options). Goals: sync within 1.5 times the floor;
scheduler p99 lag under 5 s. Needs PostgreSQL on 127.0.0.1 for the PostgreSQL figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> int:
    command = [sys.executable, str(HERE / script), *args]
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    return subprocess.run(command, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--discounts", type=int, default=500)
    parser.add_argument("--tick", type=float, default=1.0)
    args = parser.parse_args()
    failures = run("marketplace_sync.py", "--items", str(args.items), "--rounds", str(args.rounds))
    lag = ["--discounts", str(args.discounts), "--tick", str(args.tick)]
    with tempfile.TemporaryDirectory() as scratch:
        sqlite = f"sqlite+aiosqlite:///{scratch}/lag.db"
        failures += run("scheduler_lag.py", *lag, "--database-url", sqlite)
    failures += run("scheduler_lag.py", *lag)  # PostgreSQL
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
