"""marketplace connections, their encrypted credentials and pending OAuth states (h9-store)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marketplace_connections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seller_id", sa.String(length=32), nullable=False),
        sa.Column("nickname", sa.String(length=120), nullable=True),
        sa.Column("site_id", sa.String(length=8), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_marketplace_connections_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_connections")),
    )
    op.create_index(
        "ix_marketplace_connections_account_created",
        "marketplace_connections",
        ["account_id", "created_at", "id"],
    )
    op.create_index(
        "ix_marketplace_connections_seller", "marketplace_connections", ["provider", "seller_id"]
    )
    op.create_table(
        "marketplace_credentials",
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_credentials_connection_id_marketplace_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_marketplace_credentials")),
    )
    op.create_table(
        "marketplace_oauth_states",
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_marketplace_oauth_states_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["marketplace_connections.id"],
            name=op.f("fk_marketplace_oauth_states_connection_id_marketplace_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_marketplace_oauth_states")),
    )


def downgrade() -> None:
    op.drop_table("marketplace_oauth_states")
    op.drop_table("marketplace_credentials")
    op.drop_index("ix_marketplace_connections_seller", table_name="marketplace_connections")
    op.drop_index(
        "ix_marketplace_connections_account_created", table_name="marketplace_connections"
    )
    op.drop_table("marketplace_connections")
