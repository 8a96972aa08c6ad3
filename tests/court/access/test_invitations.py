"""Party invitations: codes sent, typed however a phone types them, replaced, revoked and expired."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from court.access.accounts import Accounts
from court.access.hashing import code_hash, token_hash
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
    # Only the code's last two characters can be shown again: the full code existed once.
    assert [(i.code, i.status) for i in listed] == [
        ("…" + other.code[-2:], "active"),
        ("…" + second.code[-2:], "revoked"),
        ("…" + first.code[-2:], "revoked"),
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


# -- item 7: codes hashed, one device per code ---------------------------------------------------------


def _stored_text(sessions: sessionmaker[Session]) -> str:
    with sessions() as session:
        rows = session.execute(select(Invitation)).scalars().all()
        return json.dumps(
            [{c.name: str(getattr(r, c.key)) for c in Invitation.__table__.columns} for r in rows],
            ensure_ascii=False,
        )


def test_codes_are_stored_only_as_hashes(sessions: sessionmaker[Session], accounts: Accounts) -> None:
    """A copy of the database hands out no code: neither the code nor its dashless form is stored."""
    hearing_id, applicant, _respondent = make_case(sessions)
    invitation = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    stored = _stored_text(sessions)
    assert invitation.code not in stored and invitation.code.replace("-", "") not in stored
    assert code_hash(invitation.code) in stored
    assert accounts.invitations(hearing_id)[0].code == "…" + invitation.code[-2:]
    accounts.redeem(invitation.code)  # still redeems by its hash
    assert_no_secret(sessions, invitation.code)


def test_a_code_binds_to_the_one_device_that_redeemed_it(
    sessions: sessionmaker[Session], accounts: Accounts
) -> None:
    hearing_id, applicant, _respondent = make_case(sessions)
    invitation = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    token, party = accounts.redeem(invitation.code, client="phone")
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.redeem(invitation.code, client="second laptop")
    assert excinfo.value.reason_code == "invitation_used"
    assert "另一设备" in str(excinfo.value)
    assert accounts.authenticate(token) == party  # the first device goes on
    listed = accounts.invitations(hearing_id)[0]
    assert listed.status == "redeemed" and listed.redeemed_at == START
    failed = [row for row in audit_rows(sessions) if row.action == "invitation.redeem_failed"]
    assert failed[-1].detail["reason"] == "invitation_used"

    # Another device needs the clerk: the new code ends the old device's session.
    again = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    _token2, party2 = accounts.redeem(again.code, client="second laptop")
    assert party2.session_id != party.session_id
    with pytest.raises(NotAuthenticated):
        accounts.authenticate(token)


def test_two_devices_racing_for_one_code_get_one_session(
    sessions: sessionmaker[Session], accounts: Accounts
) -> None:
    hearing_id, applicant, _respondent = make_case(sessions)
    invitation = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    barrier = threading.Barrier(4)

    def attempt(device: int) -> str:
        barrier.wait()
        try:
            accounts.redeem(invitation.code, client=f"device {device}")
        except NotAuthenticated as exc:
            return exc.reason_code
        return "ok"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["invitation_used"] * 3 + ["ok"]
    with sessions() as session:
        assert len(session.scalars(select(LoginSession)).all()) == 1


def test_migration_hashes_the_plaintext_codes_already_stored(store_url: str) -> None:
    """A store from before (revision 0004) with plaintext codes: after the upgrade no code is left in
    the clear, an unused code still lets its party in (once), a used one is bound to the session it
    gave, which goes on."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import text

    from court.db.engine import MIGRATIONS, close_store, create_store_engine, open_store

    engine = create_store_engine(store_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    week = START + timedelta(days=7)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (id, case_number, cause, commission, livestream_allowed, livestream_note,"
                " created_at) VALUES (1, '示劳人仲案字〔2026〕第1号', '劳动报酬争议', '', false, '', :now)"
            ),
            {"now": START},
        )
        connection.execute(
            text(
                "INSERT INTO participants (id, case_id, role, name, organization, remote) VALUES"
                " (1, 1, 'applicant', '张伟', '', true), (2, 1, 'respondent', '李娜', '', true)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO hearings (id, case_id, kind, room, created_at)"
                " VALUES (1, 1, 'hearing', '', :now)"
            ),
            {"now": START},
        )
        connection.execute(
            text(
                "INSERT INTO invitations (code, hearing_id, participant_id, created_by, created_at,"
                " expires_at, last_used_at) VALUES ('ABCD-EFGH', 1, 1, 'clerk:wang', :now, :week, :now),"
                " ('HJKM-NPQR', 1, 2, 'clerk:wang', :now, :week, NULL)"
            ),
            {"now": START, "week": week},
        )
        connection.execute(
            text(
                "INSERT INTO login_sessions (token_sha256, invitation_id, role, created_at, expires_at,"
                " client) SELECT :token, id, 'party', :now, :week, 'phone' FROM invitations"
                " WHERE participant_id = 1"
            ),
            {"token": token_hash("the applicant's phone"), "now": START, "week": week},
        )
    engine.dispose()

    sessions = open_store(store_url)
    try:
        stored = _stored_text(sessions)
        assert "ABCD-EFGH" not in stored and "HJKM-NPQR" not in stored
        accounts = Accounts(sessions, now=lambda: START + timedelta(hours=1))
        assert accounts.authenticate("the applicant's phone").participant_id == 1
        with pytest.raises(NotAuthenticated) as excinfo:
            accounts.redeem("ABCD-EFGH")
        assert excinfo.value.reason_code == "invitation_used"
        _token, party = accounts.redeem("hjkm npqr")
        assert party.participant_id == 2
        assert [i.code for i in accounts.invitations(1)] == ["…QR", "…GH"]
    finally:
        close_store(sessions)


def test_the_link_opened_again_on_the_same_device_keeps_its_session(
    sessions: sessionmaker[Session], accounts: Accounts
) -> None:
    """A reload of the invitation link on the phone that redeemed it is not a second device."""
    from court.access import invitations

    hearing_id, applicant, respondent = make_case(sessions)
    invitation = accounts.invite(hearing_id, applicant, actor="clerk:wang")
    token, party = accounts.redeem(invitation.code)

    def again(current: str | None) -> tuple[str, object]:
        return invitations.redeem(
            sessions, invitation.code, client="phone", now=START, session_ttl=timedelta(hours=8),
            current_token=current,
        )  # fmt: skip

    assert again(token) == (token, party)
    other = accounts.invite(hearing_id, respondent, actor="clerk:wang")
    other_token, _ = accounts.redeem(other.code)
    for stranger in (None, other_token, "made up"):
        with pytest.raises(NotAuthenticated) as excinfo:
            again(stranger)
        assert excinfo.value.reason_code == "invitation_used"
    accounts.logout(token)
    with pytest.raises(NotAuthenticated):
        again(token)
