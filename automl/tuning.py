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
from automl.errors import InvalidDataError
from automl.events import Budget, EngineEvent, RunControl
from automl.preprocessing import TableCoercer, build_encoder, infer_schema
from automl.results import TrialResult, json_safe
from automl.search import Evaluation, TrialLoop, sorted_leaderboard
from automl.search_spaces import Choice, FloatParam, IntParam, Space, space_from_user
from automl.validation import as_table, as_target, check_table, drop_missing_target

SCORING_ALIASES = {
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "log_loss": "neg_log_loss",
    "mape": "neg_mean_absolute_percentage_error",
}
FOREST = {
    "n_estimators": IntParam(50, 500, log=True, default=100, grid=(100, 300)),
    "max_features": FloatParam(0.1, 1.0, default=0.5, grid=(0.3, 0.6, 1.0)),
    "min_samples_leaf": IntParam(1, 20, log=True, default=1, grid=(1, 3)),
    "max_depth": Choice((None, 6, 12, 24), grid=(None, 12)),
}
TUNER_SPACES: dict[str, Space] = {
    "random_forest": FOREST,
    "extra_trees": FOREST,
    "lightgbm": {
        "n_estimators": IntParam(20, 1000, log=True, default=100, grid=(100, 300)),
        "learning_rate": FloatParam(0.01, 0.3, log=True, default=0.1, grid=(0.05, 0.1)),
        "num_leaves": IntParam(4, 255, log=True, default=31, grid=(15, 63)),
        "min_child_samples": IntParam(2, 100, log=True, default=20),
        "subsample": FloatParam(0.5, 1.0, default=1.0),
        "colsample_bytree": FloatParam(0.3, 1.0, default=1.0),
        "reg_lambda": FloatParam(1e-8, 10.0, log=True, default=1e-8),
    },
    "hist_gradient_boosting": {
        "max_iter": IntParam(30, 500, log=True, default=100, grid=(100, 300)),
        "learning_rate": FloatParam(0.01, 0.3, log=True, default=0.1, grid=(0.05, 0.1)),
        "max_leaf_nodes": IntParam(4, 128, log=True, default=31, grid=(15, 31)),
        "l2_regularization": FloatParam(1e-8, 10.0, log=True, default=1e-8),
    },
    "gradient_boosting": {
        "n_estimators": IntParam(50, 500, log=True, default=100, grid=(100, 300)),
        "learning_rate": FloatParam(0.01, 0.3, log=True, default=0.1, grid=(0.05, 0.1)),
        "max_depth": IntParam(2, 8, default=3, grid=(3, 5)),
        "subsample": FloatParam(0.5, 1.0, default=1.0),
    },
    "ridge": {"alpha": FloatParam(1e-4, 1e3, log=True, default=1.0, grid=(0.01, 0.1, 1, 10))},
    "logistic_regression": {
        "C": FloatParam(1e-3, 1e3, log=True, default=1.0, grid=(0.01, 0.1, 1, 10, 100))
    },
    "svm": {
        "C": FloatParam(1e-2, 1e3, log=True, default=1.0, grid=(0.1, 1, 10)),
        "gamma": Choice(("scale", "auto")),
    },
    "knn": {"n_neighbors": IntParam(1, 50, log=True, default=5, grid=(3, 5, 11, 21))},
}
ALIASES = {
    "rf": "random_forest",
    "randomforest": "random_forest",
    "lgbm": "lightgbm",
    "lightgbm_regressor": "lightgbm",
    "lightgbm_classifier": "lightgbm",
    "hgb": "hist_gradient_boosting",
    "gbm": "gradient_boosting",
    "linear": "ridge",
    "logistic": "logistic_regression",
    "svr": "svm",
    "svc": "svm",
}
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
        with threadpool_limits(limits=1 if small else None, user_api="openmp"):
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
        model: Any,
        model_type: str,
        X: pd.DataFrame,
        y: pd.Series,
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
        Tables with text or date columns are encoded inside a pipeline automatically."""
        started = time.monotonic()
        if method not in TUNER_METHODS:
            raise InvalidDataError(f"method must be one of {TUNER_METHODS}, got {method!r}")
        if not isinstance(cv, int) or not 2 <= cv <= 20:
            raise InvalidDataError(f"cv must be an integer from 2 to 20, got {cv!r}")
        space = self._space(model_type, param_space)
        budget = Budget(max_trials=n_iter, timeout_seconds=timeout)
        budget.validate()
        classify = is_classifier(model)
        X = as_table(X)
        check_table(X)
        target = as_target(y, X, "classification" if classify else "regression")
        X, target, _ = drop_missing_target(X, target)
        estimator, space = self._prepare(model, model_type, X, space)
        scoring = scoring or ("accuracy" if classify else "neg_root_mean_squared_error")
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
        loop = TrialLoop(evaluator, {model_type: space}, method, control, random_state, True)
        outcome = loop.run()
        from automl.supervised import finish_search

        best = finish_search(outcome, control, True)
        final = evaluator.fit(evaluator.configured(best.params), X, target, lambda: None)
        control.finish(f"Tuning finished: best score {best.cv_score:.5g}")
        return TuningResult(
            best.params,
            float(best.cv_score),
            final,
            scoring,
            method,
            sorted_leaderboard(outcome.trials, True),
            time.monotonic() - started,
            outcome.stopped_reason,
        )

    @staticmethod
    def _space(model_type: str, param_space: Mapping[str, Any] | None) -> Space:
        if param_space is not None:
            return space_from_user(param_space)
        key = ALIASES.get(model_type.lower(), model_type.lower())
        if key not in TUNER_SPACES:
            raise InvalidDataError(
                f"no built-in search space for model_type {model_type!r}; pass param_space "
                f"or use one of {sorted(TUNER_SPACES)}"
            )
        return dict(TUNER_SPACES[key])

    @staticmethod
    def _prepare(model: Any, model_type: str, X: pd.DataFrame, space: Space) -> tuple[Any, Space]:
        """Wrap the model in an encoding pipeline when the table is not all numeric."""
        model = clone(model)
        if isinstance(model, lgb.LGBMModel):
            model.set_params(verbose=-1)
            if "subsample" in space and model.get_params().get("subsample_freq", 0) == 0:
                model.set_params(subsample_freq=1)
        if isinstance(model, Pipeline):
            return model, space
        schema = infer_schema(X)
        if all(kind == "numeric" for kind in schema.values()) and not X.isna().any().any():
            return model, space
        flavour = (
            "tree"
            if any(
                k in ALIASES.get(model_type, model_type)
                for k in ("forest", "trees", "lightgbm", "boosting")
            )
            else "linear"
        )
        pipeline = Pipeline(
            [
                ("prepare", TableCoercer(schema)),
                ("encode", build_encoder(schema, flavour)),
                ("model", model),
            ]
        )
        return pipeline, {f"model__{k}": v for k, v in space.items()}
