"""A registered model holds the typed RunMetrics of its run, stored through the runs' JSON
mapping: the stored document has the keys model rows always had, and old rows still read."""

from __future__ import annotations

from sqlalchemy import JSON, select, type_coerce, update

from domain.model.runs import EnsembleMember, RunMetrics
from server.adapters.db.tables import ModelRow
from server.bootstrap import Container
from server.run_json import metrics_summary
from tests.integration.test_views import seed

SUMMARY_KEYS = {
    "metric",
    "cvScore",
    "cv",
    "test",
    "bestAlgorithm",
    "trials",
    "stoppedReason",
    "ensemble",
}


async def test_a_model_keeps_typed_metrics_in_the_documents_it_always_had(
    container: Container,
) -> None:
    seeded = await seed(container)
    metrics = RunMetrics(
        metric="rmse",
        cv_score=0.75,
        best_algorithm="ensemble",
        trials=12,
        stopped_reason="timeout",
        cv={"rmse": 0.75, "mae": 0.5},
        test={"rmse": 0.8, "mae": None},
        ensemble=True,
        members=(EnsembleMember(3, "lightgbm", 0.6, 0.8), EnsembleMember(7, "linear", 0.4, 0.9)),
    )
    async with container.uow() as uow:
        model = await uow.models.get(seeded.principal.account_id, seeded.model)
        assert model is not None
        model.metrics = metrics
        await uow.models.save(model)
        await uow.commit()

    async with container.uow() as uow:
        read = await uow.models.get(seeded.principal.account_id, seeded.model)
        assert read is not None and read.metrics == metrics
        stored = await uow.session.scalar(  # type: ignore[attr-defined]
            select(type_coerce(ModelRow.metrics, JSON)).where(ModelRow.id == seeded.model)
        )
    assert stored is not None
    assert {k: v for k, v in stored.items() if k != "members"} == metrics_summary(metrics)
    assert set(stored) == SUMMARY_KEYS | {"members"}

    # A row written before models held RunMetrics: the summary JSON, no members.
    old = metrics_summary(metrics) | {"ensemble": False, "bestAlgorithm": "lightgbm"}
    async with container.uow() as uow:
        await uow.session.execute(  # type: ignore[attr-defined]
            update(ModelRow)
            .where(ModelRow.id == seeded.model)
            .values(metrics=type_coerce(old, JSON))
        )
        await uow.commit()
    async with container.uow() as uow:
        read = await uow.models.get(seeded.principal.account_id, seeded.model)
    assert read is not None
    assert read.metrics.members == () and read.metrics.best_algorithm == "lightgbm"
    assert metrics_summary(read.metrics) == old
