"""One best: the run names as its best the model it registered, an ensemble with its members
included, and bestTrial never names another model."""

from __future__ import annotations

from tests.e2e.runs.conftest import Stack
from tests.e2e.runs.data import blended_demand_csv, demand_csv
from tests.e2e.runs.helpers import regression_experiment, start_run, wait_for
from tests.support.api import Api


async def test_a_registered_ensemble_is_the_runs_best(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, blended_demand_csv())
    run = await start_run(
        api, seller, experiment_id, max_trials=4, algorithms=["linear", "random_forest"], seed=0
    )
    finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"})
    assert finished["status"] == "SUCCEEDED", finished["error"]
    model = finished["model"]
    assert model["metrics"]["ensemble"] is True, "the seeded search should end in an ensemble"
    # The typed scores of the model are its run's, and the same as its JSON.
    assert model["results"] == {
        "cvScore": model["metrics"]["cvScore"],
        "ensemble": True,
        "trials": finished["results"]["trials"],
    }

    best = finished["best"]
    assert best["ensemble"] is True
    assert best["algorithm"] == "ensemble"
    assert best["score"] == model["metrics"]["cvScore"] == finished["results"]["cvScore"]
    assert len(best["members"]) >= 2
    assert abs(sum(m["weight"] for m in best["members"]) - 1.0) < 1e-9
    trials = {e["node"]["number"]: e["node"] for e in finished["trials"]["edges"]}
    for member in best["members"]:
        assert trials[member["trialNumber"]]["algorithm"] == member["algorithm"]
        assert trials[member["trialNumber"]]["score"] == member["score"]
    # The blend beats every single trial: a trial named as the best would contradict the model.
    assert best["score"] < min(t["score"] for t in trials.values() if t["score"] is not None)
    assert finished["bestTrial"] is None

    compared = (await api.op("CompareRuns", {"ids": [run["id"]]}, seller.token))["compareRuns"]
    assert compared["runs"][0]["bestTrial"] is None


async def test_a_registered_single_trial_is_the_runs_best(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv())
    run = await start_run(api, seller, experiment_id, max_trials=3)
    finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"})
    assert finished["status"] == "SUCCEEDED", finished["error"]
    assert finished["model"]["metrics"]["ensemble"] is False
    best, best_trial = finished["best"], finished["bestTrial"]
    assert best["ensemble"] is False
    assert [m["trialNumber"] for m in best["members"]] == [best_trial["number"]]
    assert best["algorithm"] == best_trial["algorithm"] == finished["metrics"]["bestAlgorithm"]
    assert best["score"] == best_trial["score"] == finished["metrics"]["cvScore"]
    assert finished["settings"] == {
        "method": "AUTO",
        "budget": {"maxTrials": 3, "timeoutSeconds": 60},
        "algorithms": None,
        "cvFolds": 2,
        "seed": 0,
    }
    assert finished["results"]["metric"] == "rmse"
    assert {v["name"] for v in finished["results"]["cv"]} == set(finished["metrics"]["cv"])
