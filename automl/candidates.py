"""Model families the engine searches, how to build them and how to fit them interruptibly.

Interruption: LightGBM gets a per-iteration callback; random forest, extra trees and
histogram gradient boosting grow in chunks with ``warm_start`` and check between chunks;
logistic regression runs its solver in chunks of iterations, warm-started; ridge and the
clusterers are fast enough to finish. All of them release the GIL in their heavy
loops (LightGBM and HistGradientBoosting via OpenMP, forests via Cython ``nogil``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from automl.preprocessing import (
    ColumnKind,
    TableCoercer,
    build_encoder,
    n_categorical,
    source_column,
)

FOREST_CHUNK = 4  # trees per warm-start step: a stop or deadline is noticed within 4 trees
SOLVER_CHUNK = 100  # logistic regression: solver iterations between checks
SMALL_DATA_ROWS = 20_000
StopCheck = Callable[[], None]


class DensityClustering(ClusterMixin, BaseEstimator):
    """HDBSCAN fitted on at most ``max_fit_rows`` rows; new rows take the cluster of their
    nearest clustered training point (so the pipeline can ``predict``)."""

    def __init__(
        self,
        min_cluster_size: int = 15,
        min_samples: int = 5,
        max_fit_rows: int = 5000,
        random_state: int = 0,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: object = None) -> DensityClustering:
        X = np.asarray(X, dtype=float)
        rng = np.random.default_rng(self.random_state)
        rows = np.arange(len(X))
        if len(X) > self.max_fit_rows:
            rows = np.sort(rng.choice(len(X), self.max_fit_rows, replace=False))
        model = HDBSCAN(
            min_cluster_size=self.min_cluster_size, min_samples=self.min_samples, copy=True
        )
        labels = model.fit_predict(X[rows])
        clustered = labels >= 0
        self.n_clusters_ = int(labels.max() + 1) if clustered.any() else 0
        self.neighbours_ = None
        if clustered.any():
            self.neighbours_ = KNeighborsClassifier(n_neighbors=1).fit(
                X[rows][clustered], labels[clustered]
            )
        self.labels_ = labels if len(rows) == len(X) else self.predict(X)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.neighbours_ is None:
            return np.full(len(X), -1)
        return self.neighbours_.predict(np.asarray(X, dtype=float))


def build_estimator(
    algorithm: str,
    params: dict[str, Any],
    problem_type: str,
    seed: int,
    n_jobs: int,
    n_cat: int = 0,
) -> BaseEstimator:
    """One unfitted estimator of ``algorithm`` with ``params``."""
    classify = problem_type == "classification"
    p = dict(params)
    if algorithm == "lightgbm":
        cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
        return cls(
            **p,
            subsample_freq=1,
            random_state=seed,
            n_jobs=n_jobs,
            verbose=-1,
            deterministic=True,
            force_col_wise=True,
        )
    if algorithm in ("random_forest", "extra_trees"):
        family = {
            ("random_forest", True): RandomForestClassifier,
            ("random_forest", False): RandomForestRegressor,
            ("extra_trees", True): ExtraTreesClassifier,
            ("extra_trees", False): ExtraTreesRegressor,
        }[(algorithm, classify)]
        return family(**p, random_state=seed, n_jobs=n_jobs)
    if algorithm == "hist_gradient_boosting":
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        categorical = list(range(n_cat)) if n_cat else None
        return cls(**p, early_stopping=False, random_state=seed, categorical_features=categorical)
    if algorithm == "linear":
        strength = p.pop("strength", 1.0)
        if classify:
            return LogisticRegression(C=1.0 / strength, max_iter=2000)
        return Ridge(alpha=strength)
    if algorithm == "kmeans":
        return KMeans(**p, n_init=3, random_state=seed)
    if algorithm == "gaussian_mixture":
        return GaussianMixture(**p, random_state=seed, reg_covar=1e-4)
    if algorithm == "hdbscan":
        return DensityClustering(**p, random_state=seed)
    raise ValueError(f"unknown algorithm {algorithm!r}")


def encoder_flavour(algorithm: str) -> str:
    """``tree`` for tree families (ordinal codes, NaN kept), ``linear`` otherwise."""
    trees = ("lightgbm", "random_forest", "extra_trees", "hist_gradient_boosting")
    return "tree" if algorithm in trees else "linear"


def build_pipeline(
    algorithm: str,
    params: dict[str, Any],
    problem_type: str,
    schema: dict[str, ColumnKind],
    seed: int,
    n_jobs: int,
    holidays: str | None = None,
) -> Pipeline:
    """Raw table -> coerced columns -> encoded matrix (dates as calendar features, with
    ``holidays``' flags when given) -> model."""
    flavour = encoder_flavour(algorithm)
    n_cat = n_categorical(schema) if flavour == "tree" else 0
    model = build_estimator(algorithm, params, problem_type, seed, n_jobs, n_cat)
    return Pipeline(
        [
            ("prepare", TableCoercer(schema)),
            ("encode", build_encoder(schema, flavour, holidays)),  # type: ignore[arg-type]
            ("model", model),
        ]
    )


def fit_pipeline(pipeline: Pipeline, X: pd.DataFrame, y: Any, check: StopCheck) -> Pipeline:
    """Fit ``pipeline``, calling ``check()`` (which raises to interrupt) during long fits."""
    check()
    encoded = pipeline[:-1].fit_transform(X, y)
    model = pipeline[-1]
    # On small data one thread is as fast, and OpenMP teams or BLAS threads spinning on a busy
    # machine are not (logistic regression on digits: 3.6 s with two BLAS threads, 0.1 s with
    # one, on the shared 2-core machine).
    threads = 1 if len(X) < SMALL_DATA_ROWS else None
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        warnings.simplefilter("ignore")
        if threads == 1 and "n_jobs" in model.get_params():
            model.set_params(n_jobs=1)
        _fit_model(model, encoded, y, check, pipeline)
    return pipeline


def _fit_model(model: Any, X: np.ndarray, y: Any, check: StopCheck, pipeline: Pipeline) -> None:
    if isinstance(model, lgb.LGBMModel):

        def on_iteration(env: Any) -> None:
            check()

        fitted = pipeline[-2].transformers_
        cat_idx: list[int] | Literal["auto"] = (
            list(range(len(fitted[0][2]))) if fitted and fitted[0][0] == "cat" else "auto"
        )
        model.fit(X, y, callbacks=[on_iteration], categorical_feature=cat_idx)
    elif isinstance(
        model,
        RandomForestClassifier | RandomForestRegressor | ExtraTreesClassifier | ExtraTreesRegressor,
    ):
        _grow(model, "n_estimators", X, y, check, FOREST_CHUNK)
    elif isinstance(model, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
        _grow(model, "max_iter", X, y, check, 20)
    elif isinstance(model, LogisticRegression):
        _solve(model, X, y, check)
    elif y is None:
        model.fit(X)
    else:
        model.fit(X, y)


def _grow(model: Any, size_param: str, X: np.ndarray, y: Any, check: StopCheck, chunk: int) -> None:
    """Warm-start growth in chunks; the same random_state gives the same model as one fit."""
    target = getattr(model, size_param)
    done = 0
    model.set_params(warm_start=True)
    try:
        while done < target:
            check()
            done = min(done + chunk, target)
            model.set_params(**{size_param: done})
            model.fit(X, y)
    finally:
        model.set_params(warm_start=False, **{size_param: target})


def _solve(model: LogisticRegression, X: np.ndarray, y: Any, check: StopCheck) -> None:
    """The solver in chunks of ``SOLVER_CHUNK`` iterations, each warm-started from the last
    coefficients, until it converges (a chunk ends early) or reaches ``max_iter``."""
    limit = model.max_iter
    done = 0
    model.set_params(warm_start=True)
    try:
        while done < limit:
            check()
            step = min(SOLVER_CHUNK, limit - done)
            model.set_params(max_iter=step)
            model.fit(X, y)
            done += step
            if int(np.max(model.n_iter_)) < step:
                break
    finally:
        model.set_params(warm_start=False, max_iter=limit)


def model_importances(pipeline: Pipeline) -> dict[str, float]:
    """Importances of the raw input columns (encoded features summed back), summing to 1."""
    model = pipeline[-1]
    encoder = pipeline[-2]
    raw_columns = list(pipeline[0].schema_)
    try:
        names = [str(n) for n in encoder.get_feature_names_out()]
    except (AttributeError, ValueError):
        return {}
    values = _native_importances(model, len(names))
    if values is None:
        return {}
    totals: dict[str, float] = {c: 0.0 for c in raw_columns}
    for name, value in zip(names, values, strict=False):
        col = source_column(name, raw_columns)
        totals[col] = totals.get(col, 0.0) + float(value)
    total = sum(totals.values())
    if total <= 0:
        return {c: 0.0 for c in totals}
    return {c: v / total for c, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def _native_importances(model: Any, n_features: int) -> np.ndarray | None:
    if isinstance(model, lgb.LGBMModel):
        return model.booster_.feature_importance(importance_type="gain")
    if hasattr(model, "feature_importances_"):
        return np.asarray(model.feature_importances_, dtype=float)
    if hasattr(model, "coef_"):
        coef = np.abs(np.atleast_2d(model.coef_))
        return coef.mean(axis=0)
    return None
