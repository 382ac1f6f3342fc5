"""A run's save and its events' numbering in one write (`run_events.append(..., saving=run)`),
on both databases: the version fence still holds, and a refused save writes no event."""

from __future__ import annotations

import copy

import pytest

from domain.model.runs import NewRunEvent, Run, RunConfig, RunStatus, StaleAttempt
from server.bootstrap import Container
from tests.support.seeding import seller_with_experiment


async def queued_run(container: Container) -> str:
    """A queued run and its QUEUED event, written as startRun writes them (not through the
    service: the embedded container would start executing it)."""
    seller = await seller_with_experiment(container)
    now = container.clock.now()
    run = Run.queue(seller.principal.account_id, seller.experiment.id, RunConfig(), now)
    async with container.uow() as uow:
        await uow.runs.add(run)
        await uow.run_events.append(run.id, [NewRunEvent.status(run)], now)
        await uow.commit()
    return run.id


async def test_a_save_numbers_its_events_after_the_existing_ones(container: Container) -> None:
    run_id = await queued_run(container)
    now = container.clock.now()
    async with container.uow() as uow:
        run = await uow.runs.find(run_id)
        assert run is not None
        run.request_cancel(now)
        stored = await uow.run_events.append(run_id, [NewRunEvent.status(run)], now, saving=run)
        await uow.commit()
    assert [event.seq for event in stored] == [2]  # after startRun's QUEUED event
    async with container.uow(read_only=True) as uow:
        saved = await uow.runs.find(run_id)
        events = await uow.run_events.after(run_id, 0, 10)
    assert saved is not None and (saved.status, saved.version) == (RunStatus.CANCELED, 1)
    assert [(e.seq, (e.data or {}).get("status")) for e in events] == [
        (1, "QUEUED"),
        (2, "CANCELED"),
    ]


async def test_a_stale_save_is_refused_and_writes_no_event(container: Container) -> None:
    run_id = await queued_run(container)
    now = container.clock.now()
    async with container.uow() as uow:
        first = await uow.runs.find(run_id)
        assert first is not None
        second = copy.copy(first)
        first.request_cancel(now)
        await uow.run_events.append(run_id, [NewRunEvent.status(first)], now, saving=first)
        await uow.commit()
    async with container.uow() as uow:
        second.request_cancel(now)  # read before the first save: its version is old
        with pytest.raises(StaleAttempt):
            await uow.run_events.append(run_id, [NewRunEvent.status(second)], now, saving=second)
    async with container.uow(read_only=True) as uow:
        events = await uow.run_events.after(run_id, 0, 10)
    assert [e.seq for e in events] == [1, 2]


async def test_a_save_without_events_stores_the_run_only(container: Container) -> None:
    run_id = await queued_run(container)
    now = container.clock.now()
    async with container.uow() as uow:
        run = await uow.runs.find(run_id)
        assert run is not None
        run.request_cancel(now)
        assert await uow.run_events.append(run_id, [], now, saving=run) == []
        await uow.commit()
    async with container.uow(read_only=True) as uow:
        saved = await uow.runs.find(run_id)
        events = await uow.run_events.after(run_id, 0, 10)
    assert saved is not None and saved.status is RunStatus.CANCELED
    assert [e.seq for e in events] == [1]
