"""AutoML engine: model and hyperparameter search with progress events, cancellation,
MLflow tracking and demand forecasting. See docs/automl.md."""

from __future__ import annotations

from automl.engine import run_automl
from automl.errors import AutoMLError, Cancelled, InvalidDataError
from automl.events import Budget, EngineEvent
from automl.experiment import Experiment, ExperimentManager, ExperimentNotFound
from automl.forecast_features import ForecastConfig
from automl.forecasting import ForecastModel
from automl.persistence import Predictor, load_model, save_model
from automl.results import AutoMLResult, EnsembleInfo, TrialResult
from automl.supervised import TrainingFailed
from automl.tracking import AutoMLTracker, create_tracker, delete_tracked_runs
from automl.tuning import HyperparameterTuner, TuningResult

__all__ = [
    "AutoMLError",
    "AutoMLResult",
    "AutoMLTracker",
    "Budget",
    "Cancelled",
    "EngineEvent",
    "EnsembleInfo",
    "Experiment",
    "ExperimentManager",
    "ExperimentNotFound",
    "ForecastConfig",
    "ForecastModel",
    "HyperparameterTuner",
    "InvalidDataError",
    "Predictor",
    "TrainingFailed",
    "TrialResult",
    "TuningResult",
    "create_tracker",
    "delete_tracked_runs",
    "load_model",
    "run_automl",
    "save_model",
]
