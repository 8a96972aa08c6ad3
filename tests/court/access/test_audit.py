"""The audit trail: secrets cut down, unknown hearings kept, and the actions the access layer writes."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.access.accounts import Accounts
from court.access.audit import AuditAction, scrub
from court.access.principals import AccessRole, NotAuthenticated, Principal
from tests.court.access.helpers import START, assert_no_secret, audit_rows, make_case


def test_audit_scrubs_secrets(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    hearing_id, _applicant, _respondent = make_case(sessions)
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
    rows = audit_rows(sessions)
    assert rows[-3].actor == "clerk:wang" and rows[-3].detail["evidence_id"] == 3
    assert rows[-3].detail["token"] == "…kl" and rows[-3].detail["code"] == "…GH"
    assert rows[-2].actor == "anonymous" and rows[-2].hearing_id == hearing_id
    # A hearing that does not exist is kept in the detail, not refused by the foreign key.
    assert rows[-1].hearing_id is None and rows[-1].detail == {"status": 403, "hearing_id": 9999}
    assert_no_secret(sessions, "abcdefghijkl", "ABCD-EFGH", "hunter22")


def test_scrub_keeps_what_is_not_a_secret() -> None:
    assert scrub({"Token": "abcdef", "code": None, "client": "phone", "secret": "x"}) == {
        "Token": "…ef",
        "code": None,
        "client": "phone",
        "secret": "…",
    }


def test_every_flow_writes_only_catalogued_actions(
    sessions: sessionmaker[Session], accounts: Accounts
) -> None:
    hearing_id, applicant, _respondent = make_case(sessions)
    accounts.create_account("wang", "long enough", AccessRole.CLERK)
    token, clerk = accounts.login("wang", "long enough")
    with pytest.raises(NotAuthenticated):
        accounts.login("wang", "wrong password")
    first = accounts.invite(hearing_id, applicant, actor=clerk)
    accounts.redeem(first.code)
    accounts.revoke_invitation(first.code, actor=clerk)
    with pytest.raises(NotAuthenticated):
        accounts.redeem(first.code)
    accounts.logout(token)
    # Enough failures to be slowed down (court.access.throttle): the blocks are audited too.
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            accounts.login("wang", "wrong password")
    for _ in range(10):
        with pytest.raises(NotAuthenticated):
            accounts.redeem("ABCD-EFGH")
    assert {row.action for row in audit_rows(sessions)} == set(AuditAction)


def test_stored_action_names_do_not_change() -> None:
    # Rows already in audit_log carry these strings; renaming a value would split the history.
    assert sorted(AuditAction) == [
        "account.created",
        "invitation.created",
        "invitation.redeem_failed",
        "invitation.redeem_throttled",
        "invitation.redeemed",
        "invitation.revoked",
        "login",
        "login.failed",
        "login.throttled",
        "logout",
    ]
