"""bilu corrections versions

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bilu_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=20), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
    )
    op.create_table(
        "bilu_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("seal", sa.String(length=200), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hearing_id", "number", name="uq_bilu_versions_hearing_number"),
    )
    with op.batch_alter_table("bilu_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bilu_versions_hearing_id"), ["hearing_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bilu_versions_sha256"), ["sha256"], unique=False)

    op.create_table(
        "bilu_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("line_id", sa.String(length=60), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hearing_id", "event_seq", name="uq_bilu_corrections_hearing_seq"),
    )
    with op.batch_alter_table("bilu_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bilu_corrections_hearing_id"), ["hearing_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bilu_corrections_line_id"), ["line_id"], unique=False)

    op.create_table(
        "bilu_correction_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hearing_id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.String(length=60), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("proposed_text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decision_event_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["hearing_id"], ["hearings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hearing_id", "event_seq", name="uq_bilu_requests_hearing_seq"),
    )
    with op.batch_alter_table("bilu_correction_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bilu_correction_requests_hearing_id"), ["hearing_id"], unique=False
        )

    # Signatures gain the sealed statement; rows from before (none in practice) keep empty seals and
    # so never verify, which is what an unsealed signature deserves.
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("statement", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("key_id", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("seal", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_column("seal")
        batch_op.drop_column("key_id")
        batch_op.drop_column("statement")
    with op.batch_alter_table("bilu_correction_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bilu_correction_requests_hearing_id"))
    op.drop_table("bilu_correction_requests")
    with op.batch_alter_table("bilu_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bilu_corrections_line_id"))
        batch_op.drop_index(batch_op.f("ix_bilu_corrections_hearing_id"))
    op.drop_table("bilu_corrections")
    with op.batch_alter_table("bilu_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bilu_versions_sha256"))
        batch_op.drop_index(batch_op.f("ix_bilu_versions_hearing_id"))
    op.drop_table("bilu_versions")
    op.drop_table("bilu_keys")
