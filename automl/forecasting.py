"""Demand forecasting: one global model across series, backtested on the last periods,
forecasting the next ``horizon`` periods of every series."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from automl.candidates import build_pipeline, model_importances
from automl.ensemble import WeightedEnsemble, weighted_sum
from automl.errors import InvalidDataError, TrialInterrupted
from automl.events import RunControl
from automl.forecast_features import (
    TARGET,
    FeatureSpec,
    ForecastConfig,
    build_features,
    choose_spec,
    complete_grid,
    future_frame,
    infer_freq,
    long_table,
    scaled_target,
    series_scales,
)
from automl.metrics import check_metric, greater_is_better, mean_metrics, regression_metrics
from automl.preprocessing import infer_schema
from automl.results import AutoMLResult, json_safe
from automl.search import Evaluation, run_search, sorted_leaderboard
from automl.search_spaces import Space
from automl.supervised import choose_final, finish_search, refit_members
from automl.validation import check_table

__all__ = ["ForecastConfig", "ForecastModel", "run_forecasting"]


class ForecastModel:
    """A fitted global model plus what it needs to forecast: the feature spec, per-series
    scales and the recent history of every series."""

    def __init__(
        self,
        estimator: Any,
        spec: FeatureSpec,
        config: ForecastConfig,
        history: pd.DataFrame,
        target_name: str,
    ) -> None:
        self.estimator, self.spec, self.config = estimator, spec, config
        self.target_name = target_name
        self.sid = config.series_id or "__series"
        keep = spec.history_needed + 1
        self.history = history.groupby(self.sid, sort=False).tail(keep).reset_index(drop=True)

    def forecast(
        self, history: pd.DataFrame | None = None, future: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Next ``horizon`` periods per series: columns (series id, date, forecast).

        ``history`` (same long format as training, target column included) replaces the
        stored history when given; ``future`` may carry known covariates (price, promotion).
        """
        past = self.history
        if history is not None:
            past = long_table(
                history,
                None,
                ForecastConfig(
                    self.config.series_id,
                    self.config.date,
                    self.config.horizon,
                    self.target_name,
                    self.spec.freq,
                ),
            )
            past = complete_grid(past, self.sid, self.config.date, self.spec.freq)
        ahead = future_frame(past, self.spec, self.sid, self.config.date, future)
        ahead["__future"] = True
        frame = (
            pd.concat([past.assign(__future=False), ahead], ignore_index=True)
            .sort_values([self.sid, self.config.date], kind="stable")
            .reset_index(drop=True)
        )
        features = build_features(frame, self.spec, self.sid, self.config.date)
        rows = frame["__future"].to_numpy(dtype=bool)
        scale = frame.loc[rows, self.sid].map(self.spec.scales).fillna(1.0).to_numpy()
        values = np.asarray(self.estimator.predict(features[rows]), dtype=float) * scale
        out = frame.loc[rows, [self.sid, self.config.date]].reset_index(drop=True)
        out["forecast"] = values
        return out

    def predict(self, X: pd.DataFrame | None = None) -> np.ndarray:
        """Forecast values (see :meth:`forecast`), in (series, date) order."""
        return self.forecast(X)["forecast"].to_numpy()

    def feature_importances(self) -> dict[str, float]:
        """Importances of the engineered features (lags, rolling means, calendar, ...)."""
        if isinstance(self.estimator, WeightedEnsemble):
            return self.estimator.feature_importances()
        return model_importances(self.estimator)


