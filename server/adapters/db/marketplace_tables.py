"""The store slice's tables (issue 9): connections, credentials, OAuth states (migration 0007);
listings, orders, sync jobs, webhook receipts (0008). Imported by tables.py, so that
`Base.metadata` (Alembic, the schema test) always holds them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.adapters.db.tables import ID, Base

MONEY = Numeric(14, 2)
ITEM_ID = String(32)
ORDER_ID = String(32)


class MarketplaceConnectionRow(Base):
    __tablename__ = "marketplace_connections"
    __table_args__ = (
        Index("ix_marketplace_connections_account_created", "account_id", "created_at", "id"),
        Index("ix_marketplace_connections_seller", "provider", "seller_id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    seller_id: Mapped[str] = mapped_column(String(32))
    nickname: Mapped[str | None] = mapped_column(String(120))
    site_id: Mapped[str] = mapped_column(String(8))
    last_sync_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MarketplaceCredentialRow(Base):
    """A connection's tokens, each encrypted (Fernet, key derived from SECRET_KEY)."""

    __tablename__ = "marketplace_credentials"
    connection_id: Mapped[str] = mapped_column(
        ID, ForeignKey("marketplace_connections.id", ondelete="CASCADE"), primary_key=True
    )
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OAuthStateRow(Base):
    __tablename__ = "marketplace_oauth_states"
    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    connection_id: Mapped[str] = mapped_column(
        ID, ForeignKey("marketplace_connections.id", ondelete="CASCADE")
    )
    code_verifier: Mapped[str] = mapped_column(Text)  # encrypted
    redirect_uri: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime]


class ListingRow(Base):
    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_account_updated", "account_id", "updated_at", "id"),
        Index("ix_listings_connection", "connection_id"),
    )
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(ITEM_ID, primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        ID, ForeignKey("marketplace_connections.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(32))
    price: Mapped[Decimal] = mapped_column(MONEY)
    original_price: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(8))
    available_quantity: Mapped[int] = mapped_column(Integer)
    sold_quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24))
    condition: Mapped[str] = mapped_column(String(24))
    listing_type: Mapped[str] = mapped_column(String(32))
    price_automated: Mapped[bool]
    updated_at: Mapped[datetime]
    synced_at: Mapped[datetime]
    unit_cost: Mapped[Decimal | None] = mapped_column(MONEY)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_account_created", "account_id", "created_at", "id"),
        Index("ix_orders_connection_created", "connection_id", "created_at"),
    )
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(ORDER_ID, primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        ID, ForeignKey("marketplace_connections.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime]
    total_amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(8))
    buyer: Mapped[str] = mapped_column(String(64))  # a keyed hash: never the buyer's id
    updated_at: Mapped[datetime]


class OrderItemRow(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "order_id"],
            ["orders.account_id", "orders.id"],
            ondelete="CASCADE",
            name="fk_order_items_order",
        ),
        Index("ix_order_items_account_listing", "account_id", "listing_id"),
    )
    account_id: Mapped[str] = mapped_column(ID, primary_key=True)
    order_id: Mapped[str] = mapped_column(ORDER_ID, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[str] = mapped_column(ITEM_ID)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    full_unit_price: Mapped[Decimal | None] = mapped_column(MONEY)


class SyncJobRow(Base):
    __tablename__ = "sync_jobs"
    __table_args__ = (
        Index("ix_sync_jobs_account_created", "account_id", "created_at", "id"),
        Index("ix_sync_jobs_connection_status", "connection_id", "status"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    connection_id: Mapped[str] = mapped_column(
        ID, ForeignKey("marketplace_connections.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[float] = mapped_column(Float)
    counts: Mapped[dict[str, Any]]
    resource: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class WebhookReceiptRow(Base):
    __tablename__ = "webhook_receipts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the notification's _id
    topic: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]
