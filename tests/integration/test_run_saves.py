"""A run's save and its events' numbering in one write (`run_events.append(..., saving=run)`),
on both databases: the version fence still holds, and a refused save writes no event."""

from __future__ import annotations

import asyncio
import copy

import pytest

from domain.model.runs import NewRunEvent, Run, RunConfig, RunEvent, RunStatus, StaleAttempt
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


async def cancel(container: Container, run: Run, with_event: bool = True) -> list[RunEvent]:
    """Cancel the queued run as read, saving it (with its status event) in one write."""
    now = container.clock.now()
    run.request_cancel(now)
    async with container.uow() as uow:
        news = [NewRunEvent.status(run)] if with_event else []
        stored = await uow.run_events.append(run.id, news, now, saving=run)
        await uow.commit()
    return stored


async def stored(container: Container, run_id: str) -> tuple[Run, list[RunEvent]]:
    async with container.uow(read_only=True) as uow:
        run = await uow.runs.find(run_id)
        events = await uow.run_events.after(run_id, 0, 10)
    assert run is not None
    return run, events


async def test_a_save_numbers_its_events_after_the_existing_ones(container: Container) -> None:
    run, _ = await stored(container, await queued_run(container))
    written = await cancel(container, run)
    assert [event.seq for event in written] == [2]  # after the QUEUED event
    saved, events = await stored(container, run.id)
    assert (saved.status, saved.version) == (RunStatus.CANCELED, 1)
    assert [(e.seq, (e.data or {}).get("status")) for e in events] == [
        (1, "QUEUED"),
        (2, "CANCELED"),
    ]


async def test_a_stale_save_is_refused_and_writes_no_event(container: Container) -> None:
    run, _ = await stored(container, await queued_run(container))
    older = copy.copy(run)
    await cancel(container, run)
    with pytest.raises(StaleAttempt):  # read before that save: its version is old
        await cancel(container, older)
    _, events = await stored(container, run.id)
    assert [e.seq for e in events] == [1, 2]


async def test_a_save_without_events_stores_the_run_only(container: Container) -> None:
    run, _ = await stored(container, await queued_run(container))
    assert await cancel(container, run, with_event=False) == []
    saved, events = await stored(container, run.id)
    assert saved.status is RunStatus.CANCELED
    assert [e.seq for e in events] == [1]


async def test_racing_submits_with_one_key_start_one_run(pipeline: Container) -> None:
    seller = await seller_with_experiment(pipeline)
    submits = await asyncio.gather(
        *(
            pipeline.runs.start(seller.principal, seller.experiment.id, RunConfig(), "click-1")
            for _ in range(4)
        )
    )
    assert len({run.id for run in submits}) == 1
    async with pipeline.uow(read_only=True) as uow:
        waiting = await uow.runs.count_waiting(seller.principal.account_id, 100)
        events = await uow.run_events.after(submits[0].id, 0, 10)
    assert waiting == 1 and [e.seq for e in events] == [1]