class ForecastEvaluator:
    """Rolling-origin backtest: each fold trains up to a cutoff and scores the next horizon."""

    def __init__(
        self,
        features: pd.DataFrame,
        frame: pd.DataFrame,
        spec: FeatureSpec,
        sid: str,
        cutoffs: list[pd.Timestamp],
        date: str,
        metric: str,
        seed: int,
        n_jobs: int,
        holidays: str | None = None,
        calendar: bool = True,
    ) -> None:
        self.features, self.spec, self.metric = features, spec, metric
        self.seed, self.n_jobs, self.holidays = seed, n_jobs, holidays
        self.schema = infer_schema(features)
        if not calendar:  # the date column is left out of the model's input
            del self.schema[date]
        self.y_scaled = pd.Series(scaled_target(frame, spec, sid), index=frame.index)
        self.scale = frame[sid].map(spec.scales).fillna(1.0).to_numpy()
        self.actual = frame[TARGET].to_numpy(dtype=float)
        known = ~np.isnan(self.actual)
        offset = pd.tseries.frequencies.to_offset(spec.freq)
        dates = frame[date]
        self.folds = []
        for cut in cutoffs:
            train = np.flatnonzero(known & (dates <= cut).to_numpy())
            valid = np.flatnonzero(
                known & ((dates > cut) & (dates <= cut + spec.horizon * offset)).to_numpy()
            )
            if len(train) and len(valid):
                self.folds.append((train, valid))
        if not self.folds:
            raise InvalidDataError("not enough history for a backtest; shorten the horizon")
        self.valid_rows = np.concatenate([v for _, v in self.folds])

    def build(self, algorithm: str, params: dict[str, Any]) -> Any:
        return build_pipeline(
            algorithm,
            params,
            "forecasting",
            self.schema,
            self.seed,
            self.n_jobs,
            holidays=self.holidays,
        )

    def evaluate(
        self,
        algorithm: str,
        params: dict[str, Any],
        report: Callable[[int, float], None],
        check: Callable[[], None],
    ) -> Evaluation:
        """Fit per backtest window, score unscaled forecasts of the window."""
        from automl.candidates import fit_pipeline

        parts, per_fold, seconds, model = [], [], [], None
        for step, (train, valid) in enumerate(self.folds):
            model = self.build(algorithm, params)
            started = time.monotonic()
            fit_pipeline(model, self.features.iloc[train], self.y_scaled.iloc[train], check)
            seconds.append(time.monotonic() - started)
            pred = np.asarray(model.predict(self.features.iloc[valid]), dtype=float)
            pred *= self.scale[valid]
            parts.append(pred)
            per_fold.append(regression_metrics(self.actual[valid], pred))
            report(step, float(np.mean([m[self.metric] for m in per_fold])))
        scores = [m[self.metric] for m in per_fold]
        return Evaluation(
            float(np.mean(scores)),
            scores,
            mean_metrics(per_fold),
            np.concatenate(parts),
            model,
            float(np.mean(seconds)),
        )

    def fold_metrics(self, predictions: np.ndarray) -> dict[str, float]:
        """Every metric, averaged over windows, for concatenated window predictions."""
        per_fold, start = [], 0
        for _, valid in self.folds:
            part = predictions[start : start + len(valid)]
            per_fold.append(regression_metrics(self.actual[valid], part))
            start += len(valid)
        return mean_metrics(per_fold)

    def score(self, predictions: np.ndarray) -> float:
        """Mean over windows of the metric for concatenated window predictions."""
        return self.fold_metrics(predictions)[self.metric]


def _cutoffs(dates: pd.Series, horizon: int, n_folds: int, freq: str) -> list[pd.Timestamp]:
    offset = pd.tseries.frequencies.to_offset(freq)
    last = dates.max()
    return [last - (k * horizon) * offset for k in range(n_folds + 1, 0, -1)]


