"""Domain rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict, InvalidInput
from domain.model.campaigns import Campaign, Discount, DiscountStatus
from domain.model.datasets import Dataset, DatasetColumn
from domain.model.experiments import Experiment, ProblemType
from domain.model.runs import Run, RunConfig, RunStatus
from domain.pagination import Cursor, PageRequest

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def dataset(*columns: DatasetColumn, rows: int = 100) -> Dataset:
    return Dataset("acc", "d", "key", 10, rows, list(columns), NOW, "ds")


def test_cursors_round_trip_and_garbage_is_bad_input() -> None:
    cursor = Cursor(NOW, "abc")
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(InvalidInput) as raised:
        Cursor.decode("%%%")
    assert raised.value.field == "after"


@pytest.mark.parametrize("first", [-1, 101])
def test_page_size_is_bounded(first: int) -> None:
    with pytest.raises(InvalidInput):
        PageRequest.of(first, None)
    assert PageRequest.of(None, None).first == 20


def test_an_all_missing_target_is_refused() -> None:
    empty = DatasetColumn("y", "float", missing_count=100, unique_count=0)
    with pytest.raises(InvalidInput, match="entirely empty"):
        Experiment.define(
            account_id="acc",
            dataset=dataset(empty),
            name="e",
            description=None,
            problem_type=ProblemType.REGRESSION,
            target="y",
            metric=None,
            metrics=("rmse",),
            now=NOW,
        )


def test_too_many_classes_is_probably_a_regression() -> None:
    ids = DatasetColumn("id", "integer", missing_count=0, unique_count=5000)
    with pytest.raises(InvalidInput, match="more than the 200 classes"):
        Experiment.define(
            account_id="acc",
            dataset=dataset(ids, rows=5000),
            name="e",
            description=None,
            problem_type=ProblemType.CLASSIFICATION,
            target="id",
            metric=None,
            metrics=("rmse",),
            now=NOW,
        )


def discount(starts: timedelta, ends: timedelta, percent: float = 10) -> Discount:
    return Discount.schedule(
        account_id="acc",
        listing_id="MLB123456",
        percent=percent,
        starts_at=NOW + starts,
        ends_at=NOW + ends,
        campaign=None,
        now=NOW,
    )


def test_discount_status_follows_the_clock() -> None:
    d = discount(timedelta(hours=1), timedelta(hours=2))
    assert d.status_at(NOW) is DiscountStatus.SCHEDULED
    assert d.status_at(NOW + timedelta(hours=1)) is DiscountStatus.ACTIVE
    assert d.status_at(NOW + timedelta(hours=2)) is DiscountStatus.ENDED
    with pytest.raises(Conflict):
        d.cancel(NOW + timedelta(hours=3))
    d.cancel(NOW + timedelta(minutes=90))
    assert d.status_at(NOW + timedelta(hours=5)) is DiscountStatus.CANCELED


@pytest.mark.parametrize("percent", [5, 80])
def test_discount_bounds_are_inclusive(percent: float) -> None:
    assert discount(timedelta(hours=1), timedelta(hours=2), percent).percent == percent


def test_a_discount_within_a_campaign_that_ended_is_a_conflict() -> None:
    campaign = Campaign.plan(
        account_id="acc",
        name="c",
        starts_at=NOW,
        ends_at=NOW + timedelta(days=3),
        budget=None,
        now=NOW,
    )
    campaign.status = campaign.status.ENDED
    with pytest.raises(Conflict):
        Discount.schedule(
            account_id="acc",
            listing_id="MLB123456",
            percent=10,
            starts_at=NOW + timedelta(hours=1),
            ends_at=NOW + timedelta(hours=2),
            campaign=campaign,
            now=NOW,
        )


def test_run_state_machine() -> None:
    run = Run.queue("acc", "exp", RunConfig(), NOW)
    run.move_to(RunStatus.RUNNING, NOW)
    assert run.started_at == NOW
    run.move_to(RunStatus.CANCELING, NOW)
    run.move_to(RunStatus.CANCELED, NOW)
    assert run.finished_at == NOW
    with pytest.raises(Conflict):
        run.move_to(RunStatus.RUNNING, NOW)
