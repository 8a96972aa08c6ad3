"""Party invitations: the per-hearing join code a clerk sends a party by SMS, its revocation, and the
party signing in with it (a party has no account and sees only that hearing).

The code is stored only as its hash (:func:`court.access.hashing.code_hash`), and it is redeemed once:
the login session it gives is the party's one device for the hearing (their face check and their
signatures are bound to it). Another device, or the same one after its session was lost, needs the
clerk to send a new code, which revokes the old one and its session."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, sessionmaker

from court.access.audit import ANONYMOUS, AuditAction, write
from court.access.hashing import code_hash, tail, token_hash
from court.access.login_sessions import new_token, party_principal
from court.access.principals import (
    AccessRole,
    InvitationNotFound,
    Principal,
    actor_name,
    not_authenticated,
)
from court.core.cases import CaseError
from court.core.roles import Role
from court.core.timeutil import as_utc
from court.db.models import Hearing, Invitation, LoginSession, Participant

# Codes are read aloud and typed from an SMS on a phone: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


@dataclass(frozen=True)
class InvitationInfo:
    id: int
    code: str
    """``ABCD-EFGH`` when the code was just made (the only time it exists in full); afterwards what
    may be shown of it, ``…GH``."""
    hearing_id: int
    participant_id: int
    participant_name: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    status: str
    """``active``, ``redeemed``, ``expired`` or ``revoked`` at the time it was read."""
    redeemed_at: datetime | None = None


def normalize_code(text: str) -> str | None:
    """``abcd efgh``, ``ABCD-EFGH``, full-width ``ＡＢＣＤ－ＥＦＧＨ`` → ``ABCD-EFGH``; None if it
    cannot be a code (phones type full-width letters and add spaces or dashes of their own)."""
    folded = unicodedata.normalize("NFKC", text).upper()
    chars = "".join(c for c in folded if c.isalnum())
    if len(chars) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in chars):
        return None
    return _group(chars)


def _group(chars: str) -> str:
    return f"{chars[:4]}-{chars[4:]}"


def _new_code() -> str:
    return _group("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))


def invite(
    sessions: sessionmaker[Session],
    hearing_id: int,
    participant_id: int,
    *,
    actor: Principal | str,
    now: datetime,
    ttl: timedelta,
) -> InvitationInfo:
    """A new join code for a party of the hearing's case, valid ``ttl``. Older codes of the same
    participant for the same hearing are revoked (with their sessions): a code sent again replaces
    the one that may have gone astray."""
    who = actor_name(actor)
    with sessions.begin() as session:
        hearing = session.get(Hearing, hearing_id)
        if hearing is None:
            raise CaseError(f"没有编号为 {hearing_id} 的庭审 (no hearing with id {hearing_id})")
        participant = session.get(Participant, participant_id)
        if participant is None or participant.case_id != hearing.case_id:
            raise CaseError(
                f"参与人 {participant_id} 不属于该案件 "
                f"(participant {participant_id} is not in the case of hearing {hearing_id})"
            )
        if Role(participant.role).is_tribunal:
            raise CaseError(
                f"仲裁庭组成人员不能通过邀请码加入 (participant {participant_id} is tribunal staff, "
                "who sign in with an account)"
            )
        older = session.scalars(
            select(Invitation).where(
                Invitation.hearing_id == hearing_id,
                Invitation.participant_id == participant_id,
                Invitation.revoked_at.is_(None),
            )
        ).all()
        for old in older:
            _revoke(session, old, who, now, reason="replaced")
        code, digest = _unused_code(session)
        invitation = Invitation(
            code_sha256=digest,
            code_hint=tail(code),
            hearing_id=hearing_id,
            participant_id=participant_id,
            created_by=who,
            created_at=now,
            expires_at=now + ttl,
        )
        session.add(invitation)
        session.flush()
        write(
            session,
            who,
            AuditAction.INVITATION_CREATED,
            hearing_id=hearing_id,
            detail={"invitation_id": invitation.id, "participant_id": participant_id, "code": tail(code)},
            at=now,
        )
        return replace(_info(invitation, participant.name, now), code=code)


def revoke_invitation(
    sessions: sessionmaker[Session], code: str, *, actor: Principal | str, now: datetime
) -> InvitationInfo:
    """Revoke a code and end the sessions redeemed from it. Revoking a revoked code changes nothing.
    Raises :class:`InvitationNotFound` for an unknown code."""
    who = actor_name(actor)
    canonical = normalize_code(code)
    with sessions.begin() as session:
        invitation = _find(session, canonical)
        if invitation is None:
            raise InvitationNotFound(f"邀请码不存在 (no invitation {tail(code)})")
        if invitation.revoked_at is None:
            _revoke(session, invitation, who, now, reason="revoked")
        participant = session.get(Participant, invitation.participant_id)
        return _info(invitation, participant.name if participant else "", now)


def redeem(
    sessions: sessionmaker[Session],
    code: str,
    *,
    client: str,
    now: datetime,
    session_ttl: timedelta,
    current_token: str | None = None,
) -> tuple[str, Principal]:
    """Sign a party in with their invitation code, once: the session lasts ``session_ttl`` but never
    beyond the invitation, and the code is then bound to it (``invitation_used`` for any later try).

    ``current_token``: the session the asking device already holds. Opening the invitation link
    again on the device it was redeemed on (a reload, the SMS tapped twice) gives back that same
    session instead of a refusal; any other device is refused."""
    canonical = normalize_code(code)
    with sessions() as session:
        invitation = _find(session, canonical)
        reason = _refusal(invitation, now)
        if reason == "invitation_used" and invitation is not None and current_token:
            principal = _bound_session(session, invitation, current_token, now)
            if principal is not None:
                return current_token, principal
        invitation_id = invitation.id if invitation is not None else None
        hearing_id = invitation.hearing_id if invitation is not None else None
    if reason is None:
        assert invitation_id is not None
        token, principal = _bind(sessions, invitation_id, client=client, now=now, session_ttl=session_ttl)
        if principal is not None:
            return token, principal
        reason = "invitation_used"  # another device redeemed it in the meantime
    with sessions.begin() as failed:
        write(
            failed,
            ANONYMOUS,
            AuditAction.INVITATION_REDEEM_FAILED,
            hearing_id=hearing_id,
            detail={
                "reason": reason,
                "invitation_id": invitation_id,
                "code": tail(canonical or code.strip()),
                "client": client[:200],
            },
            at=now,
        )
    raise not_authenticated(reason)


def _unused_code(session: Session) -> tuple[str, str]:
    """A fresh code and its hash (a clash with a stored one, however unlikely, draws again)."""
    while True:
        code = _new_code()
        digest = code_hash(code)
        if session.scalar(select(Invitation.id).where(Invitation.code_sha256 == digest)) is None:
            return code, digest


def _find(session: Session, canonical: str | None) -> Invitation | None:
    if canonical is None:
        return None
    return session.scalar(select(Invitation).where(Invitation.code_sha256 == code_hash(canonical)))


def _refusal(invitation: Invitation | None, now: datetime) -> str | None:
    if invitation is None:
        return "unknown_invitation"
    if invitation.revoked_at is not None:
        return "invitation_revoked"
    if as_utc(invitation.expires_at) <= now:
        return "invitation_expired"
    if invitation.redeemed_at is not None:
        return "invitation_used"
    return None


def _bound_session(session: Session, invitation: Invitation, token: str, now: datetime) -> Principal | None:
    """The principal of ``token`` if it is the live session this invitation was redeemed into."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_sha256 == token_hash(token)))
    if (
        row is None
        or row.invitation_id != invitation.id
        or row.revoked_at is not None
        or as_utc(row.expires_at) <= now
    ):
        return None
    return party_principal(invitation, session.get(Participant, invitation.participant_id), row)