def run_forecasting(
    X: pd.DataFrame,
    y: Any,
    config: ForecastConfig,
    metric: str | None,
    spaces: dict[str, Space],
    method: str,
    control: RunControl,
    cv_folds: int,
    seed: int,
    n_jobs: int,
    ensemble: bool,
    holidays: str | None = None,
) -> AutoMLResult:
    """Backtest-driven search, test on the last ``horizon`` periods, refit on everything.
    The date is a calendar feature too (``config.calendar``), with ``holidays``' flags."""
    if not isinstance(config.horizon, int) or config.horizon < 1:
        raise InvalidDataError(f"horizon must be a positive integer, got {config.horizon!r}")
    check_table(X)
    frame = long_table(X, y, config)
    if not pd.api.types.is_numeric_dtype(frame[TARGET]) or frame[TARGET].isna().all():
        raise InvalidDataError("forecasting needs a numeric target with known values")
    if np.isinf(frame[TARGET].to_numpy(dtype=float)).any():
        raise InvalidDataError("the target has infinite values")
    metric = check_metric("forecasting", metric)
    sid, date, h = config.series_id or "__series", config.date, config.horizon
    freq = config.freq or infer_freq(frame[date])
    frame = complete_grid(frame, sid, date, freq)
    n_periods = frame.groupby(sid).size().max()
    n_folds = min(cv_folds, 3, (n_periods - 2 * h) // h - 1)
    if n_folds < 1:
        raise InvalidDataError(
            f"{n_periods} periods are too few for horizon {h}: need at least {4 * h}"
        )
    covariates = [c for c in frame.columns if c not in (sid, date, TARGET)]
    spec = choose_spec(n_periods, h, covariates, freq)
    cutoffs = _cutoffs(frame[date], h, n_folds + 1, freq)  # the last one opens the test window
    test_cut = cutoffs[-1]
    spec.scales = series_scales(frame[frame[date] <= test_cut], sid)
    features = build_features(frame, spec, sid, date)
    evaluator = ForecastEvaluator(
        features, frame, spec, sid, cutoffs, date, metric, seed, n_jobs, holidays, config.calendar
    )
    test_fold = evaluator.folds.pop()
    evaluator.valid_rows = np.concatenate([v for _, v in evaluator.folds])
    control.log(
        f"Forecasting {frame[sid].nunique()} series, horizon {h} ({freq}), "
        f"{len(evaluator.folds)} backtest window(s), metric {metric}"
    )
    higher = greater_is_better(metric)
    t0 = time.monotonic()
    outcome = run_search(evaluator, spaces, method, control, seed, higher)
    best = finish_search(outcome, control, higher)
    weights, info = choose_final(outcome, best, evaluator, higher, control, ensemble)
    search_seconds, t1 = time.monotonic() - t0, time.monotonic()
    train, test = test_fold
    try:
        if control.cancelled:
            raise TrialInterrupted("cancelled")
        backtest = refit_members(
            weights,
            outcome,
            evaluator,
            features.iloc[train],
            evaluator.y_scaled.iloc[train],
            control,
            "regression",
        )
        test_pred = np.asarray(backtest.predict(features.iloc[test])) * evaluator.scale[test]
        test_metrics = regression_metrics(evaluator.actual[test], test_pred)
        spec.scales = series_scales(frame, sid)
        features = build_features(frame, spec, sid, date)
        known = frame[TARGET].notna().to_numpy()
        final = refit_members(
            weights,
            outcome,
            evaluator,
            features[known],
            pd.Series(scaled_target(frame, spec, sid)[known]),
            control,
            "regression",
        )
    except TrialInterrupted:
        final, info, test_metrics = outcome.evaluations[best.number].model, None, {}
    target_name = config.target or str(getattr(y, "name", None) or "value")
    model = ForecastModel(final, spec, config, frame, target_name)
    cv_metrics = dict(best.cv_metrics)
    if info is not None:
        blend = weighted_sum(
            (outcome.evaluations[n].predictions for n in info.members), info.weights
        )
        cv_metrics = evaluator.fold_metrics(blend)
    forecast = model.forecast()
    forecast[date] = forecast[date].dt.strftime("%Y-%m-%d")
    return AutoMLResult(
        problem_type="forecasting",
        metric=metric,
        greater_is_better=higher,
        leaderboard=sorted_leaderboard(outcome.trials, higher),
        best_trial=best,
        best_estimator=model,
        cv_metrics=cv_metrics,
        test_metrics=test_metrics,
        feature_importances=model.feature_importances(),
        input_schema=dict(infer_schema(X)),
        stopped_reason="cancelled" if control.cancelled else outcome.stopped_reason,
        seed=seed,
        method=method,
        ensemble=info,
        timings={"search_seconds": search_seconds, "refit_seconds": time.monotonic() - t1},
        target=target_name,
        forecast=json_safe(forecast.to_dict("records")),
        forecast_config={
            **config.to_dict(),
            "freq": freq,
            "lags": spec.lags,
            "windows": spec.windows,
        },
        n_rows={"train": len(train), "test": len(test)},
        input_example=None,
    )
