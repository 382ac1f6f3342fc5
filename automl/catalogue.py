"""What the engine offers, in one place: problem types, algorithms, metrics (with their
direction and the default of each problem type), column kinds and size limits.

Plain data: the API server's domain reads it through its ``EngineCatalogue`` port
(``server/adapters/training/catalogue.py``); the engine's modules import it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PROBLEM_TYPES = ("regression", "classification", "clustering", "forecasting")
MAX_COLUMNS = 1000  # of a table the engine trains on (and so of an uploaded CSV)

# -- algorithms --------------------------------------------------------------------------
SUPERVISED_ALGORITHMS = (
    "lightgbm",
    "random_forest",
    "extra_trees",
    "hist_gradient_boosting",
    "linear",
)
CLUSTERING_ALGORITHMS = ("kmeans", "gaussian_mixture", "hdbscan")
ALGORITHMS_BY_PROBLEM: dict[str, tuple[str, ...]] = {
    "regression": SUPERVISED_ALGORITHMS,
    "classification": SUPERVISED_ALGORITHMS,
    "forecasting": SUPERVISED_ALGORITHMS,
    "clustering": CLUSTERING_ALGORITHMS,
}


# -- metrics -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Metric:
    """A score the search can optimise, and which way it improves."""

    name: str
    greater_is_better: bool
    description: str


_ALL_METRICS = (
    Metric("rmse", False, "root mean squared error, in the target's unit"),
    Metric("mae", False, "mean absolute error, in the target's unit"),
    Metric("r2", True, "share of the target's variance explained (1 is perfect)"),
    Metric("mape", False, "mean absolute percentage error, over non-zero targets"),
    Metric("roc_auc", True, "area under the ROC curve (one-vs-rest macro when multiclass)"),
    Metric("accuracy", True, "share of rows whose class is predicted right"),
    Metric("f1_macro", True, "F1 averaged over classes, each class weighing the same"),
    Metric("log_loss", False, "cross-entropy of the predicted class probabilities"),
    Metric("silhouette", True, "how well rows sit in their cluster (-1 to 1)"),
    Metric("davies_bouldin", False, "average similarity of each cluster to its closest one"),
    Metric("calinski_harabasz", True, "between- to within-cluster dispersion ratio"),
)
METRICS: dict[str, Metric] = {m.name: m for m in _ALL_METRICS}

# The first metric of each problem type is its default (docs/automl.md, "Metrics", says why).
METRICS_BY_PROBLEM: dict[str, tuple[str, ...]] = {
    "regression": ("rmse", "mae", "r2", "mape"),
    "classification": ("roc_auc", "accuracy", "f1_macro", "log_loss"),
    "clustering": ("silhouette", "davies_bouldin", "calinski_harabasz"),
    "forecasting": ("mae", "rmse", "r2", "mape"),
}
DEFAULT_METRICS: dict[str, str] = {p: names[0] for p, names in METRICS_BY_PROBLEM.items()}
LOWER_IS_BETTER = frozenset(m.name for m in _ALL_METRICS if not m.greater_is_better)


def greater_is_better(metric: str) -> bool:
    """True when a larger value of ``metric`` is better."""
    return metric not in LOWER_IS_BETTER


def default_metric(problem_type: str) -> str:
    """The metric the search optimises when the caller names none."""
    return DEFAULT_METRICS[problem_type]


# -- column kinds ------------------------------------------------------------------------
# One vocabulary, two levels. A stored dataset's column has a *type*, as profiled on upload
# (integer, float, boolean, datetime, string); the engine sees each column as a *kind*
# (numeric, boolean, categorical, datetime), which decides how it is encoded and what a
# model's input schema says. Every type has exactly one kind:
ColumnKind = Literal["numeric", "boolean", "categorical", "datetime"]
ColumnType = Literal["integer", "float", "boolean", "datetime", "string"]
COLUMN_KINDS: tuple[ColumnKind, ...] = ("numeric", "boolean", "categorical", "datetime")
KIND_OF_TYPE: dict[str, ColumnKind] = {
    "integer": "numeric",
    "float": "numeric",
    "boolean": "boolean",
    "datetime": "datetime",
    "string": "categorical",
}


def column_kind(column_type: str) -> ColumnKind:
    """The engine's kind for a profiled column type (an unknown type is categorical)."""
    return KIND_OF_TYPE.get(column_type, "categorical")
