"""How a run's settings and results are stored: JSON columns holding typed domain values
(the mapping itself is `server/run_json.py`).

The stored shape is the one runs have always had (camelCase keys), so old rows read as they
are; `members` was added later and is absent from older rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Dialect, TypeDecorator

from domain.model.runs import RunConfig, RunMetrics
from server.run_json import (
    config_from_json,
    config_to_json,
    metrics_from_json,
    metrics_to_json,
)


class RunConfigJSON(TypeDecorator[RunConfig]):
    """A RunConfig in a JSON column."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: RunConfig | None, dialect: Dialect) -> Any:
        return config_to_json(value) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> RunConfig:
        return config_from_json(value)


class RunMetricsJSON(TypeDecorator[RunMetrics]):
    """RunMetrics (or NULL) in a JSON column."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: RunMetrics | None, dialect: Dialect) -> Any:
        return metrics_to_json(value) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> RunMetrics | None:
        return metrics_from_json(value) if value is not None else None
