"""Save a run's fitted model to a file and load it back as a :class:`Predictor` whose
``predict`` returns JSON-safe rows.

Files are joblib pickles: load only files your own system wrote (pickle runs code).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

from automl.errors import InvalidDataError
from automl.results import AutoMLResult, json_safe

FORMAT_VERSION = 1


@dataclass(slots=True)
class Predictor:
    """A loaded model: ``predict(rows)`` -> one JSON-safe dict per row (or per forecast
    period)."""

    estimator: Any
    problem_type: str
    input_schema: dict[str, str]
    classes: list[Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def predict(
        self, rows: pd.DataFrame | list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Regression ``{"value"}``; classification ``{"class", "probabilities"}``; clustering
        ``{"cluster"}``; forecasting ``{series, date, "forecast"}`` for the next horizon
        (``rows``: recent history in the training format, or None for the stored history)."""
        if self.problem_type == "forecasting":
            frame = None if rows is None else pd.DataFrame(rows)
            forecast = self.estimator.forecast(frame)
            return json_safe(forecast.to_dict("records"))
        if rows is None:
            raise InvalidDataError("predict needs rows")
        frame = pd.DataFrame(rows)
        if frame.empty:
            return []
        check_dates(frame, self.input_schema)
        if self.problem_type == "classification":
            proba = self.estimator.predict_proba(frame)
            labels = [json_safe(c) for c in self.classes or self.estimator.classes_]
            return [
                {
                    "class": labels[int(np.argmax(p))],
                    "probabilities": {str(c): float(v) for c, v in zip(labels, p, strict=True)},
                }
                for p in proba
            ]
        values = self.estimator.predict(frame)
        key = "cluster" if self.problem_type == "clustering" else "value"
        cast = int if key == "cluster" else float
        return [{key: cast(v)} for v in np.asarray(values)]


def check_dates(frame: pd.DataFrame, schema: dict[str, str]) -> None:
    """Refuse a value of a datetime input column that is not a date (missing is allowed)."""
    for column, kind in schema.items():
        if kind != "datetime" or column not in frame.columns:
            continue
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            continue
        present = values[values.notna()]
        parsed = pd.to_datetime(present.astype(str), errors="coerce", utc=True, format="mixed")
        bad = present[parsed.isna().to_numpy()]
        if len(bad):
            raise InvalidDataError(
                f"column {column!r} expects a date (e.g. 2026-01-31); got {str(bad.iloc[0])[:40]!r}"
            )


def save_model(result: AutoMLResult, path: str | Path) -> Path:
    """Write the fitted model of ``result`` (and what predicting needs) to ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": FORMAT_VERSION,
        "predictor": Predictor(
            estimator=result.best_estimator,
            problem_type=result.problem_type,
            input_schema=dict(result.input_schema),
            classes=result.classes,
            metadata={
                "metric": result.metric,
                "cv_score": result.cv_score,
                "test_metrics": dict(result.test_metrics),
                "best_model": result.best_model_name,
                "sklearn_version": sklearn.__version__,
                "python_version": platform.python_version(),
            },
        ),
    }
    joblib.dump(payload, target)
    return target


def load_model(path: str | Path) -> Predictor:
    """Load a file written by :func:`save_model`."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no model file at {source}")
    payload = joblib.load(source)
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise InvalidDataError(f"{source} is not a model file written by automl.save_model")
    return payload["predictor"]
