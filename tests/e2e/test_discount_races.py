"""One live discount per listing holds under concurrency: the database refuses the losers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from server.adapters.db.engine import create_engine
from server.config import Settings
from tests.e2e.test_campaigns import at
from tests.support.api import Api, operation

RACERS = 20


async def _race(api: Api, token: str, listing_id: str) -> list[dict]:
    values = {"listingId": listing_id, "percent": 15, "startsAt": at(2), "endsAt": at(3)}
    responses = await asyncio.gather(
        *(api.post(operation("ScheduleDiscount"), {"input": values}, token) for _ in range(RACERS))
    )
    assert [r.status_code for r in responses] == [200] * RACERS
    return [r.json() for r in responses]


async def test_concurrent_schedules_store_exactly_one_discount(api: Api) -> None:
    seller = await api.sign_up()
    results = await _race(api, seller.token, "MLB2020202")
    winners = [r["data"]["scheduleDiscount"]["discount"] for r in results if r.get("data")]
    errors = [r["errors"][0] for r in results if r.get("errors")]
    assert len(winners) == 1
    assert len(errors) == RACERS - 1
    assert {e["extensions"]["code"] for e in errors} == {"CONFLICT"}
    # Every loser is told which discount holds the period.
    assert all(winners[0]["id"] in e["message"] for e in errors)
    listed = await api.op("Discounts", {"filter": {"listingId": "MLB2020202"}}, seller.token)
    assert listed["discounts"]["totalCount"] == 1


async def test_a_canceled_discount_frees_its_period_for_a_race(api: Api) -> None:
    seller = await api.sign_up()
    results = await _race(api, seller.token, "MLB3030303")
    (winner,) = [r["data"]["scheduleDiscount"]["discount"] for r in results if r.get("data")]
    await api.op("CancelDiscount", {"input": {"id": winner["id"]}}, seller.token)
    results = await _race(api, seller.token, "MLB3030303")
    assert sum(1 for r in results if r.get("data")) == 1
    listed = await api.op(
        "Discounts", {"filter": {"listingId": "MLB3030303", "status": "SCHEDULED"}}, seller.token
    )
    assert listed["discounts"]["totalCount"] == 1


async def test_the_database_itself_refuses_an_overlapping_discount(settings: Settings) -> None:
    """Whatever the code above it does: a raw insert of an overlap fails, of a canceled one not."""
    account = f"acc-{uuid.uuid4().hex[:8]}"
    starts = datetime(2030, 1, 1, tzinfo=UTC)
    ends = starts + timedelta(days=1)
    engine = create_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        starts, ends = starts.replace(tzinfo=None), ends.replace(tzinfo=None)
    insert = text(
        "INSERT INTO discounts (id, account_id, listing_id, percent, starts_at, ends_at, "
        "status, created_at) VALUES (:id, :account, 'MLB4040404', 10, :starts, :ends, "
        ":status, :starts)"
    )
    values = {"account": account, "starts": starts, "ends": ends}
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO accounts (id, name, created_at) VALUES (:id, 'x', :at)"),
                {"id": account, "at": starts},
            )
            await connection.execute(
                insert, {**values, "id": f"{account}-1", "status": "SCHEDULED"}
            )
            await connection.execute(insert, {**values, "id": f"{account}-2", "status": "CANCELED"})
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(
                    insert, {**values, "id": f"{account}-3", "status": "SCHEDULED"}
                )
    finally:
        await engine.dispose()
