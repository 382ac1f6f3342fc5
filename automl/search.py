"""The trial loop shared by every problem type: Optuna (TPE or random) or a grid, within a
budget, with pruning, events and prompt cancellation."""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import optuna

from automl.errors import InvalidDataError, TrialInterrupted
from automl.events import RunControl
from automl.results import TrialResult
from automl.search_spaces import Space, default_params, grid_points, suggest

logger = logging.getLogger("automl")
Method = Literal["auto", "bayesian", "random_search", "grid_search"]
METHODS = ("auto", "bayesian", "random_search", "grid_search")
KEEP_TOP = 8
# Time planned for the final refit: a fit on all training rows takes a fold's fit time scaled
# by rows (Evaluation.fit_seconds), times this margin. Small, because the refit stops at the
# deadline anyway (a member that cannot finish keeps its fold model): a large margin only
# leaves budget unused.
REFIT_MARGIN = 1.1
# Until the final members are known, the reserve covers the refit of the best few trials.
RESERVE_TOP = 3
# After the refit: importances, blended fold metrics, the result (measured: well under 0.1 s).
FINISH_SECONDS = 0.1
# The exact cost of finishing the run (refitting the members the ensemble would choose now,
# plus FINISH_SECONDS), given the trials so far and the best of them.
FinalCost = Callable[["SearchOutcome", TrialResult], float]
# Warm start order: strong, cheap defaults first so a tiny budget still finds a good model.
WARM_START_ORDER = (
    "lightgbm",
    "linear",
    "extra_trees",
    "hist_gradient_boosting",
    "random_forest",
    "kmeans",
    "gaussian_mixture",
    "hdbscan",
)


@dataclass(slots=True)
class Evaluation:
    """What the evaluator measured for one configuration."""

    score: float
    fold_scores: list[float]
    metrics: dict[str, float]
    predictions: np.ndarray | None = None  # validation predictions (for ensembles)
    model: Any = None  # a fitted model, the fallback if a final refit cannot happen
    fit_seconds: float = 0.0  # typical time of one fit, to plan the final refit
    partial: bool = False  # scored on fewer folds because time ran out (first trial only)


class Evaluator(Protocol):
    """Scores one (algorithm, params) configuration; problem-specific."""

    def evaluate(
        self,
        algorithm: str,
        params: dict[str, Any],
        report: Callable[[int, float], None],
        check: Callable[[], None],
    ) -> Evaluation: ...


@dataclass(slots=True)
class SearchOutcome:
    """Trials in run order, the kept evaluations of the best ones, and why the loop ended."""

    trials: list[TrialResult]
    evaluations: dict[int, Evaluation] = field(default_factory=dict)
    stopped_reason: str = "max_trials"

    def completed(self) -> list[TrialResult]:
        return [t for t in self.trials if t.status == "complete"]


