"""Training in a worker thread leaves the caller's asyncio event loop responsive."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pandas as pd

from automl import Budget, EngineEvent, run_automl


def large_table(n: int = 100_000) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"f{i}" for i in range(6)])
    X["region"] = rng.choice(["north", "south", "east", "west"], n)
    y = pd.Series(X["f0"] * 3 + X["f1"] ** 2 + (X["region"] == "north") + rng.normal(0, 0.1, n))
    return X, y


def test_a_100k_row_run_in_a_thread_does_not_starve_the_event_loop():
    X, y = large_table()

    async def scenario() -> tuple[float, int]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[EngineEvent] = asyncio.Queue()

        def publish(event: EngineEvent) -> None:  # called from the training thread
            loop.call_soon_threadsafe(events.put_nowait, event)

        training = asyncio.create_task(
            asyncio.to_thread(
                run_automl,
                X,
                y,
                "regression",
                budget=Budget(max_trials=1, timeout_seconds=None),
                algorithms=["lightgbm"],
                cv_folds=2,
                callback=publish,
            )
        )
        worst_lag = 0.0
        while not training.done():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            worst_lag = max(worst_lag, time.monotonic() - before - 0.01)
        await training
        return worst_lag, events.qsize()

    worst_lag, n_events = asyncio.run(scenario())
    assert n_events >= 4
    assert worst_lag < 0.3
