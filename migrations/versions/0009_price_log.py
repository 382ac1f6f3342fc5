"""the price log and discounts' marketplace state (owner: h9-sched)

price_changes is the append-only audit log of every attempt to change a price: triggers refuse
UPDATE and DELETE on both databases. Discounts gain their marketplace side (state, deal price,
the live promotion's segment) and the scheduler's claim (claim_id, claimed_until: the intent
written before a marketplace call); campaigns gain their rules.

Columns are added with plain ALTER TABLE (no batch copy), so SQLite keeps the discount triggers
of migration 0004.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 21:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

APPEND_ONLY = "price_changes_append_only"
MESSAGE = "price_changes is append-only"


def _discount_columns() -> tuple[sa.Column[Any], ...]:
    return (
        sa.Column("marketplace_state", sa.String(16), nullable=False, server_default="PENDING"),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("deal_price", sa.Numeric(14, 2), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promotion_id", sa.String(64), nullable=True),
        sa.Column("segment_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("spend_estimate", sa.Numeric(14, 2), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_id", sa.String(36), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    )


def _campaign_columns() -> tuple[sa.Column[Any], ...]:
    return (
        sa.Column("max_discount_percent", sa.Float(), nullable=True),
        sa.Column("min_margin_percent", sa.Float(), nullable=True),
        sa.Column("stock_floor", sa.Integer(), nullable=True),
    )


def upgrade() -> None:
    op.create_table(
        "price_changes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("listing_id", sa.String(32), nullable=False),
        sa.Column("old_price", sa.Numeric(14, 2), nullable=True),
        sa.Column("new_price", sa.Numeric(14, 2), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("promotion_id", sa.String(64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("discount_id", sa.String(36), nullable=True),
        sa.Column("campaign_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_price_changes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_changes")),
    )
    op.create_index("ix_price_changes_account_at", "price_changes", ["account_id", "at", "id"])
    op.create_index(
        "ix_price_changes_account_listing_at", "price_changes", ["account_id", "listing_id", "at"]
    )
    for column in _discount_columns():
        op.add_column("discounts", column)
    op.create_index(
        "ix_discounts_marketplace_state_ends", "discounts", ["marketplace_state", "ends_at"]
    )
    for column in _campaign_columns():
        op.add_column("campaigns", column)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {APPEND_ONLY}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {APPEND_ONLY} BEFORE UPDATE OR DELETE ON price_changes "
            f"FOR EACH ROW EXECUTE FUNCTION {APPEND_ONLY}()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {APPEND_ONLY}_{event.lower()} BEFORE {event} ON price_changes "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {APPEND_ONLY} ON price_changes")
        op.execute(f"DROP FUNCTION {APPEND_ONLY}()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER {APPEND_ONLY}_{event}")
    for column in _campaign_columns():
        op.drop_column("campaigns", column.name)
    op.drop_index("ix_discounts_marketplace_state_ends", table_name="discounts")
    # SQLite drops columns in place (ALTER TABLE DROP COLUMN, 3.35+): no table copy, the
    # triggers of 0004 stay.
    for column in _discount_columns():
        op.drop_column("discounts", column.name)
    op.drop_index("ix_price_changes_account_listing_at", table_name="price_changes")
    op.drop_index("ix_price_changes_account_at", table_name="price_changes")
    op.drop_table("price_changes")
