"""The time budget covers the final refit: the search stops admitting trials while the refit
still fits, the refit itself stops at the deadline, and a first trial longer than the budget
ends on the folds it finished. A fake clock: no test waits for time to pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automl import Budget
from automl.ensemble import WeightedEnsemble
from automl.errors import TrialInterrupted
from automl.events import RunControl
from automl.results import TrialResult
from automl.search import REFIT_MARGIN, Evaluation, SearchOutcome, TrialLoop
from automl.search_spaces import algorithm_space
from automl.supervised import (
    SupervisedEvaluator,
    fold_models,
    make_folds,
    refit_fits,
    refit_members,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SlowEvaluator:
    """Each trial takes ``seconds`` of fake time; one fit on all rows would take as long."""

    def __init__(self, clock: Clock, seconds: float, partial: bool = False) -> None:
        self.clock, self.seconds, self.partial, self.calls = clock, seconds, partial, 0

    def evaluate(
        self,
        algorithm: str,
        params: dict[str, Any],
        report: Callable[[int, float], None],
        check: Callable[[], None],
    ) -> Evaluation:
        check()
        self.calls += 1
        self.clock.now += self.seconds
        return Evaluation(
            float(self.calls),
            [float(self.calls)],
            {},
            None,
            object(),
            fit_seconds=self.seconds,
            partial=self.partial and self.calls > 1,
        )


def loop(clock: Clock, evaluator: Any, timeout: float) -> TrialLoop:
    control = RunControl(Budget(max_trials=None, timeout_seconds=timeout), clock=clock)
    spaces = {"linear": algorithm_space("linear")}
    return TrialLoop(evaluator, spaces, "random_search", control, 0, True)


def test_the_search_stops_admitting_trials_while_the_refit_still_fits() -> None:
    clock = Clock()
    search = loop(clock, SlowEvaluator(clock, 10.0), timeout=100.0)
    outcome = search.run()
    assert outcome.stopped_reason == "timeout"
    remaining = search.control.remaining()
    # Without the reserve it would have run ten 10-second trials and left no time at all.
    assert len(outcome.trials) < 10
    assert all(t.status == "complete" for t in outcome.trials)
    assert remaining >= REFIT_MARGIN * 10.0
    assert search.best is not None
    assert refit_fits({search.best.number: 1.0}, outcome, remaining)


def test_a_partial_trial_counts_only_when_nothing_else_completed() -> None:
    clock = Clock()
    search = loop(clock, SlowEvaluator(clock, 1.0, partial=True), timeout=100.0)
    search.control.budget = Budget(max_trials=3, timeout_seconds=100.0)
    outcome = search.run()
    assert [t.status for t in outcome.trials] == ["complete", "timeout", "timeout"]


def _outcome(fit_seconds: dict[int, float]) -> SearchOutcome:
    outcome = SearchOutcome(trials=[])
    for number, seconds in fit_seconds.items():
        outcome.evaluations[number] = Evaluation(0.0, [0.0], {}, None, None, seconds)
    return outcome


def test_the_refit_happens_only_when_its_estimate_fits_the_time_left() -> None:
    outcome = _outcome({0: 4.0, 1: 4.0, 2: 4.0})
    ensemble = {0: 0.5, 1: 0.25, 2: 0.25}
    assert refit_fits(ensemble, outcome, 60.0)
    assert not refit_fits(ensemble, outcome, 10.0)  # 3 x 4 s x 1.1 > 10 s
    assert refit_fits({0: 1.0}, outcome, 10.0)


def test_without_time_to_refit_the_chosen_members_are_kept_as_fitted_on_the_folds() -> None:
    evaluator = _evaluator()
    outcome = SearchOutcome(trials=[])
    for number, strength in ((0, 1.0), (1, 10.0)):
        evaluation = evaluator.evaluate(
            "linear", {"strength": strength}, lambda s, v: None, lambda: None
        )
        outcome.evaluations[number] = evaluation
    blend = fold_models({0: 0.5, 1: 0.5}, outcome, 0, "regression")
    assert isinstance(blend, WeightedEnsemble)
    assert blend.members == [outcome.evaluations[0].model, outcome.evaluations[1].model]
    assert fold_models({0: 1.0}, outcome, 0, "regression") is outcome.evaluations[0].model


def _evaluator(time_left: Callable[[], float] | None = None) -> SupervisedEvaluator:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = pd.Series(2 * X["a"] + rng.normal(size=60), name="y")
    folds = make_folds(y, False, 5, 0)
    return SupervisedEvaluator(
        X,
        y,
        "regression",
        "rmse",
        {"a": "numeric", "b": "numeric"},
        folds,
        0,
        1,
        None,
        time_left=time_left,
    )


def test_the_final_refit_stops_at_the_deadline() -> None:
    clock = Clock()
    control = RunControl(Budget(max_trials=None, timeout_seconds=30.0), clock=clock)
    evaluator = _evaluator()
    outcome = SearchOutcome(trials=[])
    outcome.trials.append(TrialResult(0, "linear", {"strength": 1.0}, 1.0, 1.0, "complete"))
    clock.now += 31.0  # the search used the whole budget
    with pytest.raises(TrialInterrupted) as stop:
        refit_members({0: 1.0}, outcome, evaluator, evaluator.X, evaluator.y, control, "regression")
    assert stop.value.reason == "timeout"


def test_a_first_trial_longer_than_the_budget_ends_on_the_folds_done() -> None:
    evaluator = _evaluator(time_left=lambda: 0.0)
    evaluation = evaluator.evaluate("linear", {"strength": 1.0}, lambda s, v: None, lambda: None)
    assert evaluation.partial and len(evaluation.fold_scores) == 1
    assert evaluation.predictions is None  # not in the ensemble: its out-of-fold rows are few
    # Later trials are never partial: a fold the search's time left cannot cover is not
    # started, and the trial ends as timed out.
    with pytest.raises(TrialInterrupted) as stop:
        evaluator.evaluate("linear", {"strength": 2.0}, lambda s, v: None, lambda: None)
    assert stop.value.reason == "timeout"
    full = _evaluator().evaluate("linear", {"strength": 1.0}, lambda s, v: None, lambda: None)
    assert not full.partial and len(full.fold_scores) == 5
