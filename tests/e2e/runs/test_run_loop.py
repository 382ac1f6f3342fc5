"""The full loop, in both deployments: upload -> experiment -> startRun -> live events ->
promote -> predict."""

from __future__ import annotations

import pytest

from tests.e2e.runs.conftest import Stack
from tests.e2e.runs.data import churn_csv, demand_csv
from tests.e2e.runs.helpers import collect_events, regression_experiment, start_run, wait_for
from tests.support.api import Api, operation
from tests.support.ws import SubscriptionError, connect


async def test_the_full_loop(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv())
    run = await start_run(api, seller, experiment_id, max_trials=3)
    assert run["status"] == "QUEUED"
    assert run["attempt"] == 1

    events = await collect_events(stack.base_url, seller, run["id"], after_seq=0)

    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1)), "seq must be contiguous from 1"
    statuses = [e["data"]["status"] for e in events if e["type"] == "STATUS"]
    assert statuses == ["QUEUED", "RUNNING", "SUCCEEDED"]
    kinds = [e["type"] for e in events]
    assert kinds.count("TRIAL") == 3
    assert kinds.index("TRIAL") > kinds.index("STATUS")
    assert "BEST" in kinds and "PROGRESS" in kinds
    assert events[-1]["type"] == "STATUS" and events[-1]["data"]["status"] == "SUCCEEDED"

    finished = await wait_for(api, seller, run["id"], {"SUCCEEDED"})
    assert finished["progress"] == 1.0
    assert finished["trials"]["totalCount"] == 3
    scores = [e["node"]["score"] for e in finished["trials"]["edges"]]
    assert scores == sorted(scores), "rmse leaderboard: best (lowest) first"
    assert finished["bestTrial"]["score"] == scores[0]
    assert finished["metrics"]["metric"] == "rmse"
    assert finished["metrics"]["test"]["r2"] > 0.8
    assert finished["mlflowRunId"]
    model = finished["model"]
    assert model["stage"] == "NONE"
    assert model["inputSchema"] == {
        "price": "numeric",
        "category": "categorical",
        "promo": "boolean",
    }
    assert set(model["featureImportances"]) >= {"price"}

    promoted = await api.op(
        "PromoteModel", {"input": {"modelId": model["id"], "stage": "PRODUCTION"}}, seller.token
    )
    assert promoted["promoteModel"]["model"]["stage"] == "PRODUCTION"
    rows = [
        {"price": 20, "category": "audio", "promo": True},
        {"price": 90, "category": "phones", "promo": False},
    ]
    predicted = await api.op(
        "Predict", {"input": {"modelId": model["id"], "rows": rows}}, seller.token
    )
    cheap, dear = predicted["predict"]["predictions"]
    assert cheap["value"] > dear["value"] + 50  # demand falls with price

    exp = await api.op("Experiments", {"filter": {"nameContains": ""}}, seller.token)
    node = exp["experiments"]["edges"][0]["node"]
    assert node["productionModel"] == {"id": model["id"], "stage": "PRODUCTION"}


async def test_classification_predictions_carry_probabilities(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    dataset = await api.dataset(seller, churn_csv(), name="churn")
    experiment = await api.experiment(
        seller, dataset["id"], problemType="CLASSIFICATION", target="churned", metric="accuracy"
    )
    run = await start_run(api, seller, experiment["id"], max_trials=2)
    finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"})
    assert finished["status"] == "SUCCEEDED", finished["error"]
    scores = [e["node"]["score"] for e in finished["trials"]["edges"]]
    assert scores == sorted(scores, reverse=True), "accuracy leaderboard: highest first"
    predicted = await api.op(
        "Predict",
        {
            "input": {
                "modelId": finished["model"]["id"],
                "rows": [{"orders": 2, "plan": "basic"}, {"orders": 29, "plan": "pro"}],
            }
        },
        seller.token,
    )
    first, second = predicted["predict"]["predictions"]
    assert first["class"] == "yes" and second["class"] == "no"
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-6


async def test_predict_names_missing_and_mistyped_columns(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=120))
    run = await start_run(api, seller, experiment_id, max_trials=1)
    finished = await wait_for(api, seller, run["id"], {"SUCCEEDED"})
    model_id = finished["model"]["id"]
    missing = await api.fail(
        operation("Predict"),
        {"input": {"modelId": model_id, "rows": [{"price": 1}]}},
        seller.token,
    )
    assert missing["extensions"] == {"code": "BAD_USER_INPUT", "field": "rows"}
    assert "category" in missing["message"] and "promo" in missing["message"]
    mistyped = await api.fail(
        operation("Predict"),
        {
            "input": {
                "modelId": model_id,
                "rows": [{"price": "cheap", "category": "audio", "promo": True}],
            }
        },
        seller.token,
    )
    assert "price (expects numeric)" in mistyped["message"]
    not_a_list = await api.fail(
        operation("Predict"), {"input": {"modelId": model_id, "rows": {"price": 1}}}, seller.token
    )
    assert not_a_list["extensions"]["code"] == "BAD_USER_INPUT"


async def test_compare_runs_side_by_side(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=120))
    first = await start_run(api, seller, experiment_id, max_trials=1, algorithms=["linear"])
    second = await start_run(api, seller, experiment_id, max_trials=1, algorithms=["lightgbm"])
    for run in (first, second):
        await wait_for(api, seller, run["id"], {"SUCCEEDED"})
    compared = (await api.op("CompareRuns", {"ids": [second["id"], first["id"]]}, seller.token))[
        "compareRuns"
    ]
    assert [c["run"]["id"] for c in compared["runs"]] == [second["id"], first["id"]]
    assert [c["bestTrial"]["algorithm"] for c in compared["runs"]] == ["lightgbm", "linear"]
    assert [c["config"]["algorithms"] for c in compared["runs"]] == [["lightgbm"], ["linear"]]
    assert {"rmse", "mae", "r2"} <= set(compared["metricNames"])


async def test_websocket_needs_a_valid_token(stack: Stack) -> None:
    import websockets

    with pytest.raises((websockets.ConnectionClosed, AssertionError)):
        async with connect(stack.base_url, None, init_payload={"authorization": "Bearer nope"}):
            pass


async def test_subscriptions_to_another_accounts_run_are_not_found(
    stack: Stack, stack_api: Api
) -> None:
    api = stack_api
    owner = await api.sign_up()
    experiment_id = await regression_experiment(api, owner, demand_csv(rows=80))
    run = await start_run(api, owner, experiment_id, max_trials=1)
    stranger = await api.sign_up()
    with pytest.raises(SubscriptionError) as refused:
        await collect_events(stack.base_url, stranger, run["id"])
    assert refused.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
    await wait_for(api, owner, run["id"], {"SUCCEEDED"})


async def test_deleting_an_experiment_removes_its_model_files(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=80))
    run = await start_run(api, seller, experiment_id, max_trials=1)
    await wait_for(api, seller, run["id"], {"SUCCEEDED"})
    models = stack.settings.artifacts_dir / seller.account_id / "models"
    assert len(list(models.iterdir())) == 1
    deleted = await api.op("DeleteExperiment", {"input": {"id": experiment_id}}, seller.token)
    assert deleted["deleteExperiment"]["id"] == experiment_id
    assert list(models.iterdir()) == []
    assert (await api.op("Run", {"id": run["id"]}, seller.token))["run"] is None
