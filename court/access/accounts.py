"""Who may use the web side: accounts, login sessions, party invitations, and the audit trail.

Staff (clerks, arbitrators) and viewers (supervisors, the observation room) log in with a username
and password; a party redeems the per-hearing invitation code the clerk sent by SMS and sees only
that hearing. A session is a random bearer token of which only the SHA-256 is stored, so a copy of
the database hands out no live session. Every login, redemption, logout, revocation and failed
attempt is written to ``audit_log`` by this class (checking a session on each request is left to
the web layer's per-request audit); secrets (tokens, passwords, invitation codes)
never are, at most their last two characters.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import CaseError
from court.core.roles import Role
from court.core.timeutil import as_utc, utcnow
from court.db.models import Account, AuditLog, Hearing, Invitation, LoginSession, Participant


class AccessRole(StrEnum):
    CLERK = "clerk"
    ARBITRATOR = "arbitrator"
    SUPERVISOR = "supervisor"
    OBSERVER = "observer"
    """The observation room (观摩室)."""
    PARTY = "party"


STAFF_ROLES = frozenset({AccessRole.CLERK, AccessRole.ARBITRATOR})
VIEWER_ROLES = frozenset({AccessRole.SUPERVISOR, AccessRole.OBSERVER})


@dataclass(frozen=True)
class Principal:
    """The signed-in user of one request."""

    role: AccessRole
    name: str
    """Display name: the account's, or the party's name."""
    account_id: int | None
    hearing_id: int | None
    """Parties only: the one hearing they may see."""
    participant_id: int | None
    session_id: int
    expires_at: datetime
    username: str = ""
    """Accounts only (parties have none); names the actor in the timeline and the audit log."""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_viewer(self) -> bool:
        return self.role in VIEWER_ROLES

    @property
    def is_party(self) -> bool:
        return self.role == AccessRole.PARTY

    def may_see(self, hearing_id: int) -> bool:
        if self.role == AccessRole.PARTY:
            return self.hearing_id is not None and self.hearing_id == hearing_id
        return self.is_staff or self.is_viewer

    @property
    def actor(self) -> str:
        """``clerk:wang`` or ``party:12`` (the participant id): unique and stable, unlike display names."""
        if self.role == AccessRole.PARTY:
            return f"party:{self.participant_id}"
        return f"{self.role.value}:{self.username or self.account_id}"


class NotAuthenticated(Exception):
    """No valid session (HTTP 401). ``reason_code`` is one of :data:`REASONS`."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


class AccessDenied(Exception):
    """A valid session that may not do this (HTTP 403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvitationNotFound(LookupError):
    """The clerk named an invitation code that does not exist (HTTP 404, not 401: the clerk is signed in)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


REASONS: Mapping[str, str] = {
    "no_session": "未登录或会话无效 (not signed in)",
    "bad_credentials": "用户名或密码错误 (wrong username or password)",
    "session_expired": "登录已过期，请重新登录 (session expired)",
    "session_revoked": "会话已失效，请重新登录 (session revoked)",
    "unknown_invitation": "邀请码无效 (unknown invitation code)",
    "invitation_expired": "邀请码已过期 (invitation expired)",
    "invitation_revoked": "邀请码已撤销 (invitation revoked)",
}


def _not_authenticated(code: str) -> NotAuthenticated:
    return NotAuthenticated(code, REASONS[code])


@dataclass(frozen=True)
class InvitationInfo:
    id: int
    code: str
    """``ABCD-EFGH``."""
    hearing_id: int
    participant_id: int
    participant_name: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    status: str
    """``active``, ``expired`` or ``revoked`` at the time it was read."""


# -- secrets -----------------------------------------------------------------------------------------

# Codes are read aloud and typed from an SMS on a phone: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
# Generated passwords are handed over on paper or read from the console: lower case, no look-alikes.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

# scrypt at n=2**14, r=8 costs about 16 MiB and tens of milliseconds: cheap for one login, dear for
# guessing offline. The parameters are stored with each hash, so raising them later stays compatible.
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_LEN = 32


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_SCRYPT_LEN
    )
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 2**20,
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Checked against when the username is unknown, so that a miss costs as long as a wrong password
# and the response time does not tell which usernames exist.
@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tail(secret: str) -> str:
    """What the audit log may keep of a secret: its last two characters."""
    return "…" + secret[-2:] if len(secret) > 2 else "…"


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


def _new_password() -> str:
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))


_SECRET_KEYS = frozenset({"token", "password", "code", "invitation_code", "secret"})


