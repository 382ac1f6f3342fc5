"""Hyperparameter spaces: declarative parameters usable by Optuna, random and grid search.

A space is ``dict[name, Param]``. The engine prefixes names with the algorithm
(``"lightgbm__num_leaves"``) inside its Optuna study so families never share a distribution.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna

from automl.errors import InvalidDataError


@dataclass(frozen=True, slots=True)
class IntParam:
    """An integer range (``log`` samples on a log scale)."""

    low: int
    high: int
    log: bool = False
    default: int | None = None
    grid: tuple[int, ...] = ()

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def grid_values(self) -> tuple[int, ...]:
        if self.grid:
            return self.grid
        default = self.default if self.default is not None else (self.low + self.high) // 2
        return (default,)


@dataclass(frozen=True, slots=True)
class FloatParam:
    """A float range (``log`` samples on a log scale)."""

    low: float
    high: float
    log: bool = False
    default: float | None = None
    grid: tuple[float, ...] = ()

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def grid_values(self) -> tuple[float, ...]:
        if self.grid:
            return self.grid
        if self.default is not None:
            return (self.default,)
        mid = (self.low * self.high) ** 0.5 if self.log else (self.low + self.high) / 2
        return (mid,)


@dataclass(frozen=True, slots=True)
class Choice:
    """A categorical choice among plain values (str, int, float, bool or None)."""

    choices: tuple[Any, ...]
    default: Any = None
    grid: tuple[Any, ...] = field(default=())

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.choices))

    def grid_values(self) -> tuple[Any, ...]:
        return self.grid or self.choices


Param = IntParam | FloatParam | Choice
Space = dict[str, Param]


def _lgbm() -> Space:
    return {
        "n_estimators": IntParam(20, 1500, log=True, default=100, grid=(100, 400)),
        "learning_rate": FloatParam(0.01, 0.3, log=True, default=0.1, grid=(0.03, 0.1)),
        "num_leaves": IntParam(4, 255, log=True, default=31, grid=(15, 63)),
        "min_child_samples": IntParam(2, 100, log=True, default=20, grid=(5, 20)),
        "subsample": FloatParam(0.5, 1.0, default=1.0),
        "colsample_bytree": FloatParam(0.3, 1.0, default=1.0),
        "reg_alpha": FloatParam(1e-8, 10.0, log=True, default=1e-8),
        "reg_lambda": FloatParam(1e-8, 10.0, log=True, default=1e-8),
    }


def _forest() -> Space:
    return {
        "n_estimators": IntParam(50, 500, log=True, default=200, grid=(100, 300)),
        "max_features": FloatParam(0.1, 1.0, default=0.5, grid=(0.3, 0.6, 1.0)),
        "min_samples_leaf": IntParam(1, 20, log=True, default=1, grid=(1, 3)),
    }


def _hist_gb() -> Space:
    return {
        "max_iter": IntParam(30, 1000, log=True, default=100, grid=(100, 300)),
        "learning_rate": FloatParam(0.01, 0.3, log=True, default=0.1, grid=(0.05, 0.1)),
        "max_leaf_nodes": IntParam(4, 128, log=True, default=31, grid=(15, 31)),
        "min_samples_leaf": IntParam(2, 100, log=True, default=20),
        "l2_regularization": FloatParam(1e-8, 10.0, log=True, default=1e-8),
        "max_features": FloatParam(0.3, 1.0, default=1.0),
    }


def _linear() -> Space:
    return {"strength": FloatParam(1e-4, 1e3, log=True, default=1.0, grid=(0.01, 0.1, 1, 10, 100))}


def _kmeans() -> Space:
    return {"n_clusters": IntParam(2, 12, default=4, grid=tuple(range(2, 13)))}


def _gaussian_mixture() -> Space:
    return {
        "n_components": IntParam(2, 12, default=4, grid=tuple(range(2, 13, 2))),
        "covariance_type": Choice(("full", "diag", "tied", "spherical"), grid=("full", "diag")),
    }


def _hdbscan() -> Space:
    return {
        "min_cluster_size": IntParam(5, 100, log=True, default=15, grid=(5, 15, 50)),
        "min_samples": IntParam(1, 30, log=True, default=5, grid=(1, 5, 15)),
    }


def _gradient_boosting() -> Space:
    return {
        "n_estimators": IntParam(50, 500, log=True, default=100, grid=(100, 300)),
        "learning_rate": FloatParam(0.01, 0.3, log=True, default=0.1, grid=(0.05, 0.1)),
        "max_depth": IntParam(2, 8, default=3, grid=(3, 5)),
        "subsample": FloatParam(0.5, 1.0, default=1.0),
    }


def _xgboost() -> Space:
    return {
        "n_estimators": IntParam(20, 1000, log=True, default=100, grid=(100, 300)),
        "learning_rate": FloatParam(0.01, 0.3, log=True, default=0.1, grid=(0.05, 0.1)),
        "max_depth": IntParam(2, 10, default=6, grid=(3, 6)),
        "min_child_weight": FloatParam(0.5, 20.0, log=True, default=1.0),
        "subsample": FloatParam(0.5, 1.0, default=1.0),
        "colsample_bytree": FloatParam(0.3, 1.0, default=1.0),
        "reg_lambda": FloatParam(1e-3, 10.0, log=True, default=1.0),
    }


def _ridge() -> Space:
    return {"alpha": FloatParam(1e-4, 1e3, log=True, default=1.0, grid=(0.01, 0.1, 1, 10))}


def _logistic_regression() -> Space:
    return {"C": FloatParam(1e-3, 1e3, log=True, default=1.0, grid=(0.01, 0.1, 1, 10, 100))}


def _svm() -> Space:
    return {
        "C": FloatParam(1e-2, 1e3, log=True, default=1.0, grid=(0.1, 1, 10)),
        "gamma": Choice(("scale", "auto")),
    }


def _knn() -> Space:
    return {"n_neighbors": IntParam(1, 50, log=True, default=5, grid=(3, 5, 11, 21))}


# The one catalogue of search spaces. The engine's own families (automl/catalogue.py lists
# which a run may search; "linear" tunes an abstract "strength") come first; the rest are
# families of estimators a caller hands to HyperparameterTuner, in their own parameter names.
ALGORITHM_SPACES = {
    "lightgbm": _lgbm,
    "random_forest": _forest,
    "extra_trees": _forest,
    "hist_gradient_boosting": _hist_gb,
    "linear": _linear,
    "kmeans": _kmeans,
    "gaussian_mixture": _gaussian_mixture,
    "hdbscan": _hdbscan,
    "gradient_boosting": _gradient_boosting,
    "xgboost": _xgboost,
    "ridge": _ridge,
    "logistic_regression": _logistic_regression,
    "svm": _svm,
    "knn": _knn,
}


def algorithm_space(algorithm: str) -> Space:
    """The built-in search space of one algorithm family."""
    return ALGORITHM_SPACES[algorithm]()


def default_params(space: Space) -> dict[str, Any]:
    """The space's default point (each parameter's default, or its first grid value)."""
    return {
        name: p.default if p.default is not None else p.grid_values()[0]
        for name, p in space.items()
    }


def suggest(trial: optuna.Trial, space: Space, prefix: str = "") -> dict[str, Any]:
    """Ask Optuna for one point of ``space``; names are prefixed in the study only."""
    return {name: param.suggest(trial, f"{prefix}{name}") for name, param in space.items()}


def grid_points(space: Space) -> list[dict[str, Any]]:
    """Every combination of the parameters' grid values."""
    names = list(space)
    values = [space[n].grid_values() for n in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def space_from_user(space: Mapping[str, Any]) -> Space:
    """Accept a caller's space: our params, Optuna distributions, lists (choices) or
    ``(low, high)`` tuples (int when both are ints, else float)."""
    out: Space = {}
    for name, spec in space.items():
        out[name] = _param_from_user(name, spec)
    if not out:
        raise InvalidDataError("the search space is empty")
    return out


def _param_from_user(name: str, spec: Any) -> Param:
    if isinstance(spec, IntParam | FloatParam | Choice):
        return spec
    if isinstance(spec, optuna.distributions.IntDistribution):
        return IntParam(spec.low, spec.high, log=spec.log)
    if isinstance(spec, optuna.distributions.FloatDistribution):
        return FloatParam(spec.low, spec.high, log=spec.log)
    if isinstance(spec, optuna.distributions.CategoricalDistribution):
        return Choice(tuple(spec.choices))
    if (
        isinstance(spec, tuple)
        and len(spec) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec)
    ):
        low, high = spec
        if low >= high:
            raise InvalidDataError(f"search space {name!r}: low must be below high")
        if isinstance(low, int) and isinstance(high, int):
            return IntParam(low, high, grid=_span(low, high, integer=True))
        return FloatParam(float(low), float(high), grid=_span(low, high, integer=False))
    if isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) > 0:
        return Choice(tuple(spec))
    raise InvalidDataError(
        f"search space {name!r}: use a list of values, a (low, high) tuple or an Optuna "
        f"distribution, got {spec!r}"
    )


def _span(low: float, high: float, integer: bool) -> tuple[Any, ...]:
    points = [low + (high - low) * i / 2 for i in range(3)]
    return tuple(sorted({round(p) for p in points})) if integer else tuple(points)
