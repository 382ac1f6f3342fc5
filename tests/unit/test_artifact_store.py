"""One artifact store says where datasets, models and tracking runs live."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.adapters.artifacts.store import LocalArtifactStore


def test_keys_are_relative_and_per_account(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path, "sqlite:///x.db")
    assert store.dataset_key("acc", "ds") == "acc/datasets/ds.csv"
    assert store.model_key("acc", "run", 2) == "acc/models/run-2.joblib"
    assert store.tracking_experiment("acc", "Sales") == "acc/Sales"
    assert store.tracking_experiment("acc", "Sales").startswith(store.tracking_prefix("acc"))
    assert store.path("acc/datasets/ds.csv") == (tmp_path / "acc/datasets/ds.csv").resolve()


@pytest.mark.parametrize("bad", ["", "..", "a/b", "x*", "r?", "[a]", "a\\b"])
def test_ids_cannot_leave_their_place(tmp_path: Path, bad: str) -> None:
    store = LocalArtifactStore(tmp_path)
    with pytest.raises(ValueError):
        store.dataset_key(bad, "ds")
    with pytest.raises(ValueError):
        store.model_key("acc", bad, 1)


def test_a_key_cannot_escape_the_root(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "root")
    with pytest.raises(ValueError):
        store.path("../outside.csv")


async def test_model_files_of_a_run_are_every_attempt_and_no_other_run(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    for key in [store.model_key("acc", "r1", 1), store.model_key("acc", "r1", 2)]:
        store.path(key).parent.mkdir(parents=True, exist_ok=True)
        store.path(key).write_bytes(b"m")
    other = store.path(store.model_key("acc", "r10", 1))
    other.write_bytes(b"m")
    assert sorted(p.name for p in store.model_files("acc", "r1")) == ["r1-1.joblib", "r1-2.joblib"]
    assert store.model_files("nobody", "r1") == []
    await store.delete(store.model_key("acc", "r1", 1))
    await store.delete(store.model_key("acc", "r1", 1))  # absent: fine
    assert [p.name for p in store.model_files("acc", "r1")] == ["r1-2.joblib"]
    assert other.exists()
