"""Files a run leaves behind: a model file per attempt, and its MLflow runs with artifacts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import automl
from server.adapters.artifacts.private import sqlite_file
from server.adapters.artifacts.store import LocalArtifactStore

log = logging.getLogger(__name__)


class RunFileStore:
    """Removes every file of a run, including a canceled or failed attempt's model file that
    no model row points to, and the MLflow runs the engine logged for it."""

    def __init__(self, files: LocalArtifactStore) -> None:
        self._files = files
        self._tracking_uri = files.tracking_uri

    async def delete_run_files(self, account_id: str, run_ids: Sequence[str]) -> None:
        if run_ids:
            await asyncio.to_thread(self._delete, account_id, list(run_ids))

    def _delete(self, account_id: str, run_ids: list[str]) -> None:
        for run_id in run_ids:
            for path in self._files.model_files(account_id, run_id):
                path.unlink(missing_ok=True)
        if not self._tracks():
            return
        try:
            automl.delete_tracked_runs(
                run_ids,
                tracking_uri=self._tracking_uri,
                experiment_prefix=self._files.tracking_prefix(account_id),
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
