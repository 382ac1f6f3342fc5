"""Held-out scores of this AutoML engine, FLAML and a default LightGBM at the same budget.

Every system gets the same outer train/test split (75/25, stratified for classification) and
the same wall-clock budget; the engine runs with ``test_size=0`` so it trains on the whole
outer training part, like FLAML. Scores: R2 (regression), ROC AUC (binary), accuracy
(multiclass); higher is better, ``ratio`` is ours / FLAML.

    .venv/bin/python benchmarks/automl_vs_flaml.py --budget 30
    .venv/bin/python benchmarks/automl_vs_flaml.py --budget 120 --datasets diabetes,wine

Needs ``pip install 'flaml[automl]'`` (benchmark only).
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from automl import Budget, run_automl

# A fitted scikit-learn-style estimator: predict, and predict_proba for classifiers.
Estimator = Any


@dataclass
class Task:
    name: str
    X: pd.DataFrame
    y: pd.Series
    kind: str  # "regression" | "binary" | "multiclass"


def _with_categoricals(X: np.ndarray, seed: int) -> pd.DataFrame:
    """Synthetic table + two informative categorical columns + 10% missing values."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["region"] = pd.cut(frame["x0"], 5, labels=["n", "ne", "co", "se", "s"]).astype(str)
    frame["channel"] = np.where(frame["x1"] > 0, "app", "web")
    frame = frame.drop(columns=["x1"])
    for col in frame.columns:
        frame.loc[rng.random(len(frame)) < 0.1, col] = None
    return frame


def load_tasks() -> list[Task]:
    tasks = []
    for name, loader, kind in (
        ("diabetes", datasets.load_diabetes, "regression"),
        ("breast_cancer", datasets.load_breast_cancer, "binary"),
        ("wine", datasets.load_wine, "multiclass"),
        ("digits", datasets.load_digits, "multiclass"),
    ):
        X, y = loader(return_X_y=True, as_frame=True)
        X.columns = [str(c) for c in X.columns]
        tasks.append(Task(name, X, y, kind))
    X, y = datasets.make_classification(3000, 20, n_informative=8, random_state=0)
    tasks.append(Task("synthetic_classif", _with_categoricals(X, 0), pd.Series(y), "binary"))
    X, y = datasets.make_regression(3000, 20, n_informative=10, noise=10, random_state=0)
    y = y + 50 * (X[:, 0] > 0.5) + 20 * np.sin(X[:, 1] * 3)
    tasks.append(Task("synthetic_regr", _with_categoricals(X, 1), pd.Series(y), "regression"))
    return tasks


def score(kind: str, y_true: pd.Series, model: Estimator, X: pd.DataFrame) -> float:
    if kind == "regression":
        return float(r2_score(y_true, model.predict(X)))
    if kind == "binary":
        return float(roc_auc_score(y_true, model.predict_proba(X)[:, 1]))
    return float(accuracy_score(y_true, model.predict(X)))


def run_ours(task: Task, X: pd.DataFrame, y: pd.Series, budget: float, seed: int) -> Estimator:
    problem = "regression" if task.kind == "regression" else "classification"
    metric = {"regression": "r2", "binary": "roc_auc", "multiclass": "accuracy"}[task.kind]
    return run_automl(
        X,
        y,
        problem,
        budget=Budget(max_trials=None, timeout_seconds=budget),
        metric=metric,
        seed=seed,
        test_size=0,
    ).best_estimator


def run_flaml(task: Task, X: pd.DataFrame, y: pd.Series, budget: float, seed: int) -> Estimator:
    from flaml import AutoML

    model = AutoML()
    metric = {"regression": "r2", "binary": "roc_auc", "multiclass": "accuracy"}[task.kind]
    task_name = "regression" if task.kind == "regression" else "classification"
    X = X.copy()
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col].dtype):
            X[col] = X[col].astype("category")
    model.fit(X, y, task=task_name, metric=metric, time_budget=budget, seed=seed, verbose=0)
    return _CategoryAdapter(model, X.dtypes)


class _CategoryAdapter:
    """FLAML wants pandas categories for text columns at predict time too."""

    def __init__(self, model: Estimator, dtypes: pd.Series) -> None:
        self.model, self.dtypes = model, dtypes

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for col, dtype in self.dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                X[col] = pd.Categorical(X[col], categories=dtype.categories)
        return X

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict(self._frame(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self._frame(X))


def run_lightgbm(task: Task, X: pd.DataFrame, y: pd.Series, budget: float, seed: int) -> Estimator:
    X = X.copy()
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col].dtype):
            X[col] = X[col].astype("category")
    cls = lgb.LGBMRegressor if task.kind == "regression" else lgb.LGBMClassifier
    return _CategoryAdapter(cls(random_state=seed, verbose=-1).fit(X, y), X.dtypes)


SYSTEMS: dict[str, Callable] = {"ours": run_ours, "flaml": run_flaml, "lightgbm": run_lightgbm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per system and task")
    parser.add_argument("--datasets", default="", help="comma-separated subset of task names")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    chosen = set(filter(None, args.datasets.split(",")))
    rows = []
    for task in load_tasks():
        if chosen and task.name not in chosen:
            continue
        stratify = task.y if task.kind != "regression" else None
        X_train, X_test, y_train, y_test = train_test_split(
            task.X, task.y, test_size=0.25, random_state=args.seed, stratify=stratify
        )
        row: dict[str, Any] = {
            "dataset": task.name,
            "metric": {"regression": "r2", "binary": "roc_auc", "multiclass": "accuracy"}[
                task.kind
            ],
        }
        for name, runner in SYSTEMS.items():
            started = time.monotonic()
            model = runner(task, X_train, y_train, args.budget, args.seed)
            row[name] = score(task.kind, y_test, model, X_test)
            row[f"{name}_s"] = round(time.monotonic() - started, 1)
        row["ratio"] = row["ours"] / row["flaml"]
        rows.append(row)
        print(
            f"{task.name}: ours={row['ours']:.4f} flaml={row['flaml']:.4f} "
            f"lightgbm={row['lightgbm']:.4f}",
            flush=True,
        )
    table = pd.DataFrame(rows)
    print(f"\nBudget {args.budget:g} s per system, seed {args.seed}, held-out 25%:")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    wins = int((table["ratio"] >= 0.999).sum())
    print(f"\nours >= FLAML (within 0.1%) on {wins}/{len(table)} datasets")


if __name__ == "__main__":
    main()
