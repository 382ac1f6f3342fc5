"""The seed document's Python examples (experiment, tuner, tracker), run as written on small
data; only the data (`X_data`, `y_data`, `dataset_info`) is ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def sales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pd.DataFrame, pd.Series]:
    """Small sales data; MLflow's default store lands in a temporary folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    rng = np.random.default_rng(7)
    n = 120
    X_data = pd.DataFrame(
        {
            "preco": rng.uniform(20, 200, n),
            "desconto": rng.uniform(0, 0.4, n),
            "avaliacao": rng.uniform(3, 5, n),
            "categoria": rng.choice(["casa", "moda", "eletronicos"], n),
        }
    )
    y_data = pd.Series(
        500 - 2 * X_data["preco"] + 600 * X_data["desconto"] + rng.normal(0, 10, n),
        name="vendas",
    )
    return X_data, y_data


def test_the_seeds_three_snippets_run_as_written(sales: tuple[pd.DataFrame, pd.Series]) -> None:
    X_data, y_data = sales
    dataset_info = {"shape": X_data.shape, "target": "vendas"}

    # -- "Experimentação Automatizada" --
    from automl.experiment import ExperimentManager

    manager = ExperimentManager("meu_experimento")

    experiment_id = manager.create_experiment(
        name="Previsão de Vendas",
        description="Modelo para prever vendas baseado em características do produto",
        dataset_info={"shape": (1000, 10), "target": "vendas"},
    )

    results: Any = manager.run_basic_experiment(
        experiment_id=experiment_id, X=X_data, y=y_data, problem_type="regression"
    )
    assert results.metric == "rmse" and results.test_metrics["r2"] > 0.5

    # -- "Otimização de Hiperparâmetros" --
    from sklearn.ensemble import RandomForestRegressor

    from automl.tuning import HyperparameterTuner

    tuner = HyperparameterTuner()

    model = RandomForestRegressor(random_state=42)
    results = tuner.auto_tune_model(
        model=model,
        model_type="random_forest_regressor",
        X=X_data,
        y=y_data,
        method="random_search",
    )
    assert results.best_estimator.predict(X_data.head(3)).shape == (3,)
    assert len(results.trials) == 20  # the default n_iter

    # -- "Tracking com MLflow" --
    from automl.tracking import create_tracker

    tracker = create_tracker("meus_experimentos")

    run_id = tracker.track_automl_experiment(experiment_results=results, dataset_info=dataset_info)
    assert run_id is not None
    from mlflow.tracking import MlflowClient

    logged = MlflowClient().get_run(run_id)
    assert logged.data.metrics["cv_score"] == pytest.approx(results.best_score)


def test_the_seeds_xgboost_demand_example(sales: tuple[pd.DataFrame, pd.Series]) -> None:
    pytest.importorskip("xgboost", reason="install the xgboost extra: pip install -e '.[xgboost]'")
    historical_data, demand_data = sales
    from xgboost import XGBRegressor

    from automl.tuning import HyperparameterTuner

    tuner = HyperparameterTuner()
    demand_model = tuner.auto_tune_model(
        model=XGBRegressor(), model_type="gradient_boosting", X=historical_data, y=demand_data
    )
    assert "model__max_depth" in demand_model.best_params
    assert demand_model.best_estimator.predict(historical_data.head(2)).shape == (2,)
