"""Accounts, login sessions, invitations and the audit trail, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from court.access.accounts import (
    AccessRole,
    Accounts,
    InvitationNotFound,
    NotAuthenticated,
    Principal,
    normalize_code,
)
from court.core.cases import CaseError, NewParticipant, create_case, create_hearing, load_hearing
from court.core.roles import Role
from court.db.models import Account, AuditLog, Invitation, LoginSession

START = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


class FakeNow:
    def __init__(self) -> None:
        self.value = START

    def __call__(self) -> datetime:
        return self.value

    def advance(self, delta: timedelta) -> None:
        self.value += delta


def _case(
    sessions: sessionmaker[Session], number: str = "示劳人仲案字〔2026〕第118号"
) -> tuple[int, int, int]:
    """A hearing of a case: (hearing id, applicant id, respondent id)."""
    case_id = create_case(
        sessions,
        case_number=number,
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.RESPONDENT, "李娜", organization="示范科技有限公司", remote=True),
            NewParticipant(Role.CLERK, "王芳", seat_id="clerk"),
        ],
    )
    hearing_id = create_hearing(sessions, case_id, room="第一仲裁庭")
    info = load_hearing(sessions, hearing_id)
    return hearing_id, info.participants[0].id, info.participants[1].id


@pytest.fixture
def now() -> FakeNow:
    return FakeNow()


@pytest.fixture
def accounts(sessions: sessionmaker[Session], now: FakeNow) -> Accounts:
    return Accounts(sessions, session_ttl=timedelta(hours=8), invitation_ttl=timedelta(days=7), now=now)


def _audit(sessions: sessionmaker[Session]) -> list[AuditLog]:
    with sessions() as session:
        return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def _assert_no_secret(sessions: sessionmaker[Session], *secrets: str) -> None:
    dump = json.dumps([[row.actor, row.action, row.detail] for row in _audit(sessions)], ensure_ascii=False)
    for secret in secrets:
        assert secret not in dump
        assert secret.replace("-", "") not in dump
    with sessions() as session:
        stored = json.dumps([[r.token_sha256, r.client] for r in session.scalars(select(LoginSession))])
        hashes = [h for (h,) in session.execute(select(Account.password_hash))]
    for secret in secrets:
        assert secret not in stored
        assert all(secret not in h for h in hashes)


def test_login_authenticate_logout(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    account_id = accounts.create_account("wang", "correct horse", AccessRole.CLERK, "王芳")
    token, principal = accounts.login("wang", "correct horse", client="127.0.0.1 firefox")
    assert principal.role == AccessRole.CLERK and principal.account_id == account_id
    assert principal.name == "王芳" and principal.actor == "clerk:wang"
    assert principal.is_staff and not principal.is_viewer
    assert principal.expires_at == START + timedelta(hours=8)
    assert accounts.authenticate(token) == principal

    accounts.logout(token)
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate(token)
    assert excinfo.value.reason_code == "session_revoked"
    assert "(session revoked)" in str(excinfo.value)
    accounts.logout(token)  # twice is harmless

    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate("")
    assert excinfo.value.reason_code == "no_session"
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate("not-a-token")
    assert excinfo.value.reason_code == "no_session"

    assert [row.action for row in _audit(sessions)] == ["account.created", "login", "logout"]
    _assert_no_secret(sessions, token, "correct horse")


def test_wrong_password_unknown_user_and_inactive_look_alike(
    sessions: sessionmaker[Session], accounts: Accounts
) -> None:
    accounts.create_account("li", "s3cret-pass", "arbitrator")
    errors = []
    for username, password in [("li", "wrong-pass"), ("nobody", "s3cret-pass")]:
        with pytest.raises(NotAuthenticated) as excinfo:
            accounts.login(username, password)
        errors.append(excinfo.value)
    with sessions.begin() as session:
        session.scalars(select(Account).where(Account.username == "li")).one().active = False
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.login("li", "s3cret-pass")
    errors.append(excinfo.value)
    assert {e.reason_code for e in errors} == {"bad_credentials"}
    assert len({str(e) for e in errors}) == 1

    failed = [row for row in _audit(sessions) if row.action == "login.failed"]
    assert [row.detail["username"] for row in failed] == ["li", "nobody", "li"]
    assert all(row.actor == "anonymous" for row in failed)
    _assert_no_secret(sessions, "wrong-pass", "s3cret-pass")


def test_deactivating_an_account_ends_its_sessions(
    sessions: sessionmaker[Session], accounts: Accounts
) -> None:
    accounts.create_account("zhao", "password1", AccessRole.SUPERVISOR, "赵监督")
    token, principal = accounts.login("zhao", "password1")
    assert principal.is_viewer and principal.may_see(1) and principal.may_see(99)
    with sessions.begin() as session:
        session.scalars(select(Account)).one().active = False
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate(token)
    assert excinfo.value.reason_code == "session_revoked"


def test_account_rules(accounts: Accounts) -> None:
    with pytest.raises(ValueError, match="至少 8 个字符"):
        accounts.create_account("wang", "short", AccessRole.CLERK)
    with pytest.raises(ValueError, match="invitation"):
        accounts.create_account("zhang", "long enough", AccessRole.PARTY)
    with pytest.raises(ValueError, match="unknown role"):
        accounts.create_account("zhang", "long enough", "judge")
    with pytest.raises(ValueError, match="invalid username"):
        accounts.create_account("wang fang", "long enough", AccessRole.CLERK)
    accounts.create_account("wang", "long enough", AccessRole.CLERK)
    with pytest.raises(ValueError, match="already exists"):
        accounts.create_account("wang", "other password", AccessRole.CLERK)

    password = accounts.ensure_account("observer", AccessRole.OBSERVER, "观摩室")
    assert password is not None and len(password) >= 8
    assert accounts.ensure_account("observer", AccessRole.OBSERVER) is None
    _token, principal = accounts.login("observer", password)
    assert principal.role == AccessRole.OBSERVER and principal.name == "观摩室"


def test_session_expiry(accounts: Accounts, now: FakeNow) -> None:
    accounts.create_account("wang", "long enough", AccessRole.CLERK)
    token, _principal = accounts.login("wang", "long enough")
    now.advance(timedelta(hours=7, minutes=59))
    accounts.authenticate(token)
    now.advance(timedelta(minutes=1))
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate(token)
    assert excinfo.value.reason_code == "session_expired"


def test_invitation_redeem_and_party_scope(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, applicant, respondent = _case(sessions)
    other_hearing, _a, _r = _case(sessions, "示劳人仲案字〔2026〕第119号")
    accounts.create_account("wang", "long enough", AccessRole.CLERK)
    _token, clerk = accounts.login("wang", "long enough")

    invitation = accounts.invite(hearing_id, respondent, actor=clerk)
    assert len(invitation.code) == 9 and invitation.code[4] == "-"
    assert invitation.status == "active" and invitation.created_by == "clerk:wang"
    assert invitation.expires_at == START + timedelta(days=7)
    assert invitation.participant_name == "李娜"

    typed = " " + invitation.code.replace("-", " ").lower() + " "
    token, party = accounts.redeem(typed, client="phone")
    assert party.role == AccessRole.PARTY and party.name == "李娜"
    assert (party.hearing_id, party.participant_id, party.account_id) == (hearing_id, respondent, None)
    assert party.actor == f"party:{respondent}"
    assert not party.is_staff and not party.is_viewer
    assert party.may_see(hearing_id) and not party.may_see(other_hearing)
    assert clerk.may_see(hearing_id) and clerk.may_see(other_hearing)
    assert accounts.authenticate(token) == party
    assert accounts.invitations(hearing_id)[0].last_used_at is not None

    # Full-width characters as a phone keyboard may type them.
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c != "-" else "－" for c in invitation.code)
    assert normalize_code(fullwidth) == invitation.code
    assert normalize_code("ABCD-EFG") is None
    assert normalize_code("ABCD-EFG0") is None  # 0 is not in the alphabet

    rows = _audit(sessions)
    redeemed = next(row for row in rows if row.action == "invitation.redeemed")
    assert redeemed.actor == f"party:{respondent}" and redeemed.hearing_id == hearing_id
    _assert_no_secret(sessions, token, invitation.code)
    assert applicant != respondent


def test_invitation_rules(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, _applicant, respondent = _case(sessions)
    other_hearing, other_applicant, _r = _case(sessions, "示劳人仲案字〔2026〕第119号")
    clerk_participant = load_hearing(sessions, hearing_id).participants[2].id
    with pytest.raises(CaseError, match="not in the case"):
        accounts.invite(hearing_id, other_applicant, actor="clerk:wang")
    with pytest.raises(CaseError, match="no hearing"):
        accounts.invite(9999, respondent, actor="clerk:wang")
    with pytest.raises(CaseError, match="tribunal"):
        accounts.invite(hearing_id, clerk_participant, actor="clerk:wang")
    assert accounts.invitations(other_hearing) == []


def test_revoke_and_replace_invitations(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, applicant, respondent = _case(sessions)
    first = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    token, _party = accounts.redeem(first.code)

    # Sending a new code revokes the old one and ends what was redeemed from it.
    second = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    assert second.code != first.code
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate(token)
    assert excinfo.value.reason_code == "session_revoked"
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.redeem(first.code)
    assert excinfo.value.reason_code == "invitation_revoked"
    assert "(invitation revoked)" in str(excinfo.value)

    token2, _party = accounts.redeem(second.code)
    revoked = accounts.revoke_invitation(second.code.lower(), actor="clerk:wang")
    assert revoked.status == "revoked"
    accounts.revoke_invitation(second.code, actor="clerk:wang")  # again: nothing changes
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate(token2)
    assert excinfo.value.reason_code == "session_revoked"
    with pytest.raises(InvitationNotFound, match="no invitation"):
        accounts.revoke_invitation("ZZZZ-ZZZZ", actor="clerk:wang")

    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.redeem("ZZZZ-ZZZZ")
    assert excinfo.value.reason_code == "unknown_invitation"
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.redeem("not a code at all")
    assert excinfo.value.reason_code == "unknown_invitation"

    other = accounts.invite(hearing_id, respondent, actor="clerk:wang")
    listed = accounts.invitations(hearing_id)
    assert [(i.code, i.status) for i in listed] == [
        (other.code, "active"),
        (second.code, "revoked"),
        (first.code, "revoked"),
    ]
    revocations = [row for row in _audit(sessions) if row.action == "invitation.revoked"]
    assert [row.detail["reason"] for row in revocations] == ["replaced", "revoked"]
    assert revocations[0].detail["sessions_ended"] == 1
    _assert_no_secret(sessions, token, token2, first.code, second.code, other.code)


def test_invitation_expiry_bounds_the_party_session(
    sessions: sessionmaker[Session], accounts: Accounts, now: FakeNow
) -> None:
    hearing_id, applicant, _respondent = _case(sessions)
    invitation = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    now.advance(timedelta(days=7) - timedelta(hours=2))
    token, party = accounts.redeem(invitation.code)
    assert party.expires_at == invitation.expires_at  # not 8 hours: the invitation ends first
    now.advance(timedelta(hours=2))
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate(token)
    assert excinfo.value.reason_code == "session_expired"
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.redeem(invitation.code)
    assert excinfo.value.reason_code == "invitation_expired"
    assert accounts.invitations(hearing_id)[0].status == "expired"


def test_sessions_go_with_their_invitation(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, applicant, _respondent = _case(sessions)
    invitation = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    accounts.redeem(invitation.code)
    with sessions.begin() as session:
        session.execute(delete(Invitation))
    with sessions() as session:
        assert session.scalars(select(LoginSession)).all() == []


def test_audit_scrubs_secrets(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, _applicant, _respondent = _case(sessions)
    principal = Principal(
        role=AccessRole.CLERK,
        name="王芳",
        account_id=1,
        hearing_id=None,
        participant_id=None,
        session_id=1,
        expires_at=START,
        username="wang",
    )
    accounts.audit(
        principal,
        "evidence.downloaded",
        hearing_id=hearing_id,
        detail={"evidence_id": 3, "token": "abcdefghijkl", "code": "ABCD-EFGH", "password": "hunter22"},
    )
    accounts.audit(None, "public.viewed", hearing_id=hearing_id)
    accounts.audit(None, "GET /api/hearings/9999", hearing_id=9999, detail={"status": 403})
    rows = _audit(sessions)
    assert rows[-3].actor == "clerk:wang" and rows[-3].detail["evidence_id"] == 3
    assert rows[-3].detail["token"] == "…kl" and rows[-3].detail["code"] == "…GH"
    assert rows[-2].actor == "anonymous" and rows[-2].hearing_id == hearing_id
    # A hearing that does not exist is kept in the detail, not refused by the foreign key.
    assert rows[-1].hearing_id is None and rows[-1].detail == {"status": 403, "hearing_id": 9999}
    _assert_no_secret(sessions, "abcdefghijkl", "ABCD-EFGH", "hunter22")
