"""``HyperparameterTuner``: tune one given estimator (scikit-learn or LightGBM) by random,
grid or Bayesian (Optuna TPE) search with cross-validation."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from automl.candidates import SMALL_DATA_ROWS
from automl.catalogue import default_metric
from automl.errors import InvalidDataError
from automl.estimator_families import (
    TREE_FAMILIES,
    build_estimator,
    family_from_class,
    family_from_name,
    final_step,
    is_classification_name,
    resolve_family,
    xgboost_module,
)
from automl.events import Budget, EngineEvent, RunControl
from automl.preprocessing import EncoderFlavour, TableCoercer, build_encoder, infer_schema
from automl.results import TrialResult, json_safe
from automl.search import Evaluation, TrialLoop, sorted_leaderboard
from automl.search_spaces import Space, algorithm_space, space_from_user
from automl.validation import as_table, as_target, check_table, drop_missing_target

SCORING_ALIASES = {
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "log_loss": "neg_log_loss",
    "mape": "neg_mean_absolute_percentage_error",
    "f1_macro": "f1_macro",
}


def default_scoring(estimator: Any, classify: bool, n_classes: int) -> str:
    """The engine's default metric of the problem type (automl/catalogue.py), as a scikit-learn
    scorer name; accuracy for a classifier without class probabilities."""
    if not classify:
        return default_metric("regression")
    if not hasattr(estimator, "predict_proba"):
        return "accuracy"
    return "roc_auc" if n_classes == 2 else "roc_auc_ovr"


TUNER_METHODS = ("random_search", "grid_search", "bayesian")


@dataclass(slots=True)
class TuningResult:
    """Best hyperparameters, their CV score, the estimator refit on all rows, every trial."""

    best_params: dict[str, Any]
    best_score: float
    best_estimator: Any
    scoring: str
    method: str
    trials: list[TrialResult]
    duration_seconds: float
    stopped_reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (without the estimator)."""
        return json_safe(
            {
                "best_params": self.best_params,
                "best_score": self.best_score,
                "scoring": self.scoring,
                "method": self.method,
                "trials": [t.to_dict() for t in self.trials],
                "duration_seconds": self.duration_seconds,
                "stopped_reason": self.stopped_reason,
            }
        )


class _CVScorer:
    """Cross-validated sklearn scorer for one estimator (greater is better)."""

    def __init__(self, model: Any, X: pd.DataFrame, y: pd.Series, folds: list, scorer: Any) -> None:
        self.model, self.X, self.y, self.folds, self.scorer = model, X, y, folds, scorer

    def configured(self, params: dict[str, Any]) -> Any:
        return clone(self.model).set_params(**params)

    def fit(self, estimator: Any, X: pd.DataFrame, y: pd.Series, check: Callable[[], None]) -> Any:
        last = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        small = len(X) < SMALL_DATA_ROWS
        with threadpool_limits(limits=1 if small else None):  # OpenMP and BLAS
            xgboost = small and family_from_class(last) == "xgboost"
            if xgboost and last.get_params().get("n_jobs") in (None, -1):
                last.set_params(n_jobs=1)  # threads cost more than they give on few rows
            if isinstance(last, lgb.LGBMModel):
                if small and last.get_params().get("n_jobs") in (None, -1):
                    last.set_params(n_jobs=1)
                callbacks = [lambda env: check()]
                key = "model__callbacks" if isinstance(estimator, Pipeline) else "callbacks"
                return estimator.fit(X, y, **{key: callbacks})
            return estimator.fit(X, y)

    def evaluate(
        self,
        algorithm: str,
        params: dict[str, Any],
        report: Callable[[int, float], None],
        check: Callable[[], None],
    ) -> Evaluation:
        scores, started = [], time.monotonic()
        for step, (train, valid) in enumerate(self.folds):
            check()
            estimator = self.fit(
                self.configured(params), self.X.iloc[train], self.y.iloc[train], check
            )
            scores.append(float(self.scorer(estimator, self.X.iloc[valid], self.y.iloc[valid])))
            report(step, float(np.mean(scores)))
        seconds = (time.monotonic() - started) / len(self.folds)
        return Evaluation(float(np.mean(scores)), scores, {}, None, None, seconds)


