"""Login sessions: staff and viewers signing in with a password, the check of a bearer token on each
request, and signing out.

A session is a random bearer token of which only the SHA-256 is stored. Parties get their sessions
from an invitation code (:mod:`court.access.invitations`); the same check serves both.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.access.audit import ANONYMOUS, AuditAction, write
from court.access.hashing import dummy_hash, token_hash, verify_password
from court.access.principals import AccessRole, Principal, not_authenticated
from court.core.timeutil import as_utc
from court.db.models import Account, Invitation, LoginSession, Participant


def new_token() -> str:
    return secrets.token_urlsafe(32)


def login(
    sessions: sessionmaker[Session],
    username: str,
    password: str,
    *,
    client: str,
    now: datetime,
    ttl: timedelta,
) -> tuple[str, Principal]:
    name = username.strip()
    with sessions() as session:
        found = session.execute(
            select(Account.id, Account.password_hash, Account.active).where(Account.username == name)
        ).first()
    # Always run the hash check, even for an unknown user, so timing tells nothing of who exists;
    # an unknown user, a wrong password and a deactivated account all get the same answer.
    good = verify_password(password, found.password_hash if found is not None else dummy_hash())
    if found is None or not good or not found.active:
        with sessions.begin() as session:
            write(
                session,
                ANONYMOUS,
                AuditAction.LOGIN_FAILED,
                detail={"username": name[:64], "client": client[:200]},
                at=now,
            )
        raise not_authenticated("bad_credentials")
    token = new_token()
    with sessions.begin() as session:
        account = session.get(Account, found.id)
        assert account is not None
        row = LoginSession(
            token_sha256=token_hash(token),
            account_id=account.id,
            role=account.role,
            created_at=now,
            expires_at=now + ttl,
            client=client,
        )
        session.add(row)
        session.flush()
        principal = account_principal(account, row)
        write(
            session,
            principal.actor,
            AuditAction.LOGIN,
            detail={"session_id": row.id, "client": client[:200]},
            at=now,
        )
    return token, principal


def authenticate(sessions: sessionmaker[Session], token: str | None, *, now: datetime) -> Principal:
    """The principal of a bearer token; NotAuthenticated when it is missing, unknown, expired or
    revoked (or its account was deactivated, or its invitation revoked or expired).

    Not audited here: it runs on every request, and the web layer audits each request (with
    its status) already; a rejected token would otherwise be written twice per request."""
    if not token:
        raise not_authenticated("no_session")
    with sessions() as session:
        row = session.scalar(select(LoginSession).where(LoginSession.token_sha256 == token_hash(token)))
        if row is None:
            raise not_authenticated("no_session")
        if row.revoked_at is not None:
            raise not_authenticated("session_revoked")
        if as_utc(row.expires_at) <= now:
            raise not_authenticated("session_expired")
        if row.account_id is not None:
            account = session.get(Account, row.account_id)
            if account is None or not account.active:
                raise not_authenticated("session_revoked")
            return account_principal(account, row)
        invitation = session.get(Invitation, row.invitation_id) if row.invitation_id is not None else None
        if invitation is None or invitation.revoked_at is not None:
            raise not_authenticated("session_revoked")
        if as_utc(invitation.expires_at) <= now:
            raise not_authenticated("session_expired")
        participant = session.get(Participant, invitation.participant_id)
        return party_principal(invitation, participant, row)


def logout(sessions: sessionmaker[Session], token: str | None, *, now: datetime) -> None:
    """End the session of ``token``; a missing, unknown or already ended one is left as it is."""
    if not token:
        return
    with sessions.begin() as session:
        row = session.scalar(select(LoginSession).where(LoginSession.token_sha256 == token_hash(token)))
        if row is None or row.revoked_at is not None:
            return
        row.revoked_at = now
        actor = _session_actor(session, row)
        hearing_id = _session_hearing(session, row)
        write(
            session, actor, AuditAction.LOGOUT, hearing_id=hearing_id, detail={"session_id": row.id}, at=now
        )


def account_principal(account: Account, row: LoginSession) -> Principal:
    return Principal(
        role=AccessRole(account.role),
        name=account.display_name or account.username,
        account_id=account.id,
        hearing_id=None,
        participant_id=None,
        session_id=row.id,
        expires_at=as_utc(row.expires_at),
        username=account.username,
    )


def party_principal(invitation: Invitation, participant: Participant | None, row: LoginSession) -> Principal:
    return Principal(
        role=AccessRole.PARTY,
        name=participant.name if participant is not None else "",
        account_id=None,
        hearing_id=invitation.hearing_id,
        participant_id=invitation.participant_id,
        session_id=row.id,
        expires_at=as_utc(row.expires_at),
    )


def _session_actor(session: Session, row: LoginSession) -> str:
    if row.account_id is not None:
        account = session.get(Account, row.account_id)
        return f"{row.role}:{account.username}" if account is not None else f"{row.role}:{row.account_id}"
    if row.invitation_id is not None:
        invitation = session.get(Invitation, row.invitation_id)
        return f"party:{invitation.participant_id}" if invitation is not None else "party:?"
    return ANONYMOUS


def _session_hearing(session: Session, row: LoginSession) -> int | None:
    if row.invitation_id is None:
        return None
    invitation = session.get(Invitation, row.invitation_id)
    return invitation.hearing_id if invitation is not None else None
