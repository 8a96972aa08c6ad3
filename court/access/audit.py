"""The access audit trail (``audit_log``): what this package records, and the one writer it goes through.

Every login, redemption, logout, revocation and failed attempt is written here; the web layer adds
one entry per request through :func:`record`. Secrets (tokens, passwords, invitation codes) never
are, at most their last two characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from court.access.hashing import tail
from court.access.principals import Principal
from court.db.models import AuditLog, Hearing


class AuditAction(StrEnum):
    """What the access layer itself records; stored as the value, so renaming a member keeps old rows."""

    ACCOUNT_CREATED = "account.created"
    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    INVITATION_CREATED = "invitation.created"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_REDEEMED = "invitation.redeemed"
    INVITATION_REDEEM_FAILED = "invitation.redeem_failed"
    LOGIN_THROTTLED = "login.throttled"
    """Failed logins blocked an account or an address for a while (court.access.throttle)."""
    INVITATION_REDEEM_THROTTLED = "invitation.redeem_throttled"


ANONYMOUS = "anonymous"
"""The actor of a request without a valid session, and of a failed sign-in."""
SYSTEM = "system"
"""The actor of what no signed-in user did (accounts created from the console or at setup)."""

_SECRET_KEYS = frozenset({"token", "password", "code", "invitation_code", "secret"})


def scrub(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The audit detail with any secret a caller passed cut down to its tail."""
    return {
        key: tail(str(value)) if key.lower() in _SECRET_KEYS and value is not None else value
        for key, value in detail.items()
    }


def write(
    session: Session,
    actor: str,
    action: AuditAction | str,
    *,
    at: datetime,
    hearing_id: int | None = None,
    detail: Mapping[str, Any],
) -> None:
    """Add one entry to ``session`` (committed with whatever else the caller does in it)."""
    session.add(
        AuditLog(
            at=at,
            actor=actor[:100],
            action=action[:100],
            hearing_id=hearing_id,
            detail=scrub(detail),
        )
    )


def record(
    sessions: sessionmaker[Session],
    principal: Principal | None,
    action: AuditAction | str,
    *,
    at: datetime,
    hearing_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Record an access in a transaction of its own. ``action`` is free text for the web layer's
    per-request entries (``GET /api/hearings/3``); secret-looking keys in ``detail`` are cut down."""
    body = dict(detail or {})
    with sessions.begin() as session:
        if hearing_id is not None and session.get(Hearing, hearing_id) is None:
            # Someone asked about a hearing that does not exist: still recorded, but not as a
            # reference the foreign key would refuse (and lose the whole entry).
            body.setdefault("hearing_id", hearing_id)
            hearing_id = None
        write(
            session,
            principal.actor if principal is not None else ANONYMOUS,
            action,
            at=at,
            hearing_id=hearing_id,
            detail=body,
        )
