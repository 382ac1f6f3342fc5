"""Migration 0004 resolves discounts that already overlap before it forbids overlaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from server.adapters.db.engine import create_engine
from server.migrate import upgrade_async
from tests.integration.test_migrations import fresh_database  # noqa: F401 (fixture)


async def test_existing_overlaps_keep_the_oldest_discount(fresh_database: str) -> None:  # noqa: F811
    await upgrade_async(fresh_database, "0002")
    engine = create_engine(fresh_database)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    naive = engine.dialect.name == "sqlite"

    def t(days: float) -> datetime:
        moment = start + timedelta(days=days)
        return moment.replace(tzinfo=None) if naive else moment

    rows = [  # id, starts, ends, created (days after start)
        ("oldest", 0, 2, 0),
        ("overlaps-oldest", 1, 3, 1),
        ("after-oldest", 2, 4, 2),  # back to back with the oldest: kept
        ("overlaps-kept", 3, 5, 3),
    ]
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO accounts (id, name, created_at) VALUES ('a', 'a', :at)"),
                {"at": t(0)},
            )
            for row_id, starts, ends, created in rows:
                await connection.execute(
                    text(
                        "INSERT INTO discounts (id, account_id, listing_id, percent, starts_at, "
                        "ends_at, status, created_at) VALUES (:id, 'a', 'MLB1', 10, :s, :e, "
                        "'SCHEDULED', :c)"
                    ),
                    {"id": row_id, "s": t(starts), "e": t(ends), "c": t(created)},
                )
        await engine.dispose()
        await upgrade_async(fresh_database)
        async with engine.connect() as connection:
            result = await connection.execute(
                text("SELECT id, status FROM discounts ORDER BY created_at")
            )
            statuses: dict[str, str] = dict(result.all())
    finally:
        await engine.dispose()
    assert statuses == {
        "oldest": "SCHEDULED",
        "overlaps-oldest": "CANCELED",
        "after-oldest": "SCHEDULED",
        "overlaps-kept": "CANCELED",
    }
