"""Input checks: every problem with the caller's data becomes an :class:`InvalidDataError`
naming it, before any library sees the data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.catalogue import MAX_COLUMNS, PROBLEM_TYPES
from automl.errors import InvalidDataError


def check_problem_type(problem_type: str) -> str:
    """Return the problem type or raise naming the valid ones."""
    if problem_type not in PROBLEM_TYPES:
        raise InvalidDataError(f"problem_type must be one of {PROBLEM_TYPES}, got {problem_type!r}")
    return problem_type


def as_table(X: Any) -> pd.DataFrame:
    """A DataFrame with string column names, or an error saying what is wrong with ``X``."""
    if X is None:
        raise InvalidDataError("X is required (a pandas DataFrame)")
    if not isinstance(X, pd.DataFrame):
        try:
            array = np.asarray(X)
        except Exception as exc:
            raise InvalidDataError(f"X cannot be read as a table: {exc}") from exc
        if array.ndim != 2:
            raise InvalidDataError(f"X must be two-dimensional, got {array.ndim} dimension(s)")
        X = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    X = X.copy()
    X.columns = [str(c) for c in X.columns]
    return X


def check_table(X: pd.DataFrame) -> None:
    """Reject empty tables, too many or duplicate columns, all-missing columns, infinities."""
    if X.shape[0] == 0:
        raise InvalidDataError("X is empty: it has no rows")
    if X.shape[1] == 0:
        raise InvalidDataError("X is empty: it has no columns")
    if X.shape[1] > MAX_COLUMNS:
        raise InvalidDataError(
            f"X has {X.shape[1]} columns; at most {MAX_COLUMNS} are supported "
            "(select or aggregate features first)"
        )
    duplicated = X.columns[X.columns.duplicated()].tolist()
    if duplicated:
        raise InvalidDataError(f"X has duplicate column names: {duplicated}")
    empty = [c for c in X.columns if X[c].isna().all()]
    if empty:
        raise InvalidDataError(f"column(s) with only missing values: {empty}; drop them")
    infinite = [
        c
        for c in X.columns
        if pd.api.types.is_float_dtype(X[c].dtype)
        and np.isinf(X[c].to_numpy(dtype=float, na_value=np.nan)).any()
    ]
    if infinite:
        raise InvalidDataError(f"column(s) with infinite values: {infinite}")
    complex_cols = [c for c in X.columns if pd.api.types.is_complex_dtype(X[c].dtype)]
    if complex_cols:
        raise InvalidDataError(f"column(s) with complex numbers are not supported: {complex_cols}")


def as_target(y: Any, X: pd.DataFrame, problem_type: str) -> pd.Series:
    """The target as a Series aligned with ``X`` (same index), checked for the problem type.

    Rows whose target is missing are not allowed to silently vanish: they are dropped by the
    caller after this check (see :func:`drop_missing_target`), and all-missing is an error.
    """
    if y is None:
        raise InvalidDataError(f"y (the target) is required for {problem_type}")
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise InvalidDataError(f"y must be one column, got {y.shape[1]}")
        y = y.iloc[:, 0]
    if not isinstance(y, pd.Series):
        array = np.asarray(y)
        if array.ndim != 1:
            raise InvalidDataError(f"y must be one-dimensional, got shape {array.shape}")
        y = pd.Series(array)
    if len(y) != len(X):
        raise InvalidDataError(f"X and y have different lengths: {len(X)} rows vs {len(y)}")
    y = pd.Series(y.to_numpy(), index=X.index, name=y.name if y.name is not None else "target")
    if y.isna().all():
        raise InvalidDataError("the target y has only missing values")
    if problem_type in ("regression", "forecasting"):
        _check_numeric_target(y)
    else:
        _check_classes(y)
    return y


def _check_numeric_target(y: pd.Series) -> None:
    if pd.api.types.is_bool_dtype(y.dtype) or not pd.api.types.is_numeric_dtype(y.dtype):
        converted = pd.to_numeric(y.dropna(), errors="coerce")
        if pd.api.types.is_bool_dtype(y.dtype) or converted.isna().any():
            raise InvalidDataError(
                f"regression needs a numeric target; y has dtype {y.dtype} "
                "(use problem_type='classification' for labels)"
            )
    values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(values).any():
        raise InvalidDataError("the target y has infinite values")


def _check_classes(y: pd.Series) -> None:
    counts = y.dropna().value_counts()
    if len(counts) < 2:
        raise InvalidDataError(
            f"classification needs at least two classes; y has only {list(counts.index)}"
        )
    rare = counts[counts < 2]
    if len(rare):
        raise InvalidDataError(
            f"class(es) {list(rare.index)} have a single row; every class needs at least 2"
        )


def numeric_target(y: pd.Series) -> pd.Series:
    """The target as float64 (after :func:`as_target` accepted it)."""
    return pd.Series(
        pd.to_numeric(y, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        index=y.index,
        name=y.name,
    )


def drop_missing_target(X: pd.DataFrame, y: pd.Series) -> tuple[pd.DataFrame, pd.Series, int]:
    """Rows with a known target, and how many were dropped."""
    known = y.notna().to_numpy()
    return X[known], y[known], int((~known).sum())


def check_cv_folds(cv_folds: int) -> int:
    """Folds must be an integer from 2 to 20."""
    if not isinstance(cv_folds, int) or isinstance(cv_folds, bool) or not 2 <= cv_folds <= 20:
        raise InvalidDataError(f"cv_folds must be an integer from 2 to 20, got {cv_folds!r}")
    return cv_folds
