"""Regression and classification: K-fold evaluation, search, ensemble, refit, test score."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from automl.candidates import SMALL_DATA_ROWS, build_pipeline, fit_pipeline, model_importances
from automl.ensemble import WeightedEnsemble, select_ensemble
from automl.errors import AutoMLError, Cancelled, TrialInterrupted
from automl.events import RunControl
from automl.metrics import all_prediction_metrics, greater_is_better, mean_metrics
from automl.preprocessing import ColumnKind
from automl.results import AutoMLResult, EnsembleInfo, TrialResult
from automl.search import (
    FINISH_SECONDS,
    REFIT_MARGIN,
    Evaluation,
    SearchOutcome,
    TrialLoop,
    sorted_leaderboard,
)
from automl.search_spaces import Space


class TrainingFailed(AutoMLError):
    """No trial could be completed (every configuration failed); the message has the errors."""


class SupervisedEvaluator:
    """Scores a configuration by K-fold cross-validation on the training rows."""

    def __init__(
        self,
        X: pd.DataFrame,
        y: pd.Series,
        problem_type: str,
        metric: str,
        schema: dict[str, ColumnKind],
        folds: list[tuple[np.ndarray, np.ndarray]],
        seed: int,
        n_jobs: int,
        classes: np.ndarray | None,
        holidays: str | None = None,
        time_left: Callable[[], float] | None = None,
    ) -> None:
        self.X, self.y, self.problem_type, self.metric = X, y, problem_type, metric
        self.holidays = holidays
        self.time_left = time_left
        self.scored_once = False  # after one scored trial the search's reserve governs time
        self.schema, self.folds, self.seed, self.n_jobs = schema, folds, seed, n_jobs
        self.classes = classes
        self.targets = (
            np.searchsorted(classes, y.to_numpy())
            if classes is not None
            else y.to_numpy(dtype=float)
        )

    def build(self, algorithm: str, params: dict[str, Any]) -> Any:
        return build_pipeline(
            algorithm,
            params,
            self.problem_type,
            self.schema,
            self.seed,
            self.n_jobs,
            holidays=self.holidays,
        )

    def predict(self, model: Any, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities (columns in ``self.classes`` order) or values."""
        if self.classes is None:
            return np.asarray(model.predict(X), dtype=float)
        proba = model.predict_proba(X)
        if len(model.classes_) == len(self.classes):
            return proba
        full = np.zeros((len(X), len(self.classes)))
        full[:, np.searchsorted(self.classes, model.classes_)] = proba
        return full

    def evaluate(
        self,
        algorithm: str,
        params: dict[str, Any],
        report: Callable[[int, float], None],
        check: Callable[[], None],
    ) -> Evaluation:
        """Fit on each fold's training part, score on its validation part.

        In the first trial, when the time left would not cover the next fold plus the final
        refit, the trial ends early on the folds done (``partial``), so a budget smaller than
        one full trial still ends on time with a model. In later trials a fold that would not
        end in the search's time left is not started (the trial ends ``timeout``): not every
        fit can be interrupted midway."""
        width = (len(self.X),) if self.classes is None else (len(self.X), len(self.classes))
        predictions = np.zeros(width)
        per_fold: list[dict[str, float]] = []
        fit_seconds: list[float] = []
        fold_seconds: list[float] = []
        model = None
        for step, (train, valid) in enumerate(self.folds):
            if per_fold and self._out_of_time(fold_seconds, fit_seconds):
                break
            if per_fold and self._no_time_for(float(np.mean(fold_seconds))):
                raise TrialInterrupted("timeout")
            check()
            model = self.build(algorithm, params)
            started = time.monotonic()
            fit_pipeline(model, self.X.iloc[train], self.y.iloc[train], check)
            fitted = time.monotonic() - started
            fit_seconds.append(fitted * len(self.X) / len(train))
            predictions[valid] = self.predict(model, self.X.iloc[valid])
            fold_seconds.append(time.monotonic() - started)
            per_fold.append(
                all_prediction_metrics(self.problem_type, self.targets[valid], predictions[valid])
            )
            report(step, float(np.mean([m[self.metric] for m in per_fold])))
        scores = [m[self.metric] for m in per_fold]
        partial = len(per_fold) < len(self.folds)
        self.scored_once = True
        return Evaluation(
            float(np.mean(scores)),
            scores,
            mean_metrics(per_fold),
            None if partial else predictions,
            model,
            float(np.median(fit_seconds)),  # the median: a busy moment skews one fold
            partial,
        )

    def _no_time_for(self, seconds: float) -> bool:
        return self.scored_once and self.time_left is not None and self.time_left() < seconds

    def _out_of_time(self, fold_seconds: list[float], fit_seconds: list[float]) -> bool:
        if self.time_left is None or self.scored_once:
            return False
        needed = float(np.mean(fold_seconds)) + REFIT_MARGIN * float(np.mean(fit_seconds))
        return self.time_left() < needed

    def score(self, predictions: np.ndarray) -> float:
        """Mean over folds of the metric for a set of validation predictions (numpy only:
        ensemble selection calls it hundreds of times)."""
        return float(
            np.mean(
                [quick_metric(self.metric, self.targets[v], predictions[v]) for _, v in self.folds]
            )
        )


