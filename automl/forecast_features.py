"""Demand-forecasting features on a long table (one row per series and period).

Direct strategy: every lag is at least ``horizon`` periods old, so the features of all the
next ``horizon`` periods are known at forecast time and a backtest needs no recursion.
Targets are divided by a per-series scale (mean absolute value) so one global model serves
series of very different sizes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import InvalidDataError

TARGET = "__target"
SINGLE_SERIES = "__all__"


@dataclass(frozen=True, slots=True)
class ForecastConfig:
    """Which columns hold the series id, date and (optionally) the target; the horizon.

    ``series_id=None`` means one series. ``target`` is used when ``y`` is None. ``freq`` is a
    pandas frequency ("D", "W-SUN", "MS"); inferred from the dates when None. ``calendar``:
    the model also sees the date as calendar features (weekday, month, day of year, week,
    weekend, and the run's holidays), not only the lags.
    """

    series_id: str | None = "series_id"
    date: str = "date"
    horizon: int = 7
    target: str | None = None
    freq: str | None = None
    calendar: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "series_id": self.series_id,
            "date": self.date,
            "horizon": self.horizon,
            "target": self.target,
            "freq": self.freq,
            "calendar": self.calendar,
        }


@dataclass(slots=True)
class FeatureSpec:
    """The lags and rolling windows used, fixed once from the training history."""

    horizon: int
    lags: list[int]
    windows: list[int]
    covariates: list[str]
    freq: str
    scales: dict[str, float] = field(default_factory=dict)

    @property
    def history_needed(self) -> int:
        """Periods of history per series needed to compute the features."""
        return max([*self.lags, self.horizon + max(self.windows, default=0)]) + 1


def choose_spec(n_periods: int, horizon: int, covariates: list[str], freq: str) -> FeatureSpec:
    """Lags ``horizon + {0, 1, 2, 6, 13, 27}`` and windows 7/28 that fit the history length."""
    limit = max(horizon, n_periods // 2)
    lags = sorted({horizon + k for k in (0, 1, 2, 6, 13, 27) if horizon + k <= limit})
    windows = [w for w in (7, 28) if horizon + w <= limit] or [3]
    return FeatureSpec(horizon, lags, windows, covariates, freq)


def infer_freq(dates: pd.Series) -> str:
    """The series' frequency: pandas' inference on the distinct dates, else the commonest gap."""
    unique = pd.DatetimeIndex(sorted(dates.dropna().unique()))
    if len(unique) < 3:
        raise InvalidDataError("forecasting needs at least 3 distinct dates")
    with warnings.catch_warnings():  # pandas 3 announces an offset return type
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(unique[-min(len(unique), 60) :])
    if freq:
        return pd.tseries.frequencies.to_offset(freq).freqstr
    gap = pd.Series(unique[1:] - unique[:-1]).mode().iloc[0]
    return pd.tseries.frequencies.to_offset(gap).freqstr


def long_table(X: pd.DataFrame, y: Any, config: ForecastConfig) -> pd.DataFrame:
    """Columns (series, date, covariates..., ``__target``), validated and sorted."""
    needed = [config.date] + ([config.series_id] if config.series_id else [])
    missing = [c for c in needed if c not in X.columns]
    if missing:
        raise InvalidDataError(f"forecasting input is missing column(s): {missing}")
    frame = X.copy()
    if y is None:
        if not config.target or config.target not in frame.columns:
            raise InvalidDataError("forecasting needs y or ForecastConfig.target naming a column")
        frame[TARGET] = frame.pop(config.target)
    else:
        if len(y) != len(frame):
            raise InvalidDataError(f"X and y have different lengths: {len(frame)} vs {len(y)}")
        frame[TARGET] = np.asarray(y)
    if not config.series_id:
        frame["__series"] = SINGLE_SERIES
    sid = config.series_id or "__series"
    frame[sid] = frame[sid].astype(str)
    frame[config.date] = pd.to_datetime(frame[config.date], errors="coerce")
    if frame[config.date].isna().any():
        raise InvalidDataError(f"column {config.date!r} has missing or unreadable dates")
    if frame.duplicated([sid, config.date]).any():
        raise InvalidDataError(f"duplicate ({sid}, {config.date}) rows: one value per period")
    return frame.sort_values([sid, config.date]).reset_index(drop=True)


def complete_grid(frame: pd.DataFrame, sid: str, date: str, freq: str) -> pd.DataFrame:
    """Insert missing periods (target NaN) so row-based lags are period-based."""
    parts = []
    for key, group in frame.groupby(sid, sort=True):
        dates = pd.date_range(group[date].min(), group[date].max(), freq=freq)
        if len(dates) == len(group) and (dates == pd.DatetimeIndex(group[date])).all():
            parts.append(group)
            continue
        full = group.set_index(date).reindex(dates.union(pd.DatetimeIndex(group[date])))
        full[sid] = key
        parts.append(full.rename_axis(date).reset_index())
    return pd.concat(parts, ignore_index=True)


def series_scales(frame: pd.DataFrame, sid: str) -> dict[str, float]:
    """Mean absolute target per series (1.0 when it is zero or unknown)."""
    scales = frame.groupby(sid)[TARGET].apply(lambda s: float(np.nanmean(np.abs(s))))
    return {str(k): (v if np.isfinite(v) and v > 1e-9 else 1.0) for k, v in scales.items()}


def build_features(frame: pd.DataFrame, spec: FeatureSpec, sid: str, date: str) -> pd.DataFrame:
    """Feature table aligned with ``frame`` rows: id, date, covariates, lags, rolling stats."""
    scale = frame[sid].map(spec.scales).fillna(1.0).to_numpy()
    scaled = pd.Series(frame[TARGET].to_numpy(dtype=float) / scale, index=frame.index)
    groups = scaled.groupby(frame[sid].to_numpy(), sort=False)
    out = frame[[sid, date, *spec.covariates]].copy()
    for lag in spec.lags:
        out[f"lag_{lag}"] = groups.shift(lag)
    shifted = groups.shift(spec.horizon)
    by_series = shifted.groupby(frame[sid].to_numpy(), sort=False)
    for window in spec.windows:
        out[f"mean_{window}"] = by_series.transform(
            lambda s, w=window: s.rolling(w, min_periods=1).mean()
        )
    out[f"std_{spec.windows[0]}"] = by_series.transform(
        lambda s: s.rolling(spec.windows[0], min_periods=2).std()
    )
    return out


def scaled_target(frame: pd.DataFrame, spec: FeatureSpec, sid: str) -> np.ndarray:
    """The target divided by its series' scale."""
    scale = frame[sid].map(spec.scales).fillna(1.0).to_numpy()
    return frame[TARGET].to_numpy(dtype=float) / scale


def future_frame(
    history: pd.DataFrame, spec: FeatureSpec, sid: str, date: str, future: pd.DataFrame | None
) -> pd.DataFrame:
    """The next ``horizon`` periods of every series, covariates from ``future`` when given,
    else carried forward from the last known period."""
    offset = pd.tseries.frequencies.to_offset(spec.freq)
    rows = []
    for key, group in history.groupby(sid, sort=True):
        last = group.iloc[-1]
        for step in range(1, spec.horizon + 1):
            row = {sid: key, date: last[date] + step * offset, TARGET: np.nan}
            row.update({c: last[c] for c in spec.covariates})
            rows.append(row)
    frame = pd.DataFrame(rows)
    if future is not None and spec.covariates:
        given = future.copy()
        given[sid] = given[sid].astype(str)
        given[date] = pd.to_datetime(given[date], errors="coerce")
        known = [c for c in spec.covariates if c in given.columns]
        merged = frame.merge(
            given[[sid, date, *known]], on=[sid, date], how="left", suffixes=("", "__given")
        )
        for col in known:
            merged[col] = merged[f"{col}__given"].where(
                merged[f"{col}__given"].notna(), merged[col]
            )
        frame = merged.drop(columns=[f"{c}__given" for c in known])
    return frame
