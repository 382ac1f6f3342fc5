"""Integration fixtures: the app's services with Redis events and an ARQ queue."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from domain.model.runs import RunMetrics
from domain.ports import TrainingOutcome
from server.bootstrap import Container, build
from server.config import Settings
from tests.support.services import require_redis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


class InstantTrainer:
    """Finishes at once: what is left is the pipeline's own work."""

    async def train(self, job: Any, on_event: Any, should_stop: Any) -> TrainingOutcome:
        return TrainingOutcome(
            metrics=RunMetrics(job.metric, 0.0, "instant", 0, "instant"),
            feature_importances=None,
            input_schema={},
            artifact_key=f"{job.account_id}/models/instant.joblib",
            mlflow_run_id=None,
        )


@pytest_asyncio.fixture
async def pipeline(settings: Settings) -> AsyncIterator[Container]:
    """The app's services on the test database with Redis events and an ARQ queue."""
    await require_redis(REDIS_URL)
    built = build(dataclasses.replace(settings, redis_url=REDIS_URL), trainer=InstantTrainer())
    yield built
    await built.aclose()