class TrialLoop:
    """Runs trials until the budget, the grid or the caller says stop."""

    def __init__(
        self,
        evaluator: Evaluator,
        spaces: dict[str, Space],
        method: str,
        control: RunControl,
        seed: int,
        greater_is_better: bool,
        final_cost: FinalCost | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.final_cost = final_cost
        self._planned_for: frozenset[int] | None = None  # kept trials the reserve was exact for
        self.spaces = spaces
        self.method = "bayesian" if method == "auto" else method
        self.control = control
        self.seed = seed
        self.sign = 1.0 if greater_is_better else -1.0
        self.outcome = SearchOutcome(trials=[])
        self.best: TrialResult | None = None
        self.reserve_seconds = 0.0
        self.study = self._create_study()
        self.planned = self._enqueue_plan()

    def _create_study(self) -> optuna.Study:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if self.method == "bayesian":
                sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(
                    seed=self.seed,
                    multivariate=True,
                    group=True,
                    n_startup_trials=8,
                    constant_liar=False,
                )
                pruner: optuna.pruners.BasePruner = optuna.pruners.MedianPruner(
                    n_startup_trials=5, n_warmup_steps=1
                )
            elif self.method == "random_search":
                sampler = optuna.samplers.RandomSampler(seed=self.seed)
                pruner = optuna.pruners.NopPruner()
            else:
                sampler = optuna.samplers.RandomSampler(seed=self.seed)
                pruner = optuna.pruners.NopPruner()
        direction: Literal["maximize", "minimize"] = "maximize" if self.sign > 0 else "minimize"
        return optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)

    def _enqueue_plan(self) -> int:
        """Grid: every grid point, families interleaved. Otherwise: each family's defaults."""
        order = sorted(
            self.spaces,
            key=lambda a: (WARM_START_ORDER.index(a) if a in WARM_START_ORDER else 99, a),
        )
        if self.method == "grid_search":
            per_family = {a: grid_points(self.spaces[a]) for a in order}
            plan = []
            for i in range(max(len(p) for p in per_family.values())):
                plan += [(a, pts[i]) for a, pts in per_family.items() if i < len(pts)]
        else:
            plan = [(a, default_params(self.spaces[a])) for a in order]
        for algorithm, params in plan:
            self.study.enqueue_trial(self._study_params(algorithm, params))
        return len(plan)

    @staticmethod
    def _study_params(algorithm: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"algorithm": algorithm, **{f"{algorithm}__{k}": v for k, v in params.items()}}

    # ------------------------------------------------------------------
    def run(self) -> SearchOutcome:
        """Run trials; returns when a limit is reached (never raises on a failing trial)."""
        budget = self.control.budget
        while True:
            reason = self._limit_reached(budget.max_trials)
            if reason:
                self.outcome.stopped_reason = reason
                return self.outcome
            self._run_one()

    def _limit_reached(self, max_trials: int | None) -> str | None:
        done = len(self.outcome.trials)
        if self.control.stop_requested():
            return "cancelled"
        if max_trials is not None and done >= max_trials:
            return "max_trials"
        if self.method == "grid_search" and done >= self.planned:
            return "grid_exhausted"
        if done and self.search_remaining() <= 0:
            return "timeout"
        return None

    def search_remaining(self) -> float:
        """Seconds the search may still use: the time left minus what finishing needs.

        Within one rough reserve of the end, the reserve becomes exact: ``final_cost`` of the
        members chosen now (asked once per set of kept trials)."""
        left = self.control.remaining() - self.reserve_seconds
        if left < self.reserve_seconds and self._plan_exactly():
            left = self.control.remaining() - self.reserve_seconds
        return left

    def _plan_exactly(self) -> bool:
        kept = frozenset(self.outcome.evaluations)
        if self.final_cost is None or self.best is None or kept == self._planned_for:
            return False
        self._planned_for = kept
        self.reserve_seconds = self.final_cost(self.outcome, self.best)
        return True

    def _check(self) -> None:
        if self.control.stop_requested():
            raise TrialInterrupted("cancelled")
        if self.best is not None and self.search_remaining() <= 0:
            raise TrialInterrupted("timeout")

    def _run_one(self) -> None:
        trial = self.study.ask()
        algorithm = trial.suggest_categorical("algorithm", sorted(self.spaces))
        params = suggest(trial, self.spaces[algorithm], prefix=f"{algorithm}__")
        number = trial.number
        self.control.emit(
            "trial_started",
            f"Trial {number}: {algorithm}",
            {"number": number, "algorithm": algorithm, "params": params},
        )
        started = time.monotonic()

        def report(step: int, value: float) -> None:
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()

        evaluation: Evaluation | None = None
        error = None
        try:
            evaluation = self.evaluator.evaluate(algorithm, params, report, self._check)
            if not math.isfinite(evaluation.score):
                raise ValueError("the score is not a finite number")
            if evaluation.partial and self.best is not None:
                # Fewer folds count only when nothing else completed (a tiny budget).
                raise TrialInterrupted("timeout")
            status = "complete"
            self.study.tell(trial, evaluation.score)
        except optuna.TrialPruned:
            status = "pruned"
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        except TrialInterrupted as stop:
            status = stop.reason
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        except InvalidDataError:
            raise
        except Exception as exc:  # a configuration that cannot fit must not end the run
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            logger.warning("Trial %s (%s) failed: %s", number, algorithm, error)
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._record(
            number, algorithm, params, status, evaluation, error, time.monotonic() - started
        )

    def _record(
        self,
        number: int,
        algorithm: str,
        params: dict[str, Any],
        status: Any,
        evaluation: Evaluation | None,
        error: str | None,
        duration: float,
    ) -> None:
        result = TrialResult(
            number=number,
            algorithm=algorithm,
            params=params,
            cv_score=evaluation.score if evaluation and status == "complete" else None,
            duration_seconds=duration,
            status=status,
            cv_std=float(np.std(evaluation.fold_scores)) if evaluation else None,
            cv_metrics=evaluation.metrics if evaluation else {},
            error=error,
        )
        self.outcome.trials.append(result)
        self.control.trials_done = len(self.outcome.trials)
        if status == "complete" and evaluation is not None:
            self._keep(result, evaluation)
        self.control.emit("trial_finished", f"Trial {number} {status}", result.to_dict())
        self.control.emit(
            "progress",
            f"{len(self.outcome.trials)} trial(s) done",
            {
                "trials_done": len(self.outcome.trials),
                "elapsed_seconds": round(self.control.elapsed(), 3),
            },
        )

    def _keep(self, result: TrialResult, evaluation: Evaluation) -> None:
        kept = self.outcome.evaluations
        kept[result.number] = evaluation
        # The best trial's evaluation is always kept (below), and its score is its cv_score.
        best = self.best
        if best is None or self.sign * evaluation.score > self.sign * kept[best.number].score:
            best = self.best = result
            self.control.emit(
                "best",
                f"New best: trial {result.number} ({result.algorithm}) {evaluation.score:.5g}",
                result.to_dict(),
            )
        if len(kept) > KEEP_TOP:
            # Drop the worst, the latest among ties, never the best.
            worst = min(
                (n for n in kept if n != best.number),
                key=lambda n: (self.sign * kept[n].score, -n),
            )
            del kept[worst]
        if self._planned_for is not None and self._planned_for == frozenset(kept):
            return  # a worse trial that was not kept: the exact plan still holds
        top = sorted(kept.values(), key=lambda e: -self.sign * e.score)[:RESERVE_TOP]
        # Keep enough time to refit the best few trials on all the training rows.
        self.reserve_seconds = REFIT_MARGIN * sum(e.fit_seconds for e in top) + FINISH_SECONDS


def run_search(
    evaluator: Evaluator,
    spaces: dict[str, Space],
    method: str,
    control: RunControl,
    seed: int,
    greater_is_better: bool,
) -> SearchOutcome:
    """Search ``spaces`` with ``evaluator``; see :class:`TrialLoop`."""
    if method not in METHODS:
        raise InvalidDataError(f"method must be one of {METHODS}, got {method!r}")
    loop = TrialLoop(evaluator, spaces, method, control, seed, greater_is_better)
    return loop.run()


def sorted_leaderboard(trials: list[TrialResult], greater_is_better: bool) -> list[TrialResult]:
    """Completed trials best first, then the rest by trial number."""
    sign = -1.0 if greater_is_better else 1.0
    scored = [(t.cv_score, t) for t in trials if t.status == "complete" and t.cv_score is not None]
    done = [t for _, t in sorted(scored, key=lambda st: (sign * st[0], st[1].number))]
    rest = [t for t in trials if t.status != "complete" or t.cv_score is None]
    return done + sorted(rest, key=lambda t: t.number)
