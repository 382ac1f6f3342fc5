"""Which search space fits a caller's estimator: from a ``model_type`` name (the seed's
``random_forest_regressor``, ``gradient_boosting``, any ``*_regressor``/``*_classifier``) or,
when the name is unknown or does not fit, from the estimator's class.

XGBoost is optional (``pip install 'mlproject[xgboost]'``); asking for it without the package
raises :class:`MissingDependency` saying what to install.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from automl.errors import InvalidDataError
from automl.search_spaces import ALGORITHM_SPACES

XGBOOST_INSTALL = "pip install 'mlproject[xgboost]'  (or: pip install xgboost)"
# Tree families that take missing values as they are (ordinal codes, NaN kept); the others
# (scikit-learn's GradientBoosting included) get imputed, one-hot encoded columns.
TREE_FAMILIES = frozenset(
    {"lightgbm", "random_forest", "extra_trees", "hist_gradient_boosting", "xgboost"}
)
ALIASES = {
    "rf": "random_forest",
    "randomforest": "random_forest",
    "forest": "random_forest",
    "extratrees": "extra_trees",
    "lgbm": "lightgbm",
    "lgb": "lightgbm",
    "hgb": "hist_gradient_boosting",
    "histgradientboosting": "hist_gradient_boosting",
    "gbm": "gradient_boosting",
    "gb": "gradient_boosting",
    "gradientboosting": "gradient_boosting",
    "xgb": "xgboost",
    "linear": "ridge",
    "logistic": "logistic_regression",
    "svr": "svm",
    "svc": "svm",
    "kneighbors": "knn",
    "k_neighbors": "knn",
    "nearest_neighbors": "knn",
}
_SUFFIXES = ("_regressor", "_classifier", "_regression", "_classification", "_model")
# Estimator classes (matched along the class's MRO, so subclasses count) and their family.
_CLASS_FAMILIES = {
    "RandomForestRegressor": "random_forest",
    "RandomForestClassifier": "random_forest",
    "ExtraTreesRegressor": "extra_trees",
    "ExtraTreesClassifier": "extra_trees",
    "GradientBoostingRegressor": "gradient_boosting",
    "GradientBoostingClassifier": "gradient_boosting",
    "HistGradientBoostingRegressor": "hist_gradient_boosting",
    "HistGradientBoostingClassifier": "hist_gradient_boosting",
    "LGBMModel": "lightgbm",
    "XGBModel": "xgboost",
    "Ridge": "ridge",
    "LogisticRegression": "logistic_regression",
    "SVR": "svm",
    "SVC": "svm",
    "KNeighborsRegressor": "knn",
    "KNeighborsClassifier": "knn",
}
# A generic name stands for the estimator's own library when the estimator is one of these.
_GENERIC = {"gradient_boosting": frozenset({"xgboost", "lightgbm", "hist_gradient_boosting"})}


class MissingDependency(InvalidDataError, ImportError):
    """An optional package the caller asked for is not installed; the message says how."""


def family_from_name(model_type: str) -> str | None:
    """The search-space family a ``model_type`` name means, or None when unknown."""
    name = model_type.strip().lower().replace("-", "_").replace(" ", "_")
    name = ALIASES.get(name, name)
    if name in ALGORITHM_SPACES:
        return name
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            base = name.removesuffix(suffix)
            base = ALIASES.get(base, base)
            if base in ALGORITHM_SPACES:
                return base
    return None


def final_step(model: Any) -> tuple[Any, str]:
    """The estimator that is tuned, and the prefix of its parameters (pipelines: its step)."""
    if isinstance(model, Pipeline):
        name, last = model.steps[-1]
        return last, f"{name}__"
    return model, ""


def family_from_class(model: Any) -> str | None:
    """The family of an estimator instance (its last step for a pipeline), or None."""
    estimator, _ = final_step(model)
    for cls in type(estimator).__mro__:
        if cls.__name__ in _CLASS_FAMILIES:
            return _CLASS_FAMILIES[cls.__name__]
    return None


def resolve_family(model: Any, model_type: str | None) -> str:
    """The family whose space tunes ``model``: the named one when it fits the estimator's
    parameters, else the one of the estimator's class; raises naming the choices."""
    named = family_from_name(model_type) if model_type else None
    if model is None:
        if named is None:
            raise InvalidDataError(_unknown(model_type, None))
        return named
    inferred = family_from_class(model)
    if named is not None and inferred in _GENERIC.get(named, ()):
        return str(inferred)
    if named is not None and _fits(model, named):
        return named
    if inferred is not None:
        return inferred
    if named is not None:
        estimator, _ = final_step(model)
        raise InvalidDataError(
            f"model_type {model_type!r} tunes {sorted(ALGORITHM_SPACES[named]())}, which "
            f"{type(estimator).__name__} does not have; pass param_space"
        )
    raise InvalidDataError(_unknown(model_type, model))


