"""Files a real server writes (issue 7): MLflow's store and artifacts in the data directory,
never the working directory; data files 0600 and folders 0700; deleting an experiment or a
run removes every file it owned; a CSV saved by Excel (with a BOM) trains.

The server is started from an empty working directory with only DATA_DIR set (no
MLFLOW_TRACKING_URI), on SQLite and PostgreSQL. The tests in this module run in order.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from tests.e2e.runs.helpers import run_state, start_run, wait_for
from tests.support import served as own_server
from tests.support.api import Api, Seller
from tests.support.served import Served

served = own_server.served  # the fixture: a real server started from an empty directory

# The target is the first column: with a BOM kept in its name, training could not find it.
ROWS = "\n".join(
    f"{20 + (i * 7) % 13 - (i % 5) * 2},{100 + (i * 37) % 50}.5,{i % 2},{'ab'[i % 2]}"
    for i in range(80)
)
DELETE_RUN = "mutation($id: ID!) { deleteRun(input: {id: $id}) { id } }"
RUN = "query($id: ID!) { run(id: $id) { id } }"
EXCEL_CSV = "\ufeffunits_sold,price,promo,segment\n".encode() + ROWS.encode() + b"\n"


@pytest_asyncio.fixture
async def api(served: Served) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=120) as http:
        yield Api(http)


def tracking(served: Served) -> MlflowClient:
    return MlflowClient(f"sqlite:///{served.data_dir}/mlflow.db")


def tracked_runs(served: Served, run_id: str) -> list:
    """Live MLflow runs the engine logged for our run."""
    client = tracking(served)
    experiments = [e.experiment_id for e in client.search_experiments(ViewType.ALL)]
    if not experiments:
        return []
    return client.search_runs(
        experiments,
        filter_string=f"params.`dataset.run_id` = '{run_id}'",
        run_view_type=ViewType.ACTIVE_ONLY,
    )


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def model_files(served: Served, seller: Seller) -> list[Path]:
    return files_under(served.data_dir / "artifacts" / seller.account_id / "models")


async def trained(api: Api, seller: Seller, max_trials: int = 2) -> tuple[str, dict]:
    dataset = await api.dataset(seller, EXCEL_CSV, name="excel")
    assert dataset["columns"][0]["name"] == "units_sold"
    experiment = await api.experiment(seller, dataset["id"], target="units_sold")
    run = await start_run(api, seller, experiment["id"], max_trials=max_trials)
    return experiment["id"], await wait_for(api, seller, run["id"], {"SUCCEEDED"}, within=240)


async def first_trial(api: Api, seller: Seller, run_id: str) -> None:
    for _ in range(1200):
        run = await run_state(api, seller, run_id)
        if run["trials"]["totalCount"] >= 1 or run["status"] not in {"QUEUED", "RUNNING"}:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"no trial finished: {run}")


async def test_a_run_writes_nothing_in_the_working_directory(served: Served, api: Api) -> None:
    seller = await api.sign_up()
    _, run = await trained(api, seller)
    assert run["mlflowRunId"], "the run was not tracked in MLflow"
    assert list(served.cwd.iterdir()) == [], "files appeared where the server was started"
    logged = [p for p in files_under(served.data_dir / "mlflow-artifacts") if p.name == "MLmodel"]
    assert logged, "the model MLflow logged is not in DATA_DIR/mlflow-artifacts"


async def test_data_files_are_private(served: Served, api: Api) -> None:
    seller = await api.sign_up()
    await api.dataset(seller, EXCEL_CSV)  # at least one dataset, model and MLflow store exist
    shared = [
        f"{oct(stat.S_IMODE(p.stat().st_mode))} {p.relative_to(served.data_dir)}"
        for p in [served.data_dir, *served.data_dir.rglob("*")]
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert shared == [], "readable by others:\n" + "\n".join(shared)
    assert (served.data_dir / "secret_key").exists() or served.data_dir.exists()


async def test_deleting_an_experiment_removes_every_file_it_owned(served: Served, api: Api) -> None:
    seller = await api.sign_up()
    experiment_id, run = await trained(api, seller)
    assert model_files(served, seller)
    assert tracked_runs(served, run["id"])
    artifacts = served.data_dir / "mlflow-artifacts"
    before = set(files_under(artifacts))
    deleted = await api.op("DeleteExperiment", {"input": {"id": experiment_id}}, seller.token)
    assert deleted["deleteExperiment"]["id"] == experiment_id
    assert model_files(served, seller) == []
    assert tracked_runs(served, run["id"]) == []
    # This seller's logged model is gone; other tests' models stay.
    removed = before - set(files_under(artifacts))
    assert any(p.name == "MLmodel" for p in removed)
    assert not [p for p in files_under(artifacts) if run["mlflowRunId"] in str(p)]


async def test_deleting_a_run_removes_its_files_and_a_live_run_is_refused(
    served: Served, api: Api
) -> None:
    seller = await api.sign_up()
    experiment_id, finished = await trained(api, seller)
    live = await start_run(api, seller, experiment_id, max_trials=200, seconds=120)
    refused = await api.fail(
        "mutation($id: ID!) { deleteRun(input: {id: $id}) { id } }",
        {"id": live["id"]},
        seller.token,
    )
    assert refused["extensions"]["code"] == "CONFLICT"
    await first_trial(api, seller, live["id"])
    await api.op("CancelRun", {"input": {"id": live["id"]}}, seller.token)
    canceled = await wait_for(api, seller, live["id"], {"CANCELED"}, within=240)
    assert canceled["model"] is None
    # Canceled after a trial: the wrap-up is skipped (no model file, no tracking run), so
    # nothing is left behind that no model row points to.
    assert not [p for p in model_files(served, seller) if p.name.startswith(live["id"])]
    assert tracked_runs(served, live["id"]) == []
    assert [p for p in model_files(served, seller) if p.name.startswith(finished["id"])]
    assert tracked_runs(served, finished["id"])
    for run_id in (live["id"], finished["id"]):
        gone = await api.op("DeleteRun", {"input": {"id": run_id}}, seller.token)
        assert gone["deleteRun"]["id"] == run_id
        assert not [p for p in model_files(served, seller) if p.name.startswith(run_id)]
        assert tracked_runs(served, run_id) == []
    assert model_files(served, seller) == []
    found = await api.ok(
        "query($id: ID!) { run(id: $id) { id } }", {"id": finished["id"]}, seller.token
    )
    assert found["run"] is None
