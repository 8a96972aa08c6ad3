"""Signing in with a password, the bearer-token check, expiry and signing out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.access.accounts import Accounts
from court.access.principals import AccessRole, NotAuthenticated
from court.db.models import Account
from tests.court.access.helpers import START, FakeNow, assert_no_secret, audit_rows


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

    assert [row.action for row in audit_rows(sessions)] == ["account.created", "login", "logout"]
    assert_no_secret(sessions, token, "correct horse")


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

    failed = [row for row in audit_rows(sessions) if row.action == "login.failed"]
    assert [row.detail["username"] for row in failed] == ["li", "nobody", "li"]
    assert all(row.actor == "anonymous" for row in failed)
    assert_no_secret(sessions, "wrong-pass", "s3cret-pass")


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


def test_session_expiry(accounts: Accounts, now: FakeNow) -> None:
    accounts.create_account("wang", "long enough", AccessRole.CLERK)
    token, _principal = accounts.login("wang", "long enough")
    now.advance(timedelta(hours=7, minutes=59))
    accounts.authenticate(token)
    now.advance(timedelta(minutes=1))
    with pytest.raises(NotAuthenticated) as excinfo:
        accounts.authenticate(token)
    assert excinfo.value.reason_code == "session_expired"