def _fits(model: Any, family: str) -> bool:
    estimator, _ = final_step(model)
    if not isinstance(estimator, BaseEstimator):
        return True  # cannot tell: let set_params decide
    return set(ALGORITHM_SPACES[family]()) <= set(estimator.get_params())


def _unknown(model_type: str | None, model: Any) -> str:
    what = f"model_type {model_type!r}"
    if model is not None:
        what += f" nor for {type(final_step(model)[0]).__name__}"
    return (
        f"no built-in search space for {what}; pass param_space, or name one of "
        f"{sorted(ALGORITHM_SPACES)} (a _regressor or _classifier suffix is fine)"
    )


def is_classification_name(model_type: str) -> bool:
    """True when the name says classifier (``*_classifier``, ``logistic_regression``)."""
    name = model_type.strip().lower()
    return name.endswith(("_classifier", "_classification", "svc")) or "logistic" in name


def build_estimator(family: str, classify: bool, random_state: int = 0) -> Any:
    """A default estimator of ``family`` (for callers that pass a model_type but no model)."""
    from sklearn import ensemble, linear_model, neighbors, svm

    if family == "xgboost":
        xgb = xgboost_module()
        cls = xgb.XGBClassifier if classify else xgb.XGBRegressor
        return cls(random_state=random_state, n_jobs=1)
    if family == "lightgbm":
        import lightgbm as lgb

        cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
        return cls(random_state=random_state, verbose=-1)
    simple: dict[str, tuple[Any, Any]] = {
        "random_forest": (ensemble.RandomForestClassifier, ensemble.RandomForestRegressor),
        "extra_trees": (ensemble.ExtraTreesClassifier, ensemble.ExtraTreesRegressor),
        "gradient_boosting": (
            ensemble.GradientBoostingClassifier,
            ensemble.GradientBoostingRegressor,
        ),
        "hist_gradient_boosting": (
            ensemble.HistGradientBoostingClassifier,
            ensemble.HistGradientBoostingRegressor,
        ),
        "knn": (neighbors.KNeighborsClassifier, neighbors.KNeighborsRegressor),
        "svm": (svm.SVC, svm.SVR),
    }
    if family in simple:
        cls = simple[family][0 if classify else 1]
        seeded = "random_state" in cls().get_params()
        return cls(random_state=random_state) if seeded else cls()
    if family in ("ridge", "logistic_regression"):
        if classify or family == "logistic_regression":
            return linear_model.LogisticRegression(max_iter=2000)
        return linear_model.Ridge()
    raise InvalidDataError(f"model_type family {family!r} needs a model instance to tune")


def xgboost_module() -> Any:
    """The ``xgboost`` package, or :class:`MissingDependency` saying what to install."""
    try:
        import xgboost
    except ImportError as exc:
        raise MissingDependency(
            f"XGBoost is not installed; install it with {XGBOOST_INSTALL}"
        ) from exc
    return xgboost
