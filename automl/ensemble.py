"""Greedy ensemble selection (Caruana et al.) over the validation predictions of the best
trials, and the fitted weighted-average estimator it produces."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from automl.candidates import model_importances

ROUNDS = 20


def select_ensemble(
    predictions: dict[int, np.ndarray],
    score: Callable[[np.ndarray], float],
    greater_is_better: bool,
) -> tuple[dict[int, float], float] | None:
    """Weights per trial number and the ensemble's CV score, or None when no blend of two or
    more trials beats the best single trial."""
    if len(predictions) < 2:
        return None
    sign = 1.0 if greater_is_better else -1.0
    singles = {n: score(p) for n, p in predictions.items()}
    best_single = max(singles, key=lambda n: (sign * singles[n], -n))
    chosen = [best_single]
    total = predictions[best_single].astype(float).copy()
    best_score, best_chosen = singles[best_single], list(chosen)
    for _ in range(ROUNDS):
        k = len(chosen) + 1
        trial_scores = {n: score((total + p) / k) for n, p in predictions.items()}
        pick = max(trial_scores, key=lambda n: (sign * trial_scores[n], -n))
        chosen.append(pick)
        total += predictions[pick]
        if sign * trial_scores[pick] > sign * best_score + 1e-12:
            best_score, best_chosen = trial_scores[pick], list(chosen)
    counts = Counter(best_chosen)
    if len(counts) < 2:
        return None
    weights = {n: c / len(best_chosen) for n, c in sorted(counts.items())}
    return weights, float(best_score)


def weighted_sum(arrays: Iterable[np.ndarray | None], weights: Iterable[float]) -> np.ndarray:
    """The sum of weight * array over equally shaped arrays, added in order (as `sum` would),
    typed as an array. None (a trial kept without validation predictions) is refused."""
    total: np.ndarray | None = None
    for array, weight in zip(arrays, weights, strict=True):
        if array is None:
            raise ValueError("an ensemble member has no validation predictions")
        term = weight * array
        total = term if total is None else total + term
    if total is None:
        raise ValueError("an ensemble needs at least one member")
    return total


class WeightedEnsemble(BaseEstimator):
    """Weighted average of fitted pipelines: of predictions (regression) or class
    probabilities (classification). Members take the same raw input."""

    def __init__(self, members: list[Any], weights: list[float], problem_type: str) -> None:
        self.members = members
        self.weights = weights
        self.problem_type = problem_type
        if problem_type == "classification":
            self.classes_ = members[0].classes_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Weighted average of the members' class probabilities."""
        return weighted_sum((m.predict_proba(X) for m in self.members), self.weights)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Weighted average prediction, or the most probable class."""
        if self.problem_type == "classification":
            return np.asarray(self.classes_)[self.predict_proba(X).argmax(axis=1)]
        return weighted_sum(
            (np.asarray(m.predict(X), dtype=float) for m in self.members), self.weights
        )

    def feature_importances(self) -> dict[str, float]:
        """Weighted average of the members' normalised importances."""
        totals: dict[str, float] = {}
        for member, weight in zip(self.members, self.weights, strict=True):
            for name, value in model_importances(member).items():
                totals[name] = totals.get(name, 0.0) + weight * value
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))
