"""Clustering: KMeans, Gaussian mixture and HDBSCAN searched by silhouette (or another
internal score); the number of clusters is a hyperparameter chosen by that score."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from automl.candidates import build_estimator
from automl.errors import InvalidDataError
from automl.events import RunControl
from automl.metrics import clustering_metrics, greater_is_better
from automl.preprocessing import ColumnKind, TableCoercer, build_encoder, source_column
from automl.results import AutoMLResult
from automl.search import Evaluation, run_search, sorted_leaderboard
from automl.search_spaces import Space
from automl.supervised import finish_search

MIN_ROWS = 10


class ClusteringEvaluator:
    """Fits a clusterer on the encoded training rows (encoded once) and scores its labels."""

    def __init__(
        self, X: pd.DataFrame, schema: dict[str, ColumnKind], metric: str, seed: int
    ) -> None:
        self.schema, self.metric, self.seed = schema, metric, seed
        self.prepare = Pipeline(
            [("prepare", TableCoercer(schema)), ("encode", build_encoder(schema, "linear"))]
        )
        self.encoded = self.prepare.fit_transform(X)

    def build(self, algorithm: str, params: dict[str, Any]) -> Any:
        return build_estimator(algorithm, params, "clustering", self.seed, 1)

    def evaluate(
        self,
        algorithm: str,
        params: dict[str, Any],
        report: Callable[[int, float], None],
        check: Callable[[], None],
    ) -> Evaluation:
        """Fit on all training rows; the score is an internal clustering index."""
        if len(self.encoded) <= params.get("n_clusters", params.get("n_components", 0)):
            raise ValueError("more clusters than rows")
        model = self.build(algorithm, params)
        started = time.monotonic()
        check()
        labels = _fit_labels(model, self.encoded)
        seconds = time.monotonic() - started
        metrics = clustering_metrics(self.encoded, labels, self.seed)
        metrics["n_clusters"] = float(len(set(labels.tolist()) - {-1}))
        metrics["noise_fraction"] = float(np.mean(labels < 0))
        return Evaluation(
            metrics[self.metric],
            [metrics[self.metric]],
            metrics,
            None,
            self.pipeline(model),
            seconds,
        )

    def pipeline(self, fitted_model: Any) -> Pipeline:
        """The fitted preprocessing and a fitted clusterer, as one pipeline on raw rows."""
        return Pipeline([*self.prepare.steps, ("model", fitted_model)])


def _fit_labels(model: Any, encoded: np.ndarray) -> np.ndarray:
    if hasattr(model, "fit_predict"):
        return np.asarray(model.fit_predict(encoded))
    return np.asarray(model.fit(encoded).predict(encoded))


def cluster_importances(pipeline: Pipeline, X: pd.DataFrame) -> dict[str, float]:
    """How strongly each raw column separates the clusters: the between-cluster share of the
    variance of its encoded features, normalised to sum to 1."""
    encoded = pipeline[:-1].transform(X)
    labels = np.asarray(pipeline[-1].predict(encoded))
    names = [str(n) for n in pipeline[-2].get_feature_names_out()]
    raw = list(pipeline[0].schema_)
    totals = {c: 0.0 for c in raw}
    total_var = encoded.var(axis=0) + 1e-12
    for feature, column in enumerate(names):
        between = 0.0
        for label in np.unique(labels):
            part = encoded[labels == label, feature]
            between += len(part) * (part.mean() - encoded[:, feature].mean()) ** 2
        share = between / len(encoded) / total_var[feature]
        col = source_column(column, raw)
        totals[col] = totals.get(col, 0.0) + float(share)
    norm = sum(totals.values()) or 1.0
    return {c: v / norm for c, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def run_clustering(
    X: pd.DataFrame,
    metric: str,
    schema: dict[str, ColumnKind],
    spaces: dict[str, Space],
    method: str,
    control: RunControl,
    seed: int,
    test_size: float,
) -> AutoMLResult:
    """The whole clustering run; the test score is the index of held-out rows' assignments."""
    if len(X) < MIN_ROWS:
        raise InvalidDataError(f"clustering needs at least {MIN_ROWS} rows, got {len(X)}")
    higher = greater_is_better(metric)
    X_train, X_test = (
        train_test_split(X, test_size=test_size, random_state=seed)
        if test_size > 0 and len(X) >= 50
        else (X, None)
    )
    evaluator = ClusteringEvaluator(X_train, schema, metric, seed)
    control.log(f"Clustering {len(X_train)} rows with {sorted(spaces)}, metric {metric}")
    t0 = time.monotonic()
    outcome = run_search(evaluator, spaces, method, control, seed, higher)
    best = finish_search(outcome, control, higher)
    final = outcome.evaluations[best.number].model
    test_metrics: dict[str, float] = {}
    if X_test is not None:
        encoded = final[:-1].transform(X_test)
        test_metrics = clustering_metrics(encoded, np.asarray(final[-1].predict(encoded)), seed)
    return AutoMLResult(
        problem_type="clustering",
        metric=metric,
        greater_is_better=higher,
        leaderboard=sorted_leaderboard(outcome.trials, higher),
        best_trial=best,
        best_estimator=final,
        cv_metrics=dict(best.cv_metrics),
        test_metrics=test_metrics,
        feature_importances=cluster_importances(final, X_train),
        input_schema=dict(schema),
        timings={"search_seconds": time.monotonic() - t0, "refit_seconds": 0.0},
        stopped_reason="cancelled" if control.cancelled else outcome.stopped_reason,
        seed=seed,
        method=method,
        n_rows={"train": len(X_train), "test": 0 if X_test is None else len(X_test)},
        input_example=X_train.head(5).copy(),
    )
