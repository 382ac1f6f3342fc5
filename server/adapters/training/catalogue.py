"""The engine's catalogue (`automl/catalogue.py`) as the domain's `EngineCatalogue` port."""

from __future__ import annotations

from automl import catalogue
from domain.model.experiments import ProblemType


class AutoMLCatalogue:
    """Algorithms, metrics and column kinds, read from the engine's own catalogue."""

    def algorithms(self, problem_type: ProblemType) -> tuple[str, ...]:
        return catalogue.ALGORITHMS_BY_PROBLEM[_engine_name(problem_type)]

    def metrics(self, problem_type: ProblemType) -> tuple[str, ...]:
        return catalogue.METRICS_BY_PROBLEM[_engine_name(problem_type)]

    def greater_is_better(self, metric: str) -> bool:
        return catalogue.greater_is_better(metric)

    def column_kind(self, column_type: str) -> str:
        return catalogue.column_kind(column_type)


def _engine_name(problem_type: ProblemType) -> str:
    return problem_type.value.lower()
