"""Metrics per problem type, their direction, and the scorer used by the search."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from automl.catalogue import METRICS_BY_PROBLEM, default_metric, greater_is_better
from automl.errors import InvalidDataError

__all__ = ["check_metric", "greater_is_better"]


def check_metric(problem_type: str, metric: str | None) -> str:
    """Return a usable metric name (the problem type's default when none is given) or raise
    :class:`InvalidDataError` naming the choices."""
    if metric is None:
        return default_metric(problem_type)
    allowed = METRICS_BY_PROBLEM[problem_type]
    if metric not in allowed:
        raise InvalidDataError(
            f"metric {metric!r} is not available for {problem_type}; choose one of {allowed}"
        )
    return metric


def _mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    nonzero = np.abs(y_true) > 1e-12
    if not nonzero.any():
        return math.nan
    return float(np.mean(np.abs((y_true[nonzero] - y_pred[nonzero]) / y_true[nonzero])))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, R2 and MAPE (MAPE over non-zero targets only)."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    return {
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "mae": float(np.mean(np.abs(y_true - y_pred))),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else math.nan,
        "mape": _mape(y_true, y_pred),
    }


def classification_metrics(y_codes: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1, ROC AUC (one-vs-rest macro when multiclass) and log loss.

    ``y_codes`` are class indices 0..K-1 matching the columns of ``proba``.
    """
    n_classes = proba.shape[1]
    labels = np.arange(n_classes)
    proba = np.clip(proba, 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    predicted = proba.argmax(axis=1)
    result = {
        "accuracy": float(skm.accuracy_score(y_codes, predicted)),
        "f1_macro": float(skm.f1_score(y_codes, predicted, average="macro", labels=labels)),
        "log_loss": float(skm.log_loss(y_codes, proba, labels=labels)),
    }
    result["roc_auc"] = _roc_auc(np.asarray(y_codes), proba)
    return result


def _roc_auc(y_codes: np.ndarray, proba: np.ndarray) -> float:
    """Binary AUC, or one-vs-rest macro AUC over the classes present in ``y_codes`` (a fold
    that misses a rare class still gets a score); NaN with fewer than two classes."""
    present = np.unique(y_codes)
    if len(present) < 2:
        return math.nan
    if proba.shape[1] == 2:
        return float(skm.roc_auc_score(y_codes, proba[:, 1]))
    return float(np.mean([skm.roc_auc_score(y_codes == k, proba[:, k]) for k in present]))


def clustering_metrics(X: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Silhouette (on up to 3,000 sampled rows), Davies-Bouldin and Calinski-Harabasz.

    Noise points (label -1) are left out; a result with fewer than two clusters scores the
    worst possible values. The silhouette is multiplied by the share of non-noise points so a
    density method cannot win by calling most rows noise.
    """
    labels = np.asarray(labels)
    kept = labels >= 0
    X_kept, labels_kept = X[kept], labels[kept]
    n_clusters = len(np.unique(labels_kept))
    if n_clusters < 2 or n_clusters >= len(labels_kept):
        return {"silhouette": -1.0, "davies_bouldin": 1e6, "calinski_harabasz": 0.0}
    sample = min(3000, len(labels_kept))
    silhouette = skm.silhouette_score(X_kept, labels_kept, sample_size=sample, random_state=seed)
    return {
        "silhouette": float(silhouette) * float(kept.mean()),
        "davies_bouldin": float(skm.davies_bouldin_score(X_kept, labels_kept)),
        "calinski_harabasz": float(skm.calinski_harabasz_score(X_kept, labels_kept)),
    }


Scorer = Callable[[np.ndarray, np.ndarray], float]


def prediction_scorer(problem_type: str, metric: str) -> Scorer:
    """A function (y_true, predictions) -> metric value for regression-like or classification
    predictions (``predictions`` are class probabilities for classification)."""
    if problem_type == "classification":
        return lambda y, p: classification_metrics(y, p)[metric]
    return lambda y, p: regression_metrics(y, p)[metric]


def all_prediction_metrics(problem_type: str, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every metric of the problem type for one set of predictions."""
    if problem_type == "classification":
        return classification_metrics(y, pred)
    return regression_metrics(y, pred)


def mean_metrics(per_fold: list[dict[str, float]]) -> dict[str, float]:
    """Average a list of metric dicts (NaN-aware)."""
    if not per_fold:
        return {}
    keys = per_fold[0].keys()
    out = {}
    for key in keys:
        values = [m[key] for m in per_fold if not math.isnan(m[key])]
        out[key] = float(np.mean(values)) if values else math.nan
    return out
