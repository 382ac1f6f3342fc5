"""Relational schema (SQLAlchemy 2 typed mappings). Migrations in migrations/ mirror it."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    column,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.model.runs import RunConfig, RunEventType, RunMetrics, RunStatus
from server.adapters.db.run_json import RunConfigJSON, RunMetricsJSON

ID = String(36)
# The constraint (PostgreSQL) and triggers (SQLite) that keep discounts on a listing apart.
DISCOUNT_OVERLAP = "ex_discounts_one_live_per_listing"
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(kind: type[enum.Enum], length: int = 16) -> Enum:
    """A domain enum stored as its value in a VARCHAR (no database enum type, no CHECK: a new
    member needs no migration); rows read back as enum members."""
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_account_created", "account_id", "created_at", "id"),
        # E-mails are unique per account; one address may own several accounts.
        UniqueConstraint("account_id", "email", name="uq_users_account_email"),
        Index("ix_users_email", "email"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    token_version: Mapped[int] = mapped_column(Integer, server_default="0")
    last_login_at: Mapped[datetime | None]


class SessionRow(Base):
    """A refresh-token session family: only `current_jti` may be exchanged."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user", "user_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    current_jti: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class DatasetRow(Base):
    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_account_created", "account_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    storage_key: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class ExperimentRow(Base):
    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("account_id", "name", name="uq_experiments_account_name"),
        Index("ix_experiments_account_created", "account_id", "created_at", "id"),
        Index("ix_experiments_dataset", "dataset_id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    dataset_id: Mapped[str] = mapped_column(ID, ForeignKey("datasets.id"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    problem_type: Mapped[str] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(String(255))
    metric: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_account_queued", "account_id", "queued_at", "id"),
        Index("ix_runs_experiment_queued", "experiment_id", "queued_at", "id"),
        Index("ix_runs_status_heartbeat", "status", "heartbeat_at"),
        UniqueConstraint("account_id", "idempotency_key", name="uq_runs_account_idempotency"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    experiment_id: Mapped[str] = mapped_column(ID, ForeignKey("experiments.id"))
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus))
    attempt: Mapped[int] = mapped_column(Integer)
    progress: Mapped[float] = mapped_column(Float)
    config: Mapped[RunConfig] = mapped_column(RunConfigJSON)
    queued_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[RunMetrics | None] = mapped_column(RunMetricsJSON)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=0)
    handed_back: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The last seq given to one of the run's events: incremented in the transaction that
    # writes the event row, so seqs are assigned by the database and never skip.
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TrialRow(Base):
    __tablename__ = "trials"
    __table_args__ = (
        Index("ix_trials_run_attempt_score", "run_id", "attempt", "score"),
        UniqueConstraint("run_id", "attempt", "number", name="uq_trials_run_attempt_number"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("runs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    duration_seconds: Mapped[float | None] = mapped_column(Float)


class RunEventRow(Base):
    """Every event of a run, the durable log; the Redis stream only relays them live."""

    __tablename__ = "run_events"
    run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    type: Mapped[RunEventType] = mapped_column(enum_column(RunEventType))
    message: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RunOutboxRow(Base):
    """Attempts waiting to be put on the job queue: written with the run's state change, removed
    once enqueued (the sweeper relays what the API or the sweeper could not enqueue)."""

    __tablename__ = "run_outbox"
    run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (
        Index("ix_models_account_created", "account_id", "created_at", "id"),
        Index("ix_models_experiment_stage", "experiment_id", "stage"),
        # One model per run, whatever a retried or duplicated worker does.
        Index("ix_models_run", "run_id", unique=True),
        # One PRODUCTION model per experiment.
        Index(
            "ix_models_one_production",
            "experiment_id",
            unique=True,
            postgresql_where=text("stage = 'PRODUCTION'"),
            sqlite_where=text("stage = 'PRODUCTION'"),
        ),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    experiment_id: Mapped[str] = mapped_column(ID, ForeignKey("experiments.id"))
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("runs.id"))
    stage: Mapped[str] = mapped_column(String(16))
    # The same mapping as runs.metrics (a model's JSON has always been the run's summary).
    metrics: Mapped[RunMetrics] = mapped_column(RunMetricsJSON)
    feature_importances: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    artifact_key: Mapped[str | None] = mapped_column(String(255))
    input_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    problem_type: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime]


class CampaignRow(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_account_created", "account_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    budget: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class DiscountRow(Base):
    __tablename__ = "discounts"
    __table_args__ = (
        Index("ix_discounts_account_created", "account_id", "created_at", "id"),
        Index("ix_discounts_campaign_created", "campaign_id", "created_at", "id"),
        Index("ix_discounts_account_listing", "account_id", "listing_id"),
        # One live discount per listing at any instant, whatever the concurrency. SQLite has no
        # exclusion constraints: migration 0004 gives it triggers that refuse the same rows.
        ExcludeConstraint(
            (column("account_id"), "="),
            (column("listing_id"), "="),
            (func.tstzrange(column("starts_at"), column("ends_at")), "&&"),
            name=DISCOUNT_OVERLAP,
            using="gist",
            where=text("status <> 'CANCELED'"),
        ).ddl_if(dialect="postgresql"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    campaign_id: Mapped[str | None] = mapped_column(ID, ForeignKey("campaigns.id"))
    listing_id: Mapped[str] = mapped_column(String(32))
    percent: Mapped[float] = mapped_column(Float)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    canceled_at: Mapped[datetime | None]


# The store slice's tables (issue 9) live in their own module; importing it here keeps
# `Base.metadata` whole for Alembic and the schema test.
from server.adapters.db import marketplace_tables as _marketplace_tables  # noqa: E402, F401
