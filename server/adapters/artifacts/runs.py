"""Files a run leaves behind: a model file per attempt, and its MLflow runs with artifacts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import automl
from server.adapters.artifacts.private import sqlite_file

log = logging.getLogger(__name__)


def model_file_key(account_id: str, run_id: str, attempt: int) -> str:
    """Where an attempt's fitted model is stored, relative to the artifacts directory."""
    return f"{account_id}/models/{run_id}-{attempt}.joblib"


class RunFileStore:
    """Removes every file of a run, including a canceled or failed attempt's model file that
    no model row points to, and the MLflow runs the engine logged for it."""

    def __init__(self, artifacts_root: Path, tracking_uri: str | None) -> None:
        self._root = artifacts_root
        self._tracking_uri = tracking_uri

    async def delete_run_files(self, account_id: str, run_ids: Sequence[str]) -> None:
        if run_ids:
            await asyncio.to_thread(self._delete, account_id, list(run_ids))

    def _delete(self, account_id: str, run_ids: list[str]) -> None:
        models = self._root / account_id / "models"
        for run_id in run_ids:
            for path in models.glob(f"{_glob_safe(run_id)}-*.joblib"):
                path.unlink(missing_ok=True)
        if not self._tracks():
            return
        try:
            automl.delete_tracked_runs(
                run_ids, tracking_uri=self._tracking_uri, experiment_prefix=f"{account_id}/"
            )
        except Exception:  # the rows are gone already; say what was left behind
            log.exception(
                "mlflow.cleanup_failed", extra={"account_id": account_id, "run_ids": run_ids}
            )

    def _tracks(self) -> bool:
        """False when tracking never wrote anything (no MLflow SQLite file yet)."""
        if not self._tracking_uri:
            return False
        database = sqlite_file(self._tracking_uri)
        return database is None or database.exists()


def _glob_safe(value: str) -> str:
    if not value or any(c in value for c in "*?[]/\\"):
        raise ValueError(f"not a run id: {value!r}")
    return value
