"""run outbox and database-assigned event seqs

Every run event is now stored (run_events holds the whole log, not only milestones), numbered
by a per-run counter (runs.event_seq) in the transaction that writes it; run_outbox holds
attempts to put on the job queue, written in the same transaction as the run's state change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_outbox",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_outbox_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "attempt", name=op.f("pk_run_outbox")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("event_seq", sa.Integer(), nullable=False, server_default="0")
        )
    # Existing runs continue after the last event the database kept.
    op.execute(
        "UPDATE runs SET event_seq = COALESCE("
        "(SELECT MAX(seq) FROM run_events WHERE run_events.run_id = runs.id), 0)"
    )
    # Runs still waiting keep a job: the sweeper enqueues them again from the outbox.
    op.execute(
        "INSERT INTO run_outbox (run_id, attempt, created_at) "
        "SELECT id, attempt, queued_at FROM runs WHERE status = 'QUEUED'"
    )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("event_seq")
    op.drop_table("run_outbox")
