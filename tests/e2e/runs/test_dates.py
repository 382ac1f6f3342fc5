"""Dates reach the model through the API: upload a CSV with a date column, run, the model's
inputSchema says datetime, predictions differ by weekday, an unparseable date is refused."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from tests.e2e.runs.conftest import Stack
from tests.e2e.runs.helpers import start_run, wait_for
from tests.support.api import Api, operation

WEEKDAY_LIFT = (0.0, -10.0, -5.0, 0.0, 15.0, 60.0, 45.0)  # Monday .. Sunday


def weekday_sales_csv(days: int = 400, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-01", periods=days, freq="D")
    price = rng.uniform(20, 40, days).round(2)
    lift = np.asarray(WEEKDAY_LIFT)[dates.day_of_week]
    frame = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "price": price,
            "units_sold": (120 - 1.5 * price + lift + rng.normal(0, 4, days)).round(),
        }
    )
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
async def test_a_date_column_reaches_the_model(stack: Stack, stack_api: Api) -> None:
    api = stack_api
    seller = await api.sign_up()
    dataset = await api.dataset(seller, weekday_sales_csv(), name="daily sales")
    dtypes = {c["name"]: c["dtype"] for c in dataset["columns"]}
    assert dtypes["date"] == "datetime"
    experiment = await api.experiment(seller, dataset["id"], target="units_sold")
    run = await start_run(api, seller, experiment["id"], max_trials=2, algorithms=["lightgbm"])
    finished = await wait_for(api, seller, run["id"], {"SUCCEEDED", "FAILED"})
    assert finished["status"] == "SUCCEEDED", finished["error"]
    model = finished["model"]
    assert model["inputSchema"] == {"date": "datetime", "price": "numeric"}

    # 2026-01-05 is a Monday, 2026-01-10 a Saturday.
    rows = [{"date": f"2026-01-{day:02d}", "price": 30} for day in range(5, 12)]
    predicted = await api.op(
        "Predict", {"input": {"modelId": model["id"], "rows": rows}}, seller.token
    )
    values = [p["value"] for p in predicted["predict"]["predictions"]]
    assert values[5] > values[0] + 30, values  # Saturday sells far more than Monday
    assert values[1] < values[5], values

    refused = await api.fail(
        operation("Predict"),
        {"input": {"modelId": model["id"], "rows": [{"date": "banana", "price": 30}]}},
        seller.token,
    )
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "rows"}
    assert "date (expects datetime, an ISO date" in refused["message"]
