"""Item 2: failed sign-ins slow down. Wrong passwords and wrong invitation codes are counted per
account and per client address; past a free allowance each failure blocks for longer (429 with
Retry-After, and no password hash run for a refused attempt), the blocks are in the audit log, and an
attacker cannot keep the clerk out: the clerk's own address is exempt from what strangers raise, and
a new address waits at most 30 s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from court.access import login_sessions
from court.access.principals import Throttled
from court.access.throttle import SignInThrottle
from court.db.models import AuditLog
from tests.web.support import ORIGIN, api_in_process
from tests.web.test_api import PASSWORD, Api


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    with api_in_process(tmp_path_factory.mktemp("web-throttle"), model_cache) as api:
        yield api


@pytest.fixture
def clock(api: Api) -> Iterator[FakeClock]:
    clock = FakeClock()
    original = api.ctx.accounts.throttle
    api.ctx.accounts.throttle = SignInThrottle(clock=clock)
    yield clock
    api.ctx.accounts.throttle = original


def client_at(api: Api, address: str) -> TestClient:
    """A browser on another network address (it names the server's page as its origin)."""
    return TestClient(api.client.app, client=(address, 40000), headers=ORIGIN)


def audit_rows(api: Api, action: str) -> list[AuditLog]:
    with api.ctx.sessions() as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


# -- the counters on their own -------------------------------------------------------------------------


def test_delays_double_past_the_free_allowance_and_are_forgotten() -> None:
    clock = FakeClock()
    throttle = SignInThrottle(clock=clock)
    keys = throttle.login_keys("clerk", "203.0.113.5")
    blocks = []
    for _ in range(6):
        throttle.begin(keys)
        blocks.append(throttle.failed(keys))
    assert blocks[:5] == [[]] * 5, "five mistakes are free"
    assert {b.kind: b.seconds for b in blocks[5]} == {"account": 1.0, "account_address": 1.0}
    with pytest.raises(Throttled) as refused:
        throttle.begin(keys)
    assert refused.value.seconds == 1 and refused.value.code == "too_many_attempts"
    assert "秒后再试" in refused.value.message
    waits = []
    for _ in range(12):
        clock.now += 600  # each block waited out, within the quarter hour that keeps the count
        throttle.begin(keys)
        waits.append(max(b.seconds for b in throttle.failed(keys)))
    assert waits[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(waits) == 300.0, "one account from one address: up to five minutes"
    clock.now += 901
    throttle.begin(keys)  # forgotten after a quarter of an hour without a failure
    assert throttle.failed(keys) == []


def test_a_success_clears_the_account_but_not_the_address() -> None:
    clock = FakeClock()
    throttle = SignInThrottle(clock=clock)
    for name in ("a", "b", "c", "d"):
        keys = throttle.login_keys(name, "198.51.100.1")
        for _ in range(5):
            throttle.begin(keys)
            throttle.failed(keys)
    keys = throttle.login_keys("e", "198.51.100.1")
    throttle.begin(keys)
    throttle.succeeded(keys, remember=("e", "198.51.100.1"))
    # Twenty failures from the address (five at each of four accounts): the next one blocks it.
    keys = throttle.login_keys("f", "198.51.100.1")
    throttle.begin(keys)
    assert [b.kind for b in throttle.failed(keys)] == ["address"]


def test_strangers_hold_an_account_for_30_s_at_most() -> None:
    clock = FakeClock()
    throttle = SignInThrottle(clock=clock)
    longest = 0.0
    for i in range(200):  # a guess each from two hundred machines
        keys = throttle.login_keys("clerk", f"198.18.{i // 250}.{i % 250}")
        clock.now += 31
        throttle.begin(keys)
        longest = max([longest, *(b.seconds for b in throttle.failed(keys) if b.kind == "account")])
    assert longest == 30.0


def test_parallel_guesses_cannot_all_slip_in_before_the_first_fails() -> None:
    throttle = SignInThrottle(clock=FakeClock())
    keys = throttle.join_keys("203.0.113.9")
    began = 0
    for _ in range(50):  # fifty attempts begun, none finished yet
        try:
            throttle.begin(keys)
            began += 1
        except Throttled:
            pass
    assert began == 11


# -- through the API -------------------------------------------------------------------------------------


def test_a_hundred_wrong_passwords_for_the_clerk(
    api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk_pc = client_at(api, "10.1.1.10")
    assert clerk_pc.post("/api/login", json={"username": "clerk", "password": PASSWORD}).status_code == 200
    hashed: list[str] = []
    verify = login_sessions.verify_password
    monkeypatch.setattr(login_sessions, "verify_password", lambda p, h: hashed.append(p) or verify(p, h))
    attacker = client_at(api, "203.0.113.5")
    answers = [
        attacker.post("/api/login", json={"username": "clerk", "password": f"guess-{i}"}) for i in range(100)
    ]
    codes = [r.status_code for r in answers]
    assert codes[:6] == [401] * 6 and set(codes[6:]) == {429}, codes
    refused = answers[-1]
    assert refused.json()["code"] == "too_many_attempts" and "秒后再试" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    # Only the six attempts let through cost the server a password hash (~60 ms of scrypt each).
    assert len(hashed) == 6

    # The attacker cannot keep the clerk out: from the console the clerk signed in from before, at once;
    assert clerk_pc.post("/api/login", json={"username": "clerk", "password": PASSWORD}).status_code == 200
    # from a new machine, after at most the account's 30-second cap.
    laptop = client_at(api, "10.1.1.77")
    r = laptop.post("/api/login", json={"username": "clerk", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) <= 30
    clock.now += int(r.headers["retry-after"])
    assert laptop.post("/api/login", json={"username": "clerk", "password": PASSWORD}).status_code == 200

    blocks = audit_rows(api, "login.throttled")
    assert (
        blocks and blocks[-1].detail["username"] == "clerk" and blocks[-1].detail["client"] == "203.0.113.5"
    )
    assert {b["key"] for b in blocks[0].detail["blocked"]} == {"account", "account_address"}
    refusals = [r for r in audit_rows(api, "POST /api/login") if r.detail.get("error") == "too_many_attempts"]
    assert len(refusals) >= 94 and all(r.detail["status"] == 429 for r in refusals)


def test_a_hundred_wrong_invitation_codes(api: Api, clock: FakeClock) -> None:
    attacker = client_at(api, "203.0.113.6")
    codes = [attacker.post("/api/join", json={"code": f"ABCD-{i:04d}"}).status_code for i in range(100)]
    assert codes[:11] == [401] * 11 and set(codes[11:]) == {429}, codes
    # A party elsewhere is not held up by it.
    party = client_at(api, "10.2.2.2")
    code = api.invite(api.hearings[1], "applicant")
    assert party.post("/api/join", json={"code": code}).status_code == 200
    blocks = audit_rows(api, "invitation.redeem_throttled")
    assert blocks and blocks[-1].detail["client"] == "203.0.113.6"
    assert "code" not in blocks[-1].detail
