"""Experiments: what a seller wants to learn from a dataset, and how success is measured."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidInput
from domain.model.common import clean_description, clean_name, new_id
from domain.model.datasets import Dataset

MAX_CLASSES = 200


class ProblemType(enum.Enum):
    """The kind of learning task."""

    REGRESSION = "REGRESSION"
    CLASSIFICATION = "CLASSIFICATION"
    CLUSTERING = "CLUSTERING"
    FORECASTING = "FORECASTING"


def check_target(problem_type: ProblemType, target: str | None, dataset: Dataset) -> str | None:
    """The target must exist in the dataset and fit the problem type (none for clustering)."""
    if problem_type is ProblemType.CLUSTERING:
        if target:
            raise InvalidInput(
                "Clustering learns without a target; leave target empty.", field="target"
            )
        return None
    if not target:
        raise InvalidInput(
            f"A {problem_type.value.lower()} experiment needs a target column.", field="target"
        )
    column = dataset.column(target)
    if column is None:
        names = ", ".join(c.name for c in dataset.columns[:20])
        raise InvalidInput(
            f"The dataset has no column {target!r}; its columns are: {names}.", field="target"
        )
    if column.missing_count >= dataset.row_count:
        raise InvalidInput(f"The target column {target!r} is entirely empty.", field="target")
    if problem_type in (ProblemType.REGRESSION, ProblemType.FORECASTING) and not column.is_numeric:
        raise InvalidInput(
            f"A {problem_type.value.lower()} target must be numeric; "
            f"{target!r} holds {column.dtype} values.",
            field="target",
        )
    if problem_type is ProblemType.CLASSIFICATION:
        if column.dtype == "float":
            raise InvalidInput(
                f"{target!r} holds continuous numbers; classes must be labels, integers or "
                "booleans. Is this a regression target?",
                field="target",
            )
        if column.unique_count < 2:
            raise InvalidInput(
                f"A classification target needs at least two classes; {target!r} has "
                f"{column.unique_count}.",
                field="target",
            )
        if column.unique_count > MAX_CLASSES:
            raise InvalidInput(
                f"{target!r} has {column.unique_count} distinct values, more than the "
                f"{MAX_CLASSES} classes a classification supports; is it a regression target?",
                field="target",
            )
    if problem_type is ProblemType.FORECASTING and not any(
        c.dtype == "datetime" for c in dataset.columns
    ):
        raise InvalidInput(
            "Forecasting needs a date column in the dataset; none was recognised.",
            field="dataset_id",
        )
    return target


def check_metric(problem_type: ProblemType, metric: str | None, metrics: Sequence[str]) -> str:
    """The metric must be one the problem type is scored with (`metrics`, from the engine's
    catalogue); none given means the first, the default."""
    if metric is None or not metric.strip():
        return metrics[0]
    name = metric.strip().lower()
    if name not in metrics:
        raise InvalidInput(
            f"{metric!r} is not a {problem_type.value.lower()} metric; "
            f"choose one of: {', '.join(metrics)}.",
            field="metric",
        )
    return name


@dataclass(slots=True)
class Experiment:
    """A learning task on one dataset; runs execute it, models come out of runs."""

    account_id: str
    dataset_id: str
    name: str
    description: str | None
    problem_type: ProblemType
    target: str | None
    metric: str
    created_at: datetime
    updated_at: datetime
    id: str = field(default_factory=new_id)

    @classmethod
    def define(
        cls,
        *,
        account_id: str,
        dataset: Dataset,
        name: str,
        description: str | None,
        problem_type: ProblemType,
        target: str | None,
        metric: str | None,
        metrics: Sequence[str],
        now: datetime,
    ) -> Experiment:
        """`metrics`: the problem type's metrics from the engine's catalogue, default first."""
        return cls(
            account_id=account_id,
            dataset_id=dataset.id,
            name=clean_name(name),
            description=clean_description(description),
            problem_type=problem_type,
            target=check_target(problem_type, target, dataset),
            metric=check_metric(problem_type, metric, metrics),
            created_at=now,
            updated_at=now,
        )

    def rename(self, name: str, now: datetime) -> None:
        self.name = clean_name(name)
        self.updated_at = now

    def describe(self, description: str | None, now: datetime) -> None:
        self.description = clean_description(description)
        self.updated_at = now

    def change_metric(self, metric: str, metrics: Sequence[str], now: datetime) -> None:
        self.metric = check_metric(self.problem_type, metric, metrics)
        self.updated_at = now