def _bind(
    sessions: sessionmaker[Session], invitation_id: int, *, client: str, now: datetime, session_ttl: timedelta
) -> tuple[str, Principal | None]:
    """Redeem the code into one new session; (token, None) when another request won the race (the
    conditional update lets exactly one redemption through, on SQLite and PostgreSQL alike)."""
    token = new_token()
    with sessions.begin() as session:
        claimed = session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.redeemed_at.is_(None))
            .values(redeemed_at=now, last_used_at=now)
        )
        if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
            return token, None
        invitation = session.get(Invitation, invitation_id)
        assert invitation is not None
        session.refresh(invitation)
        participant = session.get(Participant, invitation.participant_id)
        row = LoginSession(
            token_sha256=token_hash(token),
            invitation_id=invitation.id,
            role=AccessRole.PARTY.value,
            created_at=now,
            expires_at=min(now + session_ttl, as_utc(invitation.expires_at)),
            client=client,
        )
        session.add(row)
        session.flush()
        principal = party_principal(invitation, participant, row)
        write(
            session,
            principal.actor,
            AuditAction.INVITATION_REDEEMED,
            hearing_id=invitation.hearing_id,
            detail={
                "invitation_id": invitation.id,
                "session_id": row.id,
                "code": invitation.code_hint,
                "client": client[:200],
            },
            at=now,
        )
    return token, principal


def list_invitations(
    sessions: sessionmaker[Session], hearing_id: int, *, now: datetime
) -> list[InvitationInfo]:
    """The hearing's invitations, newest first, with their status at ``now``."""
    with sessions() as session:
        rows = session.execute(
            select(Invitation, Participant.name)
            .join(Participant, Participant.id == Invitation.participant_id)
            .where(Invitation.hearing_id == hearing_id)
            .order_by(Invitation.id.desc())
        ).all()
        return [_info(invitation, name, now) for invitation, name in rows]


def _revoke(session: Session, invitation: Invitation, actor: str, now: datetime, *, reason: str) -> None:
    invitation.revoked_at = now
    ended = session.execute(
        update(LoginSession)
        .where(LoginSession.invitation_id == invitation.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    write(
        session,
        actor,
        AuditAction.INVITATION_REVOKED,
        hearing_id=invitation.hearing_id,
        detail={
            "invitation_id": invitation.id,
            "participant_id": invitation.participant_id,
            "code": invitation.code_hint,
            "reason": reason,
            "sessions_ended": int(getattr(ended, "rowcount", 0) or 0),
        },
        at=now,
    )


def _info(invitation: Invitation, participant_name: str, now: datetime) -> InvitationInfo:
    expires_at = as_utc(invitation.expires_at)
    if invitation.revoked_at is not None:
        status = "revoked"
    elif expires_at <= now:
        status = "expired"
    elif invitation.redeemed_at is not None:
        status = "redeemed"
    else:
        status = "active"
    return InvitationInfo(
        id=invitation.id,
        code=invitation.code_hint,
        hearing_id=invitation.hearing_id,
        participant_id=invitation.participant_id,
        participant_name=participant_name,
        created_by=invitation.created_by,
        created_at=as_utc(invitation.created_at),
        expires_at=expires_at,
        revoked_at=as_utc(invitation.revoked_at) if invitation.revoked_at is not None else None,
        last_used_at=as_utc(invitation.last_used_at) if invitation.last_used_at is not None else None,
        status=status,
        redeemed_at=as_utc(invitation.redeemed_at) if invitation.redeemed_at is not None else None,
    )
