"""The run pipeline's statements, built once with bound parameters.

Every run executes these a few times (startRun, claim, finish). Built per call, SQLAlchemy
constructs the statement, coerces each value and derives its cache key before the compiled
form is found in the cache: a measurable share of a trivial run's CPU (benchmarks/runs.py).
Built once, only the parameters change; the column types (enums, JSON values) still convert
them.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Delete,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from domain.model.runs import RunStatus
from server.adapters.db.tables import DatasetRow, ExperimentRow, RunEventRow, RunOutboxRow, RunRow

RUNS = cast(Table, RunRow.__table__)
EVENTS = cast(Table, RunEventRow.__table__)
OUTBOX = cast(Table, RunOutboxRow.__table__)


def _param(name: str) -> Any:
    return bindparam(f"p_{name}", type_=RUNS.c[name].type)


@cache
def save_run(names: tuple[str, ...]) -> Update:
    """Compare-and-set of the run's fields `names` on its version, taking `p_new_events` seqs
    of its event counter; returns the counter. Parameters: `params_of_save`."""
    return (
        update(RUNS)
        .where(RUNS.c.id == _param("id"), RUNS.c.version == _param("version"))
        .values(
            {
                **{name: _param(name) for name in names if name not in ("id", "version")},
                "version": bindparam("p_next_version", type_=RUNS.c.version.type),
                "event_seq": RUNS.c.event_seq
                + bindparam("p_new_events", type_=RUNS.c.event_seq.type),
            }
        )
        .returning(RUNS.c.event_seq)
    )


def params_of_save(values: dict[str, Any], new_events: int) -> dict[str, Any]:
    params = {f"p_{name}": value for name, value in values.items()}
    params["p_next_version"] = values["version"] + 1
    params["p_new_events"] = new_events
    return params


@cache
def count_runs(statuses: tuple[RunStatus, ...]) -> Select[Any]:
    """How many runs account `p_account_id` has in the given statuses."""
    return select(func.count()).where(
        RUNS.c.account_id == _param("account_id"), RUNS.c.status.in_(statuses)
    )


@cache
def find_run() -> Select[Any]:
    """The run `p_id`'s columns."""
    return select(*RUNS.columns).where(RUNS.c.id == _param("id"))


@cache
def claim_read() -> Select[Any]:
    """The run `p_id`, its experiment's and its dataset's columns (null when gone) and the
    number of runs its account runs."""
    other = RUNS.alias("other")
    running = (
        select(func.count())
        .where(
            other.c.account_id == RUNS.c.account_id,
            other.c.status.in_([RunStatus.RUNNING, RunStatus.CANCELING]),
        )
        .scalar_subquery()
    )
    experiments = cast(Table, ExperimentRow.__table__)
    datasets = cast(Table, DatasetRow.__table__)
    return (
        select(*RUNS.columns, *experiments.columns, *datasets.columns, running)
        .select_from(
            RUNS.outerjoin(
                experiments,
                (experiments.c.id == RUNS.c.experiment_id)
                & (experiments.c.account_id == RUNS.c.account_id),
            ).outerjoin(
                datasets,
                (datasets.c.id == experiments.c.dataset_id)
                & (datasets.c.account_id == RUNS.c.account_id),
            )
        )
        .where(RUNS.c.id == _param("id"))
    )


@cache
def insert_events() -> Insert:
    """Event rows, one parameter set each (one statement for all)."""
    return insert(EVENTS)


@cache
def delete_outbox() -> Delete:
    """The enqueue intent (`p_run_id`, `p_attempt`)."""
    return delete(OUTBOX).where(
        OUTBOX.c.run_id == bindparam("p_run_id", type_=OUTBOX.c.run_id.type),
        OUTBOX.c.attempt == bindparam("p_attempt", type_=OUTBOX.c.attempt.type),
    )