class HyperparameterTuner:
    """Tunes a given estimator's hyperparameters by cross-validation."""

    def auto_tune_model(
        self,
        model: Any = None,
        model_type: str | None = None,
        X: pd.DataFrame | None = None,
        y: pd.Series | None = None,
        method: str = "bayesian",
        n_iter: int = 20,
        cv: int = 5,
        timeout: float | None = None,
        scoring: str | None = None,
        param_space: Mapping[str, Any] | None = None,
        random_state: int = 0,
        callback: Callable[[EngineEvent], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TuningResult:
        """Search ``param_space`` (or the built-in space of ``model_type``) with ``method``
        ("random_search", "grid_search", "bayesian"), at most ``n_iter`` trials and
        ``timeout`` seconds; returns the best parameters and the estimator refit on all rows.

        ``model_type`` names a family ("random_forest_regressor", "gradient_boosting",
        "xgboost", any ``*_regressor``/``*_classifier``); when it is unknown, or its space does
        not fit ``model``, the space comes from the model's class. Without ``model`` a default
        estimator of ``model_type`` is built. Tables with text or date columns are encoded
        inside a pipeline automatically."""
        started = time.monotonic()
        if method not in TUNER_METHODS:
            raise InvalidDataError(f"method must be one of {TUNER_METHODS}, got {method!r}")
        if not isinstance(cv, int) or not 2 <= cv <= 20:
            raise InvalidDataError(f"cv must be an integer from 2 to 20, got {cv!r}")
        if model is None and model_type is None:
            raise InvalidDataError("give a model (an estimator) or a model_type to tune")
        if param_space is None or model is None:
            family: str | None = resolve_family(model, model_type)
        else:  # the caller's space: the family only picks the table encoding
            family = (family_from_name(model_type) if model_type else None) or family_from_class(
                model
            )
        if model is None:
            assert family is not None and model_type is not None
            model = build_estimator(family, is_classification_name(model_type), random_state)
        space = (
            space_from_user(param_space)
            if param_space is not None
            else algorithm_space(str(family))
        )
        budget = Budget(max_trials=n_iter, timeout_seconds=timeout)
        budget.validate()
        classify = is_classifier(model)
        X = as_table(X)
        check_table(X)
        target = as_target(y, X, "classification" if classify else "regression")
        X, target, _ = drop_missing_target(X, target)
        label = family or model_type or type(final_step(model)[0]).__name__
        estimator, space = self._prepare(model, family, X, space)
        scoring = scoring or default_scoring(estimator, classify, target.nunique())
        try:
            scorer = get_scorer(SCORING_ALIASES.get(scoring, scoring))
        except ValueError as exc:
            raise InvalidDataError(f"unknown scoring {scoring!r}") from exc
        splitter = (
            StratifiedKFold(cv, shuffle=True, random_state=random_state)
            if classify
            else KFold(cv, shuffle=True, random_state=random_state)
        )
        folds = list(splitter.split(np.zeros(len(X)), target))
        evaluator = _CVScorer(estimator, X, target, folds, scorer)
        control = RunControl(budget, callback, should_stop)
        loop = TrialLoop(evaluator, {label: space}, method, control, random_state, True)
        outcome = loop.run()
        from automl.supervised import finish_search

        best = finish_search(outcome, control, True)
        final = evaluator.fit(evaluator.configured(best.params), X, target, lambda: None)
        control.finish(f"Tuning finished: best score {best.cv_score:.5g}")
        return TuningResult(
            best.params,
            float(best.cv_score or 0.0),  # finish_search returns a completed trial
            final,
            scoring,
            method,
            sorted_leaderboard(outcome.trials, True),
            time.monotonic() - started,
            outcome.stopped_reason,
        )

    @staticmethod
    def _prepare(
        model: Any, family: str | None, X: pd.DataFrame, space: Space
    ) -> tuple[Any, Space]:
        """Prefix a pipeline's space with its last step; wrap a bare model in an encoding
        pipeline when the table is not all numeric."""
        model = clone(model)
        estimator, prefix = final_step(model)
        if isinstance(estimator, lgb.LGBMModel):
            estimator.set_params(verbose=-1)
            if "subsample" in space and estimator.get_params().get("subsample_freq", 0) == 0:
                estimator.set_params(subsample_freq=1)
        if prefix:
            return model, {
                k if k.startswith(prefix) else f"{prefix}{k}": v for k, v in space.items()
            }
        schema = infer_schema(X)
        if all(kind == "numeric" for kind in schema.values()) and not X.isna().any().any():
            return model, space
        flavour: EncoderFlavour = "tree" if family in TREE_FAMILIES else "linear"
        pipeline = Pipeline(
            [
                ("prepare", TableCoercer(schema)),
                ("encode", build_encoder(schema, flavour)),
                ("model", model),
            ]
        )
        return pipeline, {f"model__{k}": v for k, v in space.items()}


def __getattr__(name: str) -> Any:
    """``from automl.tuning import XGBRegressor`` (the seed's example): XGBoost's estimators,
    or an error saying what to install."""
    if name in ("XGBRegressor", "XGBClassifier"):
        return getattr(xgboost_module(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
