"""The search stops just in time for the final refit it will really do: near the end the
reserve becomes the measured cost of the members the ensemble chooses, the refit fills the
time left member by member, and a slow solver can be interrupted. Fake clocks: no test waits
for time to pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from automl import Budget
from automl.candidates import SOLVER_CHUNK, _solve
from automl.ensemble import WeightedEnsemble
from automl.errors import TrialInterrupted
from automl.events import RunControl
from automl.results import TrialResult
from automl.search import FINISH_SECONDS, REFIT_MARGIN, SearchOutcome
from automl.supervised import FinalPlanner, refit_within
from tests.unit.automl.test_budget_refit import Clock, SlowEvaluator, _evaluator, loop


def test_near_the_end_the_reserve_is_the_cost_of_the_members_really_chosen() -> None:
    plans: list[frozenset[int]] = []

    def one_member(outcome: SearchOutcome, best: TrialResult) -> float:
        plans.append(frozenset(outcome.evaluations))
        return REFIT_MARGIN * outcome.evaluations[best.number].fit_seconds + FINISH_SECONDS

    rough_clock, exact_clock = Clock(), Clock()
    rough = loop(rough_clock, SlowEvaluator(rough_clock, 10.0), timeout=100.0).run()
    search = loop(exact_clock, SlowEvaluator(exact_clock, 10.0), timeout=100.0)
    search.final_cost = one_member
    exact = search.run()

    # The rough reserve (the best three trials' refits) stops trials early; planned with the
    # one member finishing needs, the search ends within one (uninterruptible) trial of it.
    assert exact.stopped_reason == "timeout"
    assert len(exact.completed()) > len(rough.completed())
    remaining = search.control.remaining()
    reserve = REFIT_MARGIN * 10.0 + FINISH_SECONDS
    assert reserve - 10.0 < remaining < reserve + 10.0
    assert len(plans) == len(set(plans))  # asked once per set of kept trials


def _fitted_outcome(fit_seconds: dict[int, float]) -> tuple[Any, SearchOutcome]:
    evaluator = _evaluator()
    outcome = SearchOutcome(trials=[])
    for number, seconds in fit_seconds.items():
        params = {"strength": 10.0**number}
        evaluation = evaluator.evaluate("linear", params, lambda s, v: None, lambda: None)
        evaluation.fit_seconds = seconds
        outcome.evaluations[number] = evaluation
        trial = TrialResult(number, "linear", params, evaluation.score, 1.0, "complete")
        outcome.trials.append(trial)
    return evaluator, outcome


def _control(timeout: float, should_stop: Any = None) -> RunControl:
    return RunControl(Budget(max_trials=None, timeout_seconds=timeout), None, should_stop, Clock())


def test_the_refit_fills_the_time_left_heaviest_member_first() -> None:
    evaluator, outcome = _fitted_outcome({0: 1.0, 1: 100.0})
    weights = {0: 0.75, 1: 0.25}
    X, y = evaluator.X, evaluator.y
    final, refit = refit_within(weights, 0, outcome, evaluator, X, y, _control(30.0), "regression")
    # Member 0 fits in 30 s and is refit on all rows; member 1 (100 s) keeps its fold model.
    assert refit == 1
    assert isinstance(final, WeightedEnsemble) and final.weights == [0.75, 0.25]
    assert final.members[1] is outcome.evaluations[1].model
    assert final.members[0] is not outcome.evaluations[0].model
    assert len(final.members[0][0].schema_) == 2  # a fresh pipeline, fitted

    everything, refit = refit_within(
        weights, 0, outcome, evaluator, X, y, _control(1000.0), "regression"
    )
    assert refit == 2
    assert all(m is not outcome.evaluations[n].model for n, m in enumerate(everything.members))


def test_a_cancel_during_the_refit_is_not_swallowed() -> None:
    evaluator, outcome = _fitted_outcome({0: 1.0})
    control = _control(30.0, should_stop=lambda: True)
    X, y = evaluator.X, evaluator.y
    with pytest.raises(TrialInterrupted) as stop:
        refit_within({0: 1.0}, 0, outcome, evaluator, X, y, control, "regression")
    assert stop.value.reason == "cancelled"


def test_the_planner_caches_its_choice_per_set_of_kept_trials() -> None:
    evaluator, outcome = _fitted_outcome({0: 2.0, 1: 3.0, 2: 4.0})
    planner = FinalPlanner(evaluator, higher=False, allow_ensemble=True)  # rmse
    best = min(outcome.trials, key=lambda t: t.cv_score or 0.0)
    weights, info = planner.choose(outcome, best)
    assert planner.choose(outcome, best)[0] is weights  # cached
    expected = REFIT_MARGIN * sum(outcome.evaluations[n].fit_seconds for n in weights)
    assert planner.cost(outcome, best) == pytest.approx(expected + FINISH_SECONDS)
    assert (info is None) == (len(weights) == 1)
    del outcome.evaluations[2]
    assert set(planner.choose(outcome, best)[0]) <= {0, 1}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_slow_solver_is_checked_between_chunks_and_can_be_stopped() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 30)) * rng.uniform(0.01, 100, size=30)
    y = (X @ rng.normal(size=30) + rng.normal(size=300) > 0).astype(int)
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise TrialInterrupted("timeout")

    model = LogisticRegression(C=1e4, max_iter=2000, tol=0)  # never converges: 2000 steps
    with pytest.raises(TrialInterrupted):
        _solve(model, X, y, check)
    assert len(calls) == 2  # stopped after the first chunk of SOLVER_CHUNK iterations
    assert model.max_iter == 2000 and model.warm_start is False  # settings restored


def test_a_solver_that_converges_in_one_chunk_fits_as_in_one_call() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    chunked = LogisticRegression(max_iter=2000)
    _solve(chunked, X, y, lambda: None)
    plain = LogisticRegression(max_iter=2000).fit(X, y)
    assert int(np.max(plain.n_iter_)) < SOLVER_CHUNK
    np.testing.assert_allclose(chunked.coef_, plain.coef_)
    assert chunked.max_iter == 2000
