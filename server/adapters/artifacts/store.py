"""Where an account's files live, on the local file system: the one `ArtifactStore`.

    <root>/<account>/datasets/<dataset>.csv          uploaded tables (LocalTableStore)
    <root>/<account>/models/<run>-<attempt>.joblib   fitted models (trainer, model store)
    MLflow experiment "<account>/<experiment name>"  tracking runs (at the tracking URI)

Storage keys are relative to the root, so a database row never holds an absolute path and the
root can move. Every adapter that reads or writes these files asks this store for the place.
"""

from __future__ import annotations

from pathlib import Path


class LocalArtifactStore:
    """`ArtifactStore` over a directory, plus the tracking server's address."""

    def __init__(
        self,
        root: Path,
        tracking_uri: str | None = None,
        tracking_artifacts_root: Path | None = None,
    ) -> None:
        self.root = root
        self.tracking_uri = tracking_uri
        self.tracking_artifacts_root = tracking_artifacts_root

    # -- keys (the port) -------------------------------------------------------------------
    def dataset_key(self, account_id: str, dataset_id: str) -> str:
        return f"{_part(account_id)}/datasets/{_part(dataset_id)}.csv"

    def model_key(self, account_id: str, run_id: str, attempt: int) -> str:
        return f"{_part(account_id)}/models/{_part(run_id)}-{int(attempt)}.joblib"

    def tracking_experiment(self, account_id: str, experiment_name: str) -> str:
        return f"{self.tracking_prefix(account_id)}{experiment_name}"

    def tracking_prefix(self, account_id: str) -> str:
        """What every tracking experiment of the account starts with."""
        return f"{_part(account_id)}/"

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    # -- places (adapters only) ------------------------------------------------------------
    def path(self, key: str) -> Path:
        """The file of a key; ValueError for a key that would leave the root."""
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key escapes the artifact root: {key!r}")
        return path

    def model_files(self, account_id: str, run_id: str) -> list[Path]:
        """Every attempt's model file of a run, registered or not."""
        models = self.path(f"{_part(account_id)}/models/x").parent
        return list(models.glob(f"{_part(run_id)}-*.joblib"))


def _part(value: str) -> str:
    """An id used as one path component (and safe in a glob pattern)."""
    if not value or any(c in value for c in "*?[]/\\") or value in {".", ".."}:
        raise ValueError(f"not an id: {value!r}")
    return value
