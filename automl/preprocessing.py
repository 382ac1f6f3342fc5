"""Column typing and the preprocessing steps that live inside every fitted pipeline.

Every pipeline starts with :class:`TableCoercer` (select the training columns, coerce their
types, so raw rows from JSON predict correctly), then a ``ColumnTransformer`` whose flavour
depends on the model family: ``"tree"`` (ordinal-coded categoricals first, NaN left for the
model) or ``"linear"`` (one-hot, median imputation with missing indicators, scaling).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from automl.calendar_features import calendar_matrix, calendar_parts, check_holidays
from automl.catalogue import ColumnKind
from automl.errors import InvalidDataError

EncoderFlavour = Literal["tree", "linear"]
LEGACY_CALENDAR_PARTS = ("year", "month", "day", "day_of_week", "day_of_year", "hour")
# HistGradientBoosting needs category codes below max_bins (255).
MAX_TREE_CATEGORIES = 250


def column_kind(series: pd.Series) -> ColumnKind:
    """Classify one column as numeric, boolean, categorical or datetime."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"
    if pd.api.types.is_object_dtype(dtype):
        values = series.dropna()
        if len(values) and values.map(lambda v: isinstance(v, bool | np.bool_)).all():
            return "boolean"
    return "categorical"


def infer_schema(X: pd.DataFrame) -> dict[str, ColumnKind]:
    """Column name -> kind, in the table's column order."""
    return {str(name): column_kind(X[name]) for name in X.columns}


def _to_numeric(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return series.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if series.dtype == object:
        series = series.map(lambda v: float(v) if isinstance(v, bool | np.bool_) else v)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _to_datetime(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    converted = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    return converted.dt.tz_localize(None)


def _to_category_strings(series: pd.Series) -> pd.Series:
    values = series.astype(object)
    missing = pd.isna(values)
    return values.where(missing, values.astype(str)).where(~missing, np.nan)


class TableCoercer(TransformerMixin, BaseEstimator):
    """Select the schema's columns and coerce each to its kind; missing columns raise."""

    def __init__(self, schema: dict[str, ColumnKind] | None = None) -> None:
        self.schema = schema

    def fit(self, X: pd.DataFrame, y: object = None) -> TableCoercer:
        self.schema_ = dict(self.schema) if self.schema else infer_schema(X)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(X, columns=list(self.schema_))
        missing = [c for c in self.schema_ if c not in X.columns]
        if missing:
            raise InvalidDataError(f"input is missing column(s): {', '.join(missing)}")
        out: dict[str, object] = {}
        for name, kind in self.schema_.items():
            col = X[name]
            if kind in ("numeric", "boolean"):
                out[name] = _to_numeric(col)
            elif kind == "datetime":
                out[name] = _to_datetime(col).to_numpy()
            else:
                out[name] = _to_category_strings(col).to_numpy(dtype=object)
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(list(self.schema_), dtype=object)


class CalendarFeatures(TransformerMixin, BaseEstimator):
    """Expand datetime columns into calendar features (see :mod:`automl.calendar_features`):
    year, month, day, weekday, day of year, week of year, weekend, hour, and with
    ``holidays="BR"`` a holiday flag and the days to the next / since the last holiday.

    The feature list is fixed at fit time and pickled with the model, so ``predict`` computes
    exactly what training computed.
    """

    def __init__(self, holidays: str | None = None) -> None:
        self.holidays = holidays

    def fit(self, X: pd.DataFrame, y: object = None) -> CalendarFeatures:
        self.columns_ = [str(c) for c in X.columns]
        self.holidays_ = check_holidays(self.holidays)
        self.parts_ = calendar_parts(self.holidays_)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        # Models pickled before the feature list was stored used the six legacy parts.
        parts = getattr(self, "parts_", LEGACY_CALENDAR_PARTS)
        holidays = getattr(self, "holidays_", None)
        frame = pd.DataFrame(X)
        blocks = []
        for i, _ in enumerate(self.columns_):
            values = frame.iloc[:, i]
            if parts == LEGACY_CALENDAR_PARTS:
                dt = pd.to_datetime(pd.Series(values), errors="coerce")
                blocks.append(
                    np.column_stack(
                        [getattr(dt.dt, p).to_numpy(dtype=float, na_value=np.nan) for p in parts]
                    )
                )
            else:
                blocks.append(calendar_matrix(values, holidays))
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        parts = getattr(self, "parts_", LEGACY_CALENDAR_PARTS)
        return np.asarray([f"{c}_{p}" for c in self.columns_ for p in parts], dtype=object)


class NumericColumns(TransformerMixin, BaseEstimator):
    """Pass numeric and boolean columns through as float64 (NaN kept)."""

    def fit(self, X: pd.DataFrame, y: object = None) -> NumericColumns:
        self.columns_ = [str(c) for c in X.columns]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(X, dtype=float)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.columns_, dtype=object)


def columns_by_kind(schema: dict[str, ColumnKind]) -> dict[str, list[str]]:
    """Group schema columns: categorical, datetime, numeric (numeric includes booleans)."""
    groups: dict[str, list[str]] = {"categorical": [], "datetime": [], "numeric": []}
    for name, kind in schema.items():
        groups["numeric" if kind == "boolean" else kind].append(name)
    return groups


def build_encoder(
    schema: dict[str, ColumnKind], flavour: EncoderFlavour, holidays: str | None = None
) -> ColumnTransformer:
    """The column transformer for one model family; categoricals always come first.
    Datetime columns become calendar features (with ``holidays``' flags when given)."""
    groups = columns_by_kind(schema)
    steps: list[tuple[str, object, list[str]]] = []
    if flavour == "tree":
        if groups["categorical"]:
            encoder = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=-1,
                encoded_missing_value=np.nan,
                max_categories=MAX_TREE_CATEGORIES,
            )
            steps.append(("cat", encoder, groups["categorical"]))
        if groups["datetime"]:
            steps.append(("date", CalendarFeatures(holidays), groups["datetime"]))
        if groups["numeric"]:
            steps.append(("num", NumericColumns(), groups["numeric"]))
    else:
        if groups["categorical"]:
            onehot = OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=30,
                min_frequency=3,
                sparse_output=False,
            )
            cat = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="constant", fill_value="__missing__")),
                    ("onehot", onehot),
                ]
            )
            steps.append(("cat", cat, groups["categorical"]))
        numeric_like = Pipeline(
            [
                (
                    "impute",
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                ),
                ("scale", StandardScaler()),
            ]
        )
        if groups["datetime"]:
            date = Pipeline([("calendar", CalendarFeatures(holidays)), ("rest", numeric_like)])
            steps.append(("date", date, groups["datetime"]))
        if groups["numeric"]:
            num = Pipeline([("float", NumericColumns()), ("rest", numeric_like)])
            steps.append(("num", num, groups["numeric"]))
    return ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False)


def n_categorical(schema: dict[str, ColumnKind]) -> int:
    """How many leading encoded columns are categorical codes in the ``tree`` flavour."""
    return len(columns_by_kind(schema)["categorical"])


def source_column(feature: str, columns: list[str]) -> str:
    """Map an encoded feature name back to the raw column it came from (longest prefix)."""
    name = feature.removeprefix("missingindicator_")
    matches = [c for c in columns if name == c or name.startswith(f"{c}_")]
    return max(matches, key=len) if matches else name
