"""Who may use the web side: the :class:`Accounts` service over accounts, login sessions, party
invitations and the audit trail.

Staff (clerks, arbitrators) and viewers (supervisors, the observation room) log in with a username
and password; a party redeems the per-hearing invitation code the clerk sent by SMS and sees only
that hearing. Each job lives in its own module (:mod:`~court.access.principals`,
:mod:`~court.access.hashing`, :mod:`~court.access.login_sessions`, :mod:`~court.access.invitations`,
:mod:`~court.access.audit`); this one creates accounts and holds the clock and lifetimes the others
are called with. Its names stay importable from here for older callers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.access import audit as audit_trail
from court.access import invitations as invitation_codes
from court.access import login_sessions
from court.access.audit import SYSTEM, AuditAction
from court.access.hashing import hash_password, tail, verify_password
from court.access.invitations import CODE_ALPHABET, CODE_LENGTH, InvitationInfo, normalize_code
from court.access.principals import (
    REASONS,
    STAFF_ROLES,
    VIEWER_ROLES,
    AccessDenied,
    AccessRole,
    InvitationNotFound,
    NotAuthenticated,
    Principal,
    Throttled,
)
from court.access.throttle import Key, SignInThrottle
from court.core.timeutil import utcnow
from court.db.models import Account

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PASSWORD_ALPHABET",
    "REASONS",
    "STAFF_ROLES",
    "VIEWER_ROLES",
    "AccessDenied",
    "AccessRole",
    "Accounts",
    "AuditAction",
    "InvitationInfo",
    "InvitationNotFound",
    "NotAuthenticated",
    "Principal",
    "Throttled",
    "hash_password",
    "normalize_code",
    "tail",
    "verify_password",
]

# Generated passwords are handed over on paper or read from the console: lower case, no look-alikes.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


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
        # Read on every call, not captured by the job modules: tests shorten them on a live service.
        self.session_ttl = session_ttl
        self.invitation_ttl = invitation_ttl
        self._now = now
        # Failed sign-ins slow down per account and per address (court.access.throttle); a test or
        # the server may put another in its place.
        self.throttle = SignInThrottle()

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
            audit_trail.write(
                session,
                SYSTEM,
                AuditAction.ACCOUNT_CREATED,
                detail={"account_id": account.id, "username": name, "role": access.value},
                at=self._now(),
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

    # signing in and out (see court.access.login_sessions)

    def login(
        self, username: str, password: str, *, client: str = "", address: str = ""
    ) -> tuple[str, Principal]:
        """Sign staff or a viewer in; :class:`Throttled` after too many failures for the account or
        from ``address`` (the client's network address)."""
        name = username.strip()
        return self._throttled(
            self.throttle.login_keys(name, address),
            AuditAction.LOGIN_THROTTLED,
            {"username": name[:64], "client": address},
            lambda: login_sessions.login(
                self._sessions, username, password, client=client, now=self._now(), ttl=self.session_ttl
            ),
            remember=(name, address),
        )

    def authenticate(self, token: str | None) -> Principal:
        """The principal of a bearer token; NotAuthenticated when it is missing, unknown, expired or
        revoked (or its account was deactivated, or its invitation revoked or expired). Not audited."""
        return login_sessions.authenticate(self._sessions, token, now=self._now())

    def logout(self, token: str | None) -> None:
        """End the session of ``token``; a missing, unknown or already ended one is left as it is."""
        login_sessions.logout(self._sessions, token, now=self._now())

    # invitations (see court.access.invitations)

    def invite(self, hearing_id: int, participant_id: int, *, actor: Principal | str) -> InvitationInfo:
        """A new join code for a party of the hearing's case, valid ``invitation_ttl``; older codes of
        the same participant for the same hearing are revoked (with their sessions)."""
        return invitation_codes.invite(
            self._sessions, hearing_id, participant_id, actor=actor, now=self._now(), ttl=self.invitation_ttl
        )

    def revoke_invitation(self, code: str, *, actor: Principal | str) -> InvitationInfo:
        """Revoke a code and end the sessions redeemed from it; :class:`InvitationNotFound` if unknown."""
        return invitation_codes.revoke_invitation(self._sessions, code, actor=actor, now=self._now())

    def redeem(
        self, code: str, *, client: str = "", address: str = "", current_token: str | None = None
    ) -> tuple[str, Principal]:
        """Sign a party in with their invitation code, once (the code is then bound to that
        session); the session lasts ``session_ttl`` but never beyond the invitation. The device
        holding that session (``current_token``) opening the link again keeps it.
        :class:`Throttled` after too many wrong codes from ``address``."""
        return self._throttled(
            self.throttle.join_keys(address),
            AuditAction.INVITATION_REDEEM_THROTTLED,
            {"client": address},
            lambda: invitation_codes.redeem(
                self._sessions,
                code,
                client=client,
                now=self._now(),
                session_ttl=self.session_ttl,
                current_token=current_token,
            ),
        )

    def invitations(self, hearing_id: int) -> list[InvitationInfo]:
        """The hearing's invitations, newest first, with their status now."""
        return invitation_codes.list_invitations(self._sessions, hearing_id, now=self._now())

    def _throttled(
        self,
        keys: list[Key],
        action: AuditAction,
        detail: dict[str, Any],
        attempt: Callable[[], tuple[str, Principal]],
        *,
        remember: tuple[str, str] | None = None,
    ) -> tuple[str, Principal]:
        """Run a sign-in ``attempt`` under the throttle; a failure that blocks a key is audited."""
        self.throttle.begin(keys)
        try:
            result = attempt()
        except NotAuthenticated:
            blocks = self.throttle.failed(keys)
            if blocks:
                self.audit(
                    None,
                    action,
                    detail={
                        **detail,
                        "blocked": [
                            {"key": b.kind, "failures": b.failures, "seconds": b.seconds} for b in blocks
                        ],
                    },
                )
            raise
        except BaseException:
            self.throttle.abandoned(keys)
            raise
        self.throttle.succeeded(keys, remember=remember)
        return result

    # the audit trail (see court.access.audit)

    def audit(
        self,
        principal: Principal | None,
        action: AuditAction | str,
        *,
        hearing_id: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an access (a page, a download, a clerk action). Secret-looking keys in ``detail``
        (token, password, code) are cut to their last two characters."""
        audit_trail.record(
            self._sessions, principal, action, at=self._now(), hearing_id=hearing_id, detail=detail
        )


def _new_password() -> str:
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))


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
