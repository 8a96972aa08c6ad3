"""Creating accounts through the :class:`Accounts` facade, and the names it still exports."""

from __future__ import annotations

import pytest

from court.access import accounts as facade
from court.access import audit, hashing, invitations, principals
from court.access.accounts import Accounts
from court.access.principals import AccessRole


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


def test_older_imports_from_the_facade_still_work() -> None:
    # Callers outside the package (web tests, scripts) import these from court.access.accounts.
    assert facade.AccessRole is principals.AccessRole
    assert facade.Principal is principals.Principal
    assert facade.NotAuthenticated is principals.NotAuthenticated
    assert facade.InvitationNotFound is principals.InvitationNotFound
    assert facade.normalize_code is invitations.normalize_code
    assert facade.tail is hashing.tail
    assert facade.AuditAction is audit.AuditAction
