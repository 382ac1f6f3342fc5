"""discount exclusion: one live discount per listing at any instant, enforced by the database

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00

PostgreSQL gets an exclusion constraint (btree_gist for the equality columns); SQLite, which has
no exclusion constraints, gets triggers that refuse the same rows. SQLite runs one writer at a
time, so a trigger's check and the insert it guards are atomic.

Discounts that already overlap (stored by the race this closes) are resolved first: the oldest
live discount of each clash is kept and the later ones are canceled, as the service would have
refused them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = "ex_discounts_one_live_per_listing"
# The message of the SQLite triggers (the service re-reads the clash to name the other discount).
SQLITE_CLASH = "discount overlaps a live discount on the same listing"
_OVERLAP = f"""
    SELECT RAISE(ABORT, '{SQLITE_CLASH}') FROM discounts
    WHERE account_id = NEW.account_id AND listing_id = NEW.listing_id AND id <> NEW.id
      AND status <> 'CANCELED' AND starts_at < NEW.ends_at AND NEW.starts_at < ends_at;
"""


def _cancel_existing_overlaps() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, account_id, listing_id, starts_at, ends_at FROM discounts "
            "WHERE status <> 'CANCELED' ORDER BY created_at, id"
        )
    ).all()
    kept: dict[tuple[str, str], list[tuple[object, object]]] = {}
    losers: list[str] = []
    for row in rows:
        periods = kept.setdefault((row.account_id, row.listing_id), [])
        if any(start < row.ends_at and row.starts_at < end for start, end in periods):
            losers.append(row.id)
        else:
            periods.append((row.starts_at, row.ends_at))
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # SQLite keeps UTC naive (see UTCDateTime)
    for loser in losers:
        bind.execute(
            sa.text("UPDATE discounts SET status = 'CANCELED', canceled_at = :now WHERE id = :id"),
            {"now": now, "id": loser},
        )


def upgrade() -> None:
    _cancel_existing_overlaps()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            f"ALTER TABLE discounts ADD CONSTRAINT {NAME} EXCLUDE USING gist "
            "(account_id WITH =, listing_id WITH =, tstzrange(starts_at, ends_at) WITH &&) "
            "WHERE (status <> 'CANCELED')"
        )
        return
    op.execute(
        f"CREATE TRIGGER {NAME}_insert BEFORE INSERT ON discounts "
        f"WHEN NEW.status <> 'CANCELED' BEGIN {_OVERLAP} END"
    )
    op.execute(
        f"CREATE TRIGGER {NAME}_update BEFORE UPDATE OF account_id, listing_id, starts_at, "
        f"ends_at, status ON discounts WHEN NEW.status <> 'CANCELED' BEGIN {_OVERLAP} END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE discounts DROP CONSTRAINT {NAME}")
        return  # btree_gist stays: other objects may use it
    op.execute(f"DROP TRIGGER {NAME}_update")
    op.execute(f"DROP TRIGGER {NAME}_insert")
