"""Party invitations: codes sent, typed however a phone types them, replaced, revoked and expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from court.access.accounts import Accounts
from court.access.invitations import normalize_code
from court.access.principals import AccessRole, InvitationNotFound, NotAuthenticated
from court.core.cases import CaseError, load_hearing
from court.db.models import Invitation, LoginSession
from tests.court.access.helpers import START, FakeNow, assert_no_secret, audit_rows, make_case


def test_invitation_redeem_and_party_scope(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, applicant, respondent = make_case(sessions)
    other_hearing, _a, _r = make_case(sessions, "示劳人仲案字〔2026〕第119号")
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

    rows = audit_rows(sessions)
    redeemed = next(row for row in rows if row.action == "invitation.redeemed")
    assert redeemed.actor == f"party:{respondent}" and redeemed.hearing_id == hearing_id
    assert_no_secret(sessions, token, invitation.code)
    assert applicant != respondent


def test_invitation_rules(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, _applicant, respondent = make_case(sessions)
    other_hearing, other_applicant, _r = make_case(sessions, "示劳人仲案字〔2026〕第119号")
    clerk_participant = load_hearing(sessions, hearing_id).participants[2].id
    with pytest.raises(CaseError, match="not in the case"):
        accounts.invite(hearing_id, other_applicant, actor="clerk:wang")
    with pytest.raises(CaseError, match="no hearing"):
        accounts.invite(9999, respondent, actor="clerk:wang")
    with pytest.raises(CaseError, match="tribunal"):
        accounts.invite(hearing_id, clerk_participant, actor="clerk:wang")
    assert accounts.invitations(other_hearing) == []


def test_revoke_and_replace_invitations(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, applicant, respondent = make_case(sessions)
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
    revocations = [row for row in audit_rows(sessions) if row.action == "invitation.revoked"]
    assert [row.detail["reason"] for row in revocations] == ["replaced", "revoked"]
    assert revocations[0].detail["sessions_ended"] == 1
    assert_no_secret(sessions, token, token2, first.code, second.code, other.code)


def test_invitation_expiry_bounds_the_party_session(
    sessions: sessionmaker[Session], accounts: Accounts, now: FakeNow
) -> None:
    hearing_id, applicant, _respondent = make_case(sessions)
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
    hearing_id, applicant, _respondent = make_case(sessions)
    invitation = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    accounts.redeem(invitation.code)
    with sessions.begin() as session:
        session.execute(delete(Invitation))
    with sessions() as session:
        assert session.scalars(select(LoginSession)).all() == []