def _scrub(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The audit detail with any secret a caller passed cut down to its tail."""
    return {
        key: tail(str(value)) if key.lower() in _SECRET_KEYS and value is not None else value
        for key, value in detail.items()
    }


# -- the service -------------------------------------------------------------------------------------


class Accounts:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        session_ttl: timedelta = timedelta(hours=8),
        invitation_ttl: timedelta = timedelta(days=7),
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self.session_ttl = session_ttl
        self.invitation_ttl = invitation_ttl
        self._now = now

    # accounts

    def create_account(
        self, username: str, password: str, role: AccessRole | str, display_name: str = ""
    ) -> int:
        access = _account_role(role)
        name = username.strip()
        if not _USERNAME.match(name):
            raise ValueError(f"用户名只能由 1–64 个字母、数字或 _ . @ - 组成 (invalid username {username!r})")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(
                f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 "
                f"(password must be at least {MIN_PASSWORD_LENGTH} characters)"
            )
        with self._sessions.begin() as session:
            if session.scalar(select(Account.id).where(Account.username == name)) is not None:
                raise ValueError(f"用户名 {name} 已存在 (username already exists)")
            account = Account(
                username=name,
                role=access.value,
                display_name=display_name.strip(),
                password_hash=hash_password(password),
                active=True,
                created_at=self._now(),
            )
            session.add(account)
            session.flush()
            self._write(
                session,
                "system",
                "account.created",
                detail={"account_id": account.id, "username": name, "role": access.value},
            )
            return account.id

    def ensure_account(self, username: str, role: AccessRole | str, display_name: str = "") -> str | None:
        """Create the account with a generated password and return it (to show once), or None when
        the username exists already (whatever its role: an existing account is never changed here)."""
        with self._sessions() as session:
            if session.scalar(select(Account.id).where(Account.username == username.strip())) is not None:
                return None
        password = _new_password()
        self.create_account(username, password, role, display_name)
        return password

    # signing in and out

    def login(self, username: str, password: str, *, client: str = "") -> tuple[str, Principal]:
        name = username.strip()
        now = self._now()
        with self._sessions() as session:
            found = session.execute(
                select(Account.id, Account.password_hash, Account.active).where(Account.username == name)
            ).first()
        # Always run the hash check, even for an unknown user, so timing tells nothing of who exists;
        # an unknown user, a wrong password and a deactivated account all get the same answer.
        good = verify_password(password, found.password_hash if found is not None else _dummy_hash())
        if found is None or not good or not found.active:
            with self._sessions.begin() as session:
                self._write(
                    session,
                    "anonymous",
                    "login.failed",
                    detail={"username": name[:64], "client": client[:200]},
                    at=now,
                )
            raise _not_authenticated("bad_credentials")
        token = secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            account = session.get(Account, found.id)
            assert account is not None
            row = LoginSession(
                token_sha256=_token_hash(token),
                account_id=account.id,
                role=account.role,
                created_at=now,
                expires_at=now + self.session_ttl,
                client=client,
            )
            session.add(row)
            session.flush()
            principal = _account_principal(account, row)
            self._write(
                session,
                principal.actor,
                "login",
                detail={"session_id": row.id, "client": client[:200]},
                at=now,
            )
        return token, principal

    def authenticate(self, token: str | None) -> Principal:
        """The principal of a bearer token; NotAuthenticated when it is missing, unknown, expired or
        revoked (or its account was deactivated, or its invitation revoked or expired).

        Not audited here: it runs on every request, and the web layer audits each request (with
        its status) already; a rejected token would otherwise be written twice per request."""
        if not token:
            raise _not_authenticated("no_session")
        now = self._now()
        with self._sessions() as session:
            row = session.scalar(select(LoginSession).where(LoginSession.token_sha256 == _token_hash(token)))
            if row is None:
                raise _not_authenticated("no_session")
            if row.revoked_at is not None:
                raise _not_authenticated("session_revoked")
            if as_utc(row.expires_at) <= now:
                raise _not_authenticated("session_expired")
            if row.account_id is not None:
                account = session.get(Account, row.account_id)
                if account is None or not account.active:
                    raise _not_authenticated("session_revoked")
                return _account_principal(account, row)
            invitation = session.get(Invitation, row.invitation_id) if row.invitation_id is not None else None
            if invitation is None or invitation.revoked_at is not None:
                raise _not_authenticated("session_revoked")
            if as_utc(invitation.expires_at) <= now:
                raise _not_authenticated("session_expired")
            participant = session.get(Participant, invitation.participant_id)
            return _party_principal(invitation, participant, row)

    def logout(self, token: str | None) -> None:
        """End the session of ``token``; a missing, unknown or already ended one is left as it is."""
        if not token:
            return
        now = self._now()
        with self._sessions.begin() as session:
            row = session.scalar(select(LoginSession).where(LoginSession.token_sha256 == _token_hash(token)))
            if row is None or row.revoked_at is not None:
                return
            row.revoked_at = now
            actor = self._session_actor(session, row)
            hearing_id = _session_hearing(session, row)
            self._write(
                session, actor, "logout", hearing_id=hearing_id, detail={"session_id": row.id}, at=now
            )

    # invitations

    def invite(self, hearing_id: int, participant_id: int, *, actor: Principal | str) -> InvitationInfo:
        """A new join code for a party of the hearing's case, valid ``invitation_ttl``. Older codes of
        the same participant for the same hearing are revoked (with their sessions): a code sent
        again replaces the one that may have gone astray."""
        who = _actor_name(actor)
        now = self._now()
        with self._sessions.begin() as session:
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
                self._revoke(session, old, who, now, reason="replaced")
            code = _new_code()
            while session.scalar(select(Invitation.id).where(Invitation.code == code)) is not None:
                code = _new_code()
            invitation = Invitation(
                code=code,
                hearing_id=hearing_id,
                participant_id=participant_id,
                created_by=who,
                created_at=now,
                expires_at=now + self.invitation_ttl,
            )
            session.add(invitation)
            session.flush()
            self._write(
                session,
                who,
                "invitation.created",
                hearing_id=hearing_id,
                detail={"invitation_id": invitation.id, "participant_id": participant_id, "code": tail(code)},
                at=now,
            )
            return _invitation_info(invitation, participant.name, now)

    def revoke_invitation(self, code: str, *, actor: Principal | str) -> InvitationInfo:
        """Revoke a code and end the sessions redeemed from it. Revoking a revoked code changes nothing.
        Raises :class:`InvitationNotFound` for an unknown code."""
        who = _actor_name(actor)
        now = self._now()
        canonical = normalize_code(code)
        with self._sessions.begin() as session:
            invitation = (
                session.scalar(select(Invitation).where(Invitation.code == canonical)) if canonical else None
            )
            if invitation is None:
                raise InvitationNotFound(f"邀请码不存在 (no invitation {tail(code)})")
            if invitation.revoked_at is None:
                self._revoke(session, invitation, who, now, reason="revoked")
            participant = session.get(Participant, invitation.participant_id)
            return _invitation_info(invitation, participant.name if participant else "", now)

    def redeem(self, code: str, *, client: str = "") -> tuple[str, Principal]:
        """Sign a party in with their invitation code; the session lasts ``session_ttl`` but never
        beyond the invitation."""
        now = self._now()
        canonical = normalize_code(code)
        with self._sessions() as session:
            invitation = (
                session.scalar(select(Invitation).where(Invitation.code == canonical)) if canonical else None
            )
            reason: str | None = None
            if invitation is None:
                reason = "unknown_invitation"
            elif invitation.revoked_at is not None:
                reason = "invitation_revoked"
            elif as_utc(invitation.expires_at) <= now:
                reason = "invitation_expired"
            invitation_id = invitation.id if invitation is not None else None
            hearing_id = invitation.hearing_id if invitation is not None else None
        if reason is not None:
            with self._sessions.begin() as failed:
                self._write(
                    failed,
                    "anonymous",
                    "invitation.redeem_failed",
                    hearing_id=hearing_id,
                    detail={
                        "reason": reason,
                        "invitation_id": invitation_id,
                        "code": tail(canonical or code.strip()),
                        "client": client[:200],
                    },
                    at=now,
                )
            raise _not_authenticated(reason)
        token = secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            invitation = session.get(Invitation, invitation_id)
            assert invitation is not None
            participant = session.get(Participant, invitation.participant_id)
            invitation.last_used_at = now
            row = LoginSession(
                token_sha256=_token_hash(token),
                invitation_id=invitation.id,
                role=AccessRole.PARTY.value,
                created_at=now,
                expires_at=min(now + self.session_ttl, as_utc(invitation.expires_at)),
                client=client,
            )
            session.add(row)
            session.flush()
            principal = _party_principal(invitation, participant, row)
            self._write(
                session,
                principal.actor,
                "invitation.redeemed",
                hearing_id=invitation.hearing_id,
                detail={
                    "invitation_id": invitation.id,
                    "session_id": row.id,
                    "code": tail(invitation.code),
                    "client": client[:200],
                },
                at=now,
            )
        return token, principal

    def invitations(self, hearing_id: int) -> list[InvitationInfo]:
        """The hearing's invitations, newest first, with their status now."""
        now = self._now()
        with self._sessions() as session:
            rows = session.execute(
                select(Invitation, Participant.name)
                .join(Participant, Participant.id == Invitation.participant_id)
                .where(Invitation.hearing_id == hearing_id)
                .order_by(Invitation.id.desc())
            ).all()
            return [_invitation_info(invitation, name, now) for invitation, name in rows]

    # the audit trail

    def audit(
        self,
        principal: Principal | None,
        action: str,
        *,
        hearing_id: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an access (a page, a download, a clerk action). Secret-looking keys in ``detail``
        (token, password, code) are cut to their last two characters."""
        body = dict(detail or {})
        with self._sessions.begin() as session:
            if hearing_id is not None and session.get(Hearing, hearing_id) is None:
                # Someone asked about a hearing that does not exist: still recorded, but not as a
                # reference the foreign key would refuse (and lose the whole entry).
                body.setdefault("hearing_id", hearing_id)
                hearing_id = None
            self._write(
                session,
                principal.actor if principal is not None else "anonymous",
                action,
                hearing_id=hearing_id,
                detail=body,
            )

    # internals

    def _write(
        self,
        session: Session,
        actor: str,
        action: str,
        *,
        hearing_id: int | None = None,
        detail: Mapping[str, Any],
        at: datetime | None = None,
    ) -> None:
        session.add(
            AuditLog(
                at=at or self._now(),
                actor=actor[:100],
                action=action[:100],
                hearing_id=hearing_id,
                detail=_scrub(detail),
            )
        )

    def _revoke(
        self, session: Session, invitation: Invitation, actor: str, now: datetime, *, reason: str
    ) -> None:
        invitation.revoked_at = now
        ended = session.execute(
            update(LoginSession)
            .where(LoginSession.invitation_id == invitation.id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        self._write(
            session,
            actor,
            "invitation.revoked",
            hearing_id=invitation.hearing_id,
            detail={
                "invitation_id": invitation.id,
                "participant_id": invitation.participant_id,
                "code": tail(invitation.code),
                "reason": reason,
                "sessions_ended": int(getattr(ended, "rowcount", 0) or 0),
            },
            at=now,
        )

    def _session_actor(self, session: Session, row: LoginSession) -> str:
        if row.account_id is not None:
            account = session.get(Account, row.account_id)
            return f"{row.role}:{account.username}" if account is not None else f"{row.role}:{row.account_id}"
        if row.invitation_id is not None:
            invitation = session.get(Invitation, row.invitation_id)
            return f"party:{invitation.participant_id}" if invitation is not None else "party:?"
        return "anonymous"


def _session_hearing(session: Session, row: LoginSession) -> int | None:
    if row.invitation_id is None:
        return None
    invitation = session.get(Invitation, row.invitation_id)
    return invitation.hearing_id if invitation is not None else None


def _account_role(role: AccessRole | str) -> AccessRole:
    try:
        access = AccessRole(role)
    except ValueError:
        known = ", ".join(r.value for r in AccessRole if r != AccessRole.PARTY)
        raise ValueError(f"未知角色 {role!r} (unknown role; one of {known})") from None
    if access == AccessRole.PARTY:
        raise ValueError(
            "当事人不设账号，请使用邀请码 (parties have no account: they join with an invitation)"
        )
    return access


def _actor_name(actor: Principal | str) -> str:
    return actor.actor if isinstance(actor, Principal) else actor


def _account_principal(account: Account, row: LoginSession) -> Principal:
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


def _party_principal(invitation: Invitation, participant: Participant | None, row: LoginSession) -> Principal:
    return Principal(
        role=AccessRole.PARTY,
        name=participant.name if participant is not None else "",
        account_id=None,
        hearing_id=invitation.hearing_id,
        participant_id=invitation.participant_id,
        session_id=row.id,
        expires_at=as_utc(row.expires_at),
    )


def _invitation_info(invitation: Invitation, participant_name: str, now: datetime) -> InvitationInfo:
    expires_at = as_utc(invitation.expires_at)
    if invitation.revoked_at is not None:
        status = "revoked"
    elif expires_at <= now:
        status = "expired"
    else:
        status = "active"
    return InvitationInfo(
        id=invitation.id,
        code=invitation.code,
        hearing_id=invitation.hearing_id,
        participant_id=invitation.participant_id,
        participant_name=participant_name,
        created_by=invitation.created_by,
        created_at=as_utc(invitation.created_at),
        expires_at=expires_at,
        revoked_at=as_utc(invitation.revoked_at) if invitation.revoked_at is not None else None,
        last_used_at=as_utc(invitation.last_used_at) if invitation.last_used_at is not None else None,
        status=status,
    )
