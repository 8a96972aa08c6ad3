"""invitation codes kept only as hashes, redeemed once

Revision ID: 0005
Revises: 0004

Every stored plaintext code becomes its hash and the two characters the clerk's list may show; the
plaintext column goes. A code that was used before is taken as redeemed then (``last_used_at``): its
sessions go on, a further device needs a new code.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from court.access.hashing import code_hash, tail

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_invitations = sa.table(
    "invitations",
    sa.column("id", sa.Integer()),
    sa.column("code", sa.String()),
    sa.column("code_sha256", sa.String()),
    sa.column("code_hint", sa.String()),
    sa.column("last_used_at", sa.DateTime(timezone=True)),
    sa.column("redeemed_at", sa.DateTime(timezone=True)),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("code_hint", sa.String(length=8), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True))

    bind = op.get_bind()
    for invitation_id, code in bind.execute(sa.select(_invitations.c.id, _invitations.c.code)).all():
        bind.execute(
            _invitations.update()
            .where(_invitations.c.id == invitation_id)
            .values(code_sha256=code_hash(code), code_hint=tail(code))
        )
    bind.execute(_invitations.update().values(redeemed_at=_invitations.c.last_used_at))

    _without_cascade(bind, _finish_upgrade)


def _finish_upgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.alter_column("code_sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("code_hint", existing_type=sa.String(length=8), server_default=None)
        batch_op.create_unique_constraint("uq_invitations_code_sha256", ["code_sha256"])
        batch_op.drop_column("code")


def downgrade() -> None:
    # The plaintext is gone for good: the old rows get a placeholder code and are revoked (with
    # their sessions' invitation, the sessions end), so the clerk sends new codes.
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=16), nullable=True))
    bind = op.get_bind()
    for (invitation_id,) in bind.execute(sa.select(_invitations.c.id)).all():
        bind.execute(
            _invitations.update()
            .where(_invitations.c.id == invitation_id)
            .values(
                code=f"#{invitation_id}",
                revoked_at=sa.func.coalesce(_invitations.c.revoked_at, sa.func.now()),
            )
        )
    _without_cascade(bind, _finish_downgrade)


def _finish_downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_constraint("uq_invitations_code_sha256", type_="unique")
        batch_op.create_unique_constraint("uq_invitations_code", ["code"])
        batch_op.drop_column("redeemed_at")
        batch_op.drop_column("code_hint")
        batch_op.drop_column("code_sha256")


def _without_cascade(bind: sa.Connection, step: Callable[[], None]) -> None:
    """Run ``step``, a batch change of ``invitations``, keeping the party login sessions. On SQLite
    batch mode rebuilds the table, and dropping the old copy deletes what refers to it (ON DELETE
    CASCADE; the foreign-key pragma cannot be turned off inside the migration's transaction), so
    those rows are kept aside and put back."""
    if bind.dialect.name != "sqlite":
        step()
        return
    bind.exec_driver_sql(
        "CREATE TEMP TABLE _kept_login_sessions AS "
        "SELECT * FROM login_sessions WHERE invitation_id IS NOT NULL"
    )
    step()
    bind.exec_driver_sql(
        "INSERT INTO login_sessions SELECT * FROM _kept_login_sessions "
        "WHERE id NOT IN (SELECT id FROM login_sessions)"
    )
    bind.exec_driver_sql("DROP TABLE _kept_login_sessions")
