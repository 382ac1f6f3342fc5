"""Promoting models through stages and serving their predictions."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from domain.errors import InvalidInput, NotFound
from domain.model.accounts import Principal
from domain.model.models import Model, ModelStage
from domain.ports import ModelStore, UnitOfWorkFactory

MAX_PREDICT_ROWS = 10_000
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_EXAMPLES = {"datetime": ", an ISO date such as 2026-01-31"}


def check_rows(rows: Any, schema: dict[str, str], problem_type: str | None) -> list[dict[str, Any]]:
    """Rows must be objects holding every input column with a value of the column's kind."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput("rows must be a list of objects, one per row.", "rows")
    if not rows and problem_type != "forecasting":
        raise InvalidInput("Give at least one row to predict.", "rows")
    if len(rows) > MAX_PREDICT_ROWS:
        raise InvalidInput(f"At most {MAX_PREDICT_ROWS} rows per request.", "rows")
    for row in rows:
        for column, value in row.items():
            if not _plain(value):
                raise InvalidInput(
                    f"Column {str(column)[:60]!r} holds {_describe(value)}; a row holds plain "
                    "values: text, finite numbers, booleans or null.",
                    "rows",
                )
    missing = sorted({c for row in rows for c in schema if c not in row})
    if missing:
        raise InvalidInput(f"Missing column(s): {', '.join(missing)}.", "rows")
    mistyped: dict[str, str] = {}
    for row in rows:
        for column, kind in schema.items():
            if column not in mistyped and not _fits(row[column], kind):
                mistyped[column] = kind
    if mistyped:
        detail = ", ".join(
            f"{c} (expects {k}{_EXAMPLES.get(k, '')})" for c, k in sorted(mistyped.items())
        )
        raise InvalidInput(f"Wrong value type in column(s): {detail}.", "rows")
    return rows


def _plain(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    return value is None or isinstance(value, str | bool)


def _describe(value: Any) -> str:
    if isinstance(value, float):
        return f"a number that is not finite ({value})"
    if isinstance(value, int):
        return "an integer beyond 64 bits"
    return "an object" if isinstance(value, dict) else "a list"


def _fits(value: Any, kind: str) -> bool:
    if value is None:
        return True  # missing values are imputed by the model's preprocessing
    if kind == "numeric":
        if isinstance(value, bool):
            return True
        if isinstance(value, int | float):
            return math.isfinite(value)
        if isinstance(value, str):
            try:
                return math.isfinite(float(value))
            except (ValueError, OverflowError):
                return False
        return False
    if kind == "boolean":
        return isinstance(value, bool | int) or (
            isinstance(value, str) and value.lower() in _TRUE | _FALSE
        )
    if kind == "datetime":
        if not isinstance(value, str):
            return False
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    return isinstance(value, str | int | float | bool)


class ModelService:
    """Registered models: stages and predictions."""

    def __init__(self, uow: UnitOfWorkFactory, store: ModelStore) -> None:
        self._uow = uow
        self._store = store

    async def promote(self, principal: Principal, model_id: str, stage: ModelStage) -> Model:
        """Move a model to a stage; a new PRODUCTION model archives the previous one."""
        principal.require_write()
        async with self._uow() as uow:
            model = await uow.models.get(principal.account_id, model_id)
            if model is None:
                raise NotFound.of("Model", model_id)
            if stage is ModelStage.PRODUCTION:
                current = await uow.models.production_by_experiment(
                    principal.account_id, [model.experiment_id]
                )
                previous = current.get(model.experiment_id)
                if previous is not None and previous.id != model.id:
                    previous.promote(ModelStage.ARCHIVED)
                    await uow.models.save(previous)
                    await uow.flush()
            model.promote(stage)
            await uow.models.save(model)
            await uow.commit()
        return model

    async def predict(self, principal: Principal, model_id: str, rows: Any) -> list[dict[str, Any]]:
        """One prediction per row, in order (per period and series for forecasting)."""
        async with self._uow(read_only=True) as uow:
            model = await uow.models.get(principal.account_id, model_id)
        if model is None:
            raise NotFound(f"Model {model_id!r} was not found.", "model_id")
        if model.artifact_key is None:
            raise NotFound(f"Model {model_id!r} has no stored artifact.", "model_id")
        checked = check_rows(rows, model.input_schema or {}, model.problem_type)
        return await self._store.predict(model.artifact_key, checked)
