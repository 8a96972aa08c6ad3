"""Who is asking: the access roles, the signed-in principal of one request, and the refusals the web
layer turns into 401, 403 and 404."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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
            return party_actor(self.participant_id)
        return f"{self.role.value}:{self.username or self.account_id}"


def party_actor(participant_id: int | None) -> str:
    """The actor name of a party: ``party:12`` (the participant id)."""
    return f"party:{participant_id}"


def actor_name(actor: Principal | str) -> str:
    """What the audit log names ``actor`` by: a principal's :attr:`Principal.actor`, or the string given."""
    return actor.actor if isinstance(actor, Principal) else actor


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


class Throttled(Exception):
    """Too many failed sign-ins from here or for this account (HTTP 429): try again in ``seconds``."""

    code = "too_many_attempts"

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.message = (
            f"尝试次数过多，请 {seconds} 秒后再试 (too many failed attempts; try again in {seconds} s)"
        )
        super().__init__(self.message)


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
    "invitation_used": "邀请码已在另一设备上使用，如需更换设备请联系书记员重新发送 (invitation already used)",
}


def not_authenticated(code: str) -> NotAuthenticated:
    """The refusal for reason ``code``, with the message every client is shown for it."""
    return NotAuthenticated(code, REASONS[code])