def quick_metric(metric: str, y: np.ndarray, pred: np.ndarray) -> float:
    """One metric of :mod:`automl.metrics`, in numpy (same values, a fraction of the time)."""
    if pred.ndim == 1:
        y = np.asarray(y, dtype=float)
        error = y - pred
        if metric == "rmse":
            return float(np.sqrt(np.mean(error**2)))
        if metric == "mae":
            return float(np.mean(np.abs(error)))
        if metric == "r2":
            total = float(np.sum((y - y.mean()) ** 2))
            return 1.0 - float(np.sum(error**2)) / total if total > 0 else math.nan
        nonzero = np.abs(y) > 1e-12
        return float(np.mean(np.abs(error[nonzero] / y[nonzero]))) if nonzero.any() else math.nan
    y = np.asarray(y, dtype=int)
    proba = np.clip(pred, 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    n_classes = proba.shape[1]
    if metric == "log_loss":
        return float(-np.mean(np.log(proba[np.arange(len(y)), y])))
    predicted = proba.argmax(axis=1)
    if metric == "accuracy":
        return float(np.mean(predicted == y))
    if metric == "f1_macro":
        hits = np.bincount(y[predicted == y], minlength=n_classes)
        actual = np.bincount(y, minlength=n_classes)
        guessed = np.bincount(predicted, minlength=n_classes)
        denominator = actual + guessed
        f1 = np.divide(2 * hits, denominator, out=np.zeros(n_classes), where=denominator > 0)
        return float(np.mean(f1))
    columns = [1] if n_classes == 2 else range(n_classes)
    aucs = [_auc(y == c, proba[:, c]) for c in columns]
    return float(np.mean(aucs))


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = pd.Series(score).rank(method="average").to_numpy()  # ties share their mean rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def make_folds(
    y: pd.Series, classify: bool, cv_folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold for classification (folds capped by the rarest class), else K-fold."""
    if classify:
        n = int(min(cv_folds, y.value_counts().min()))
        splitter: Any = StratifiedKFold(n_splits=max(n, 2), shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=min(cv_folds, len(y)), shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def split_test(
    X: pd.DataFrame, y: pd.Series, classify: bool, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame | None, pd.Series | None]:
    """Hold out ``test_size`` of the rows (stratified for classification) for the test score."""
    if test_size <= 0:
        return X, y, None, None
    stratify = y if classify and y.value_counts().min() >= 4 else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=stratify
    )
    return X_train, y_train, X_test, y_test


def finish_search(outcome: SearchOutcome, control: RunControl, higher: bool) -> TrialResult:
    """The best completed trial, or the right error when none completed."""
    completed = outcome.completed()
    if not completed:
        if control.cancelled:
            raise Cancelled("the run was cancelled before any trial completed")
        errors = sorted({t.error or t.status for t in outcome.trials})
        raise TrainingFailed(f"no trial completed; errors: {errors[:5]}")
    return sorted_leaderboard(completed, higher)[0]


def choose_final(
    outcome: SearchOutcome,
    best: TrialResult,
    evaluator: Any,
    higher: bool,
    control: RunControl,
    allow_ensemble: bool,
    planner: FinalPlanner | None = None,
) -> tuple[dict[int, float], EnsembleInfo | None]:
    """Members (trial number -> weight) of the model to deliver, and the ensemble if any
    (the ``planner``'s choice, the one the search planned its time for, when given)."""
    if control.cancelled:
        return {best.number: 1.0}, None
    if planner is not None:
        weights, info = planner.choose(outcome, best)
    else:
        weights, info = select_final(outcome, best, evaluator, higher, allow_ensemble)
    if info is not None:
        control.log(
            f"Ensemble of trials {info.members} scores {info.cv_score:.5g} "
            f"(best single {best.cv_score:.5g})"
        )
    return weights, info


def select_final(
    outcome: SearchOutcome, best: TrialResult, evaluator: Any, higher: bool, allow_ensemble: bool
) -> tuple[dict[int, float], EnsembleInfo | None]:
    """The ensemble selection over the kept trials, or the best trial alone (no events)."""
    kept = {n: e.predictions for n, e in outcome.evaluations.items() if e.predictions is not None}
    if not allow_ensemble or len(kept) < 2:
        return {best.number: 1.0}, None
    selected = select_ensemble(kept, evaluator.score, higher)
    if selected is None:
        return {best.number: 1.0}, None
    weights, score = selected
    return weights, EnsembleInfo(sorted(weights), [weights[n] for n in sorted(weights)], score)


class FinalPlanner:
    """What finishing the run costs with the members the ensemble would choose now: the
    search asks near its end (``final_cost``) to stop just in time; the choice is cached per
    set of kept trials, so the run ends with the members the time was planned for."""

    def __init__(self, evaluator: Any, higher: bool, allow_ensemble: bool) -> None:
        self.evaluator, self.higher, self.allow_ensemble = evaluator, higher, allow_ensemble
        self._key: tuple[frozenset[int], int] | None = None
        self._choice: tuple[dict[int, float], EnsembleInfo | None] = ({}, None)

    def choose(
        self, outcome: SearchOutcome, best: TrialResult
    ) -> tuple[dict[int, float], EnsembleInfo | None]:
        key = (frozenset(outcome.evaluations), best.number)
        if key != self._key:
            self._key = key
            self._choice = select_final(
                outcome, best, self.evaluator, self.higher, self.allow_ensemble
            )
        return self._choice

    def cost(self, outcome: SearchOutcome, best: TrialResult) -> float:
        weights, _ = self.choose(outcome, best)
        return refit_estimate(weights, outcome) + FINISH_SECONDS


def refit_estimate(weights: dict[int, float], outcome: SearchOutcome) -> float:
    """Expected time to refit the members on all training rows (their fold fit times scaled
    to all rows, times ``REFIT_MARGIN``)."""
    evaluations = outcome.evaluations
    return REFIT_MARGIN * sum(evaluations[n].fit_seconds for n in weights if n in evaluations)


def refit_fits(weights: dict[int, float], outcome: SearchOutcome, seconds_left: float) -> bool:
    """Whether refitting the chosen members on all training rows is expected to end in the
    time left."""
    return refit_estimate(weights, outcome) <= seconds_left


def fold_models(
    weights: dict[int, float], outcome: SearchOutcome, best: int, problem_type: str
) -> Any:
    """The chosen members as fitted during the search (each on its last fold's training part):
    what is delivered when there is no time to refit. Same members and weights as the refit
    would have, so the registered model is the one the scores describe."""
    numbers = sorted(weights)
    models = [outcome.evaluations[n].model for n in numbers]
    if len(models) == 1 or any(m is None for m in models):
        return outcome.evaluations[best].model
    if problem_type == "classification" and len({len(m.classes_) for m in models}) > 1:
        return outcome.evaluations[best].model
    return WeightedEnsemble(models, [weights[n] for n in numbers], problem_type)


def refit_members(
    weights: dict[int, float],
    outcome: SearchOutcome,
    evaluator: Any,
    X: pd.DataFrame,
    y: pd.Series,
    control: RunControl,
    problem_type: str,
) -> Any:
    """Fit each member on all training rows; a cancel or the end of the time budget during
    the refit raises TrialInterrupted (the budget covers the refit too)."""
    members = [refit_one(n, outcome, evaluator, X, y, control) for n in sorted(weights)]
    if len(members) == 1:
        return members[0]
    return WeightedEnsemble(members, [weights[n] for n in sorted(weights)], problem_type)


def refit_one(
    number: int,
    outcome: SearchOutcome,
    evaluator: Any,
    X: pd.DataFrame,
    y: pd.Series,
    control: RunControl,
) -> Any:
    """Trial ``number``'s configuration fitted on ``X``; stops (TrialInterrupted) on a cancel
    or at the deadline."""
    trial = next(t for t in outcome.trials if t.number == number)
    model = evaluator.build(trial.algorithm, trial.params)
    # Fit with the threading the folds had (their times are the estimate the budget planned
    # with): one OpenMP thread when the folds' training parts were small.
    fold_rows = max((len(train) for train, _ in evaluator.folds), default=len(X))
    threads = 1 if fold_rows < SMALL_DATA_ROWS else None
    if threads == 1 and "n_jobs" in model[-1].get_params():
        model[-1].set_params(n_jobs=1)
    with threadpool_limits(limits=threads):
        return fit_pipeline(model, X, y, control.check)


def refit_within(
    weights: dict[int, float],
    best: int,
    outcome: SearchOutcome,
    evaluator: Any,
    X: pd.DataFrame,
    y: pd.Series,
    control: RunControl,
    problem_type: str,
) -> tuple[Any, int]:
    """The delivered model and how many members were refit on all training rows.

    Members are refit heaviest first while each one's expected fit time (without the
    reserve's margin: the deadline stops a refit that runs late) fits the time left; one that
    does not, or that the deadline stops, keeps its model fitted on the folds, so the run ends
    on time with the members and weights its scores describe. A cancel raises
    TrialInterrupted."""
    refit: dict[int, Any] = {}
    for number in sorted(weights, key=lambda n: (-weights[n], n)):
        if outcome.evaluations[number].fit_seconds > control.remaining():
            continue
        try:
            refit[number] = refit_one(number, outcome, evaluator, X, y, control)
        except TrialInterrupted as stop:
            if stop.reason == "cancelled":
                raise
            break
    numbers = sorted(weights)
    if len(refit) == len(numbers):
        models = [refit[n] for n in numbers]
    else:
        models = [refit.get(n, outcome.evaluations[n].model) for n in numbers]
        classes = {len(m.classes_) for m in models} if problem_type == "classification" else {0}
        if any(m is None for m in models) or len(classes) > 1:
            return fold_models(weights, outcome, best, problem_type), 0
    if len(models) == 1:
        return models[0], len(refit)
    return WeightedEnsemble(models, [weights[n] for n in numbers], problem_type), len(refit)


def run_supervised(
    X: pd.DataFrame,
    y: pd.Series,
    problem_type: str,
    metric: str,
    schema: dict[str, ColumnKind],
    spaces: dict[str, Space],
    method: str,
    control: RunControl,
    cv_folds: int,
    seed: int,
    n_jobs: int,
    test_size: float,
    ensemble: bool,
    holidays: str | None = None,
) -> AutoMLResult:
    """The whole regression/classification run (inputs already validated)."""
    classify = problem_type == "classification"
    higher = greater_is_better(metric)
    X_train, y_train, X_test, y_test = split_test(X, y, classify, test_size, seed)
    classes = np.unique(y.to_numpy()) if classify else None
    folds = make_folds(y_train, classify, cv_folds, seed)
    evaluator = SupervisedEvaluator(
        X_train,
        y_train,
        problem_type,
        metric,
        schema,
        folds,
        seed,
        n_jobs,
        classes,
        holidays,
    )
    control.log(
        f"Searching {sorted(spaces)} with {method} on {len(X_train)} rows, "
        f"{len(folds)}-fold CV, metric {metric}"
    )
    t0 = time.monotonic()
    planner = FinalPlanner(evaluator, higher, ensemble)
    loop = TrialLoop(evaluator, spaces, method, control, seed, higher, planner.cost)
    evaluator.time_left = loop.search_remaining  # what the search may use, refit reserved
    outcome = loop.run()
    search_seconds = time.monotonic() - t0
    best = finish_search(outcome, control, higher)
    t1 = time.monotonic()
    weights, info = choose_final(outcome, best, evaluator, higher, control, ensemble, planner)
    try:
        if control.cancelled:
            raise TrialInterrupted("cancelled")
        final, refit = refit_within(
            weights, best.number, outcome, evaluator, X_train, y_train, control, problem_type
        )
        if refit < len(weights):
            control.log(
                f"Refit {refit} of {len(weights)} model(s) on all rows in the time left; "
                "the others keep their fit on the folds"
            )
    except TrialInterrupted:
        final = fold_models(weights, outcome, best.number, problem_type)
    if info is not None and not isinstance(final, WeightedEnsemble):
        info = None
    refit_seconds = time.monotonic() - t1
    test_metrics: dict[str, float] = {}
    if X_test is not None and y_test is not None:
        test_targets = (
            np.searchsorted(classes, y_test.to_numpy())
            if classes is not None
            else y_test.to_numpy(dtype=float)
        )
        test_metrics = all_prediction_metrics(
            problem_type, test_targets, evaluator.predict(final, X_test)
        )
    importances = (
        final.feature_importances()
        if isinstance(final, WeightedEnsemble)
        else model_importances(final)
    )
    cv_metrics = dict(best.cv_metrics)
    if info is not None:
        cv_metrics = all_fold_metrics(evaluator, outcome, info)
    return AutoMLResult(
        problem_type=problem_type,
        metric=metric,
        greater_is_better=higher,
        leaderboard=sorted_leaderboard(outcome.trials, higher),
        best_trial=best,
        best_estimator=final,
        cv_metrics=cv_metrics,
        test_metrics=test_metrics,
        feature_importances=importances,
        input_schema=dict(schema),
        timings={"search_seconds": search_seconds, "refit_seconds": refit_seconds},
        stopped_reason="cancelled" if control.cancelled else outcome.stopped_reason,
        seed=seed,
        method=method,
        ensemble=info,
        classes=classes.tolist() if classes is not None else None,
        target=str(y.name),
        n_rows={"train": len(X_train), "test": 0 if X_test is None else len(X_test)},
        input_example=X_train.head(5).copy(),
    )


def all_fold_metrics(
    evaluator: SupervisedEvaluator, outcome: SearchOutcome, info: EnsembleInfo
) -> dict[str, float]:
    """Every metric of the ensemble's blended validation predictions, averaged over folds."""
    blend = np.zeros_like(evaluator.targets, dtype=float) if evaluator.classes is None else None
    for n, w in zip(info.members, info.weights, strict=True):
        predictions = outcome.evaluations[n].predictions
        assert predictions is not None  # ensemble members always have validation predictions
        blend = w * predictions if blend is None else blend + w * predictions
    assert blend is not None
    return mean_metrics(
        [
            all_prediction_metrics(evaluator.problem_type, evaluator.targets[v], blend[v])
            for _, v in evaluator.folds
        ]
    )
