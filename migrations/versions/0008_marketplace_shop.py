"""listings, orders, syncs and webhook receipts (h9-store)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=14, scale=2)


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["accounts.id"],
        name=op.f(f"fk_{table}_account_id_accounts"),
        ondelete="CASCADE",
    )


def _connection_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"],
        ["marketplace_connections.id"],
        name=op.f(f"fk_{table}_connection_id_marketplace_connections"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("original_price", MONEY, nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("available_quantity", sa.Integer(), nullable=False),
        sa.Column("sold_quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("condition", sa.String(length=24), nullable=False),
        sa.Column("listing_type", sa.String(length=32), nullable=False),
        sa.Column("price_automated", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_cost", MONEY, nullable=True),
        _account_fk("listings"),
        _connection_fk("listings"),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_listings")),
    )
    op.create_index("ix_listings_account_updated", "listings", ["account_id", "updated_at", "id"])
    op.create_index("ix_listings_connection", "listings", ["connection_id"])
    op.create_table(
        "orders",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("buyer", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("orders"),
        _connection_fk("orders"),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_orders")),
    )
    op.create_index("ix_orders_account_created", "orders", ["account_id", "created_at", "id"])
    op.create_index("ix_orders_connection_created", "orders", ["connection_id", "created_at"])
    op.create_table(
        "order_items",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("full_unit_price", MONEY, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id", "order_id"],
            ["orders.account_id", "orders.id"],
            name="fk_order_items_order",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "order_id", "position", name=op.f("pk_order_items")),
    )
    op.create_index("ix_order_items_account_listing", "order_items", ["account_id", "listing_id"])
    op.create_table(
        "sync_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _account_fk("sync_jobs"),
        _connection_fk("sync_jobs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_jobs")),
    )
    op.create_index("ix_sync_jobs_account_created", "sync_jobs", ["account_id", "created_at", "id"])
    op.create_index("ix_sync_jobs_connection_status", "sync_jobs", ["connection_id", "status"])
    op.create_table(
        "webhook_receipts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_receipts")),
    )


def downgrade() -> None:
    op.drop_table("webhook_receipts")
    op.drop_index("ix_sync_jobs_connection_status", table_name="sync_jobs")
    op.drop_index("ix_sync_jobs_account_created", table_name="sync_jobs")
    op.drop_table("sync_jobs")
    op.drop_index("ix_order_items_account_listing", table_name="order_items")
    op.drop_table("order_items")
    op.drop_index("ix_orders_connection_created", table_name="orders")
    op.drop_index("ix_orders_account_created", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_listings_connection", table_name="listings")
    op.drop_index("ix_listings_account_updated", table_name="listings")
    op.drop_table("listings")
