"""Registered models: the fitted model a succeeded run leaves, and its lifecycle stage."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidInput
from domain.model.common import new_id
from domain.model.runs import RunMetrics


class ModelStage(enum.Enum):
    """Lifecycle of a registered model."""

    NONE = "NONE"
    STAGING = "STAGING"
    PRODUCTION = "PRODUCTION"
    ARCHIVED = "ARCHIVED"


@dataclass(slots=True)
class Model:
    """A fitted model a succeeded run registered."""

    account_id: str
    experiment_id: str
    run_id: str
    stage: ModelStage
    metrics: RunMetrics  # what the run that registered it scored
    created_at: datetime
    feature_importances: dict[str, float] | None = None
    artifact_key: str | None = None
    input_schema: dict[str, str] | None = None
    problem_type: str | None = None
    id: str = field(default_factory=new_id)

    def promote(self, stage: ModelStage) -> None:
        if stage is ModelStage.NONE:
            raise InvalidInput("A model is promoted to STAGING, PRODUCTION or ARCHIVED.", "stage")
        self.stage = stage
