"""Items 1, 3, 4 and 6 of the hardening issue, in process: bodies capped before they are read; bad
input answered with a clear 4xx (never a 500) and every error in the audit log; the clerk's camera
pick obeyed at once; cross-site requests refused and the security headers sent; no oracle in the
evidence file route, one policy for what viewers see, and no attendance or presenting before the
hearing runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from court.access.principals import AccessRole, Principal
from court.core.events import EventType
from court.core.timeline import TimelineEvent
from court.db.models import AuditLog
from court.live.program import LiveProgram
from tests.web.support import ORIGIN, api_in_process, running
from tests.web.test_api import PASSWORD, PDF, Api, png
from web.api_hearings import visible

BIG_ID = 2**63
"""One past the largest id the store holds."""
JSON_LIMIT = 2**20
"""The cap on a JSON body (web.limits)."""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    with api_in_process(tmp_path_factory.mktemp("web-hardening"), model_cache) as api:
        yield api


def last_audit(api: Api, action: str) -> AuditLog:
    with api.ctx.sessions() as session:
        row = session.scalars(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id.desc())
        ).first()
    assert row is not None, f"no audit entry {action!r}"
    return row


def assert_clear_refusal(r: Any, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail", "code"}
    assert any("\u4e00" <= c <= "\u9fff" for c in body["detail"]), "a message for people, in Chinese"
    if code is not None:
        assert body["code"] == code


# -- item 1: bodies ------------------------------------------------------------------------------------------


def test_a_json_body_over_its_cap_is_refused_unread(api: Api) -> None:
    big = b'{"username": "clerk", "password": "' + b"x" * JSON_LIMIT + b'"}'
    r = api.client.post("/api/login", content=big, headers={"content-type": "application/json"})
    assert_clear_refusal(r, 413, "body_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"code": "'
        for _ in range(64):
            yield b"A" * 65536
        yield b'"}'

    r = api.client.post("/api/join", content=chunks(), headers={"content-type": "application/json"})
    assert_clear_refusal(r, 413, "body_too_large")


def test_an_upload_may_be_as_large_as_the_evidence_limit_and_no_larger(api: Api) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing)
    fits = PDF + b"%" * (api.ctx.max_upload_bytes - len(PDF))
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence", headers=party, files={"file": ("a.pdf", fits, "application/pdf")}
    )
    assert r.status_code == 200, r.text
    over = PDF + b"%" * (api.ctx.max_upload_bytes + 128 * 1024)
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence", headers=party, files={"file": ("b.pdf", over, "application/pdf")}
    )
    assert_clear_refusal(r, 413, "body_too_large")


def test_a_form_without_a_session_is_refused_before_it_is_parsed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.requests import Request

    parsed: list[str] = []
    form = Request.form
    monkeypatch.setattr(Request, "form", lambda self, **kw: parsed.append("form") or form(self, **kw))
    api.client.cookies.clear()
    r = api.client.post(
        f"/api/hearings/{api.hearings[1]}/evidence", files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    assert_clear_refusal(r, 401, "no_session")
    assert parsed == []


# -- item 3: bad input is a 4xx, and every error is audited --------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/hearings/{BIG_ID}"),
        ("GET", f"/api/hearings/{BIG_ID}/events"),
        ("GET", f"/api/hearings/{2**64}/transcript"),
        ("GET", f"/api/evidence/{BIG_ID}/file"),
        ("POST", f"/api/hearings/1/remote/{BIG_ID}/admit"),
        ("POST", f"/api/hearings/1/evidence/{BIG_ID}/present"),
        ("GET", f"/public/{BIG_ID}/info"),
    ],
)
def test_ids_beyond_the_store_are_404(api: Api, method: str, path: str) -> None:
    r = api.client.request(method, path, headers=api.login("clerk"))
    assert_clear_refusal(r, 404, "no_such_id")
    entry = last_audit(api, f"{method} {path}")
    assert entry.detail["status"] == 404 and entry.detail["error"] == "no_such_id"


def test_numbers_out_of_range_in_queries_and_bodies_are_422(api: Api) -> None:
    clerk = api.login("clerk")
    hearing = api.hearings[0]
    r = api.client.get(f"/api/hearings/{hearing}/events?after=1e20", headers=clerk)
    assert_clear_refusal(r, 422, "invalid_request")
    r = api.client.post(f"/api/hearings/{hearing}/invitations", json={"participant_id": 2**64}, headers=clerk)
    assert_clear_refusal(r, 422, "invalid_request")
    r = api.client.get(f"/api/hearings/{hearing}/audio?source=x&start=nan&end=1", headers=clerk)
    assert_clear_refusal(r, 422, "invalid_request")
    r = api.client.get(f"/api/hearings/{hearing}/audio?source=x&start=5&end=1", headers=clerk)
    assert_clear_refusal(r, 400, "bad_range")


def test_a_non_numeric_last_event_id_is_400(api: Api) -> None:
    r = api.client.get(
        f"/api/hearings/{api.hearings[0]}/events/stream",
        headers={**api.login("clerk"), "last-event-id": "abc"},
    )
    assert_clear_refusal(r, 400, "bad_last_event_id")
    assert last_audit(api, f"GET /api/hearings/{api.hearings[0]}/events/stream").detail["status"] == 400


def test_an_empty_frame_to_the_face_check_is_400(api: Api) -> None:
    hearing = api.hearings[1]
    r = api.client.post(
        f"/api/hearings/{hearing}/face-check",
        headers=api.party(hearing),
        files=[("frames", ("f.jpg", b"", "image/jpeg"))],
    )
    assert_clear_refusal(r, 400, "bad_frame")


def test_audio_of_a_hearing_that_does_not_exist_is_404(api: Api) -> None:
    r = api.client.get("/api/hearings/987654/audio?source=x&start=0&end=1", headers=api.login("clerk"))
    assert_clear_refusal(r, 404, "no_hearing")


def test_an_unexpected_failure_is_a_500_for_people_and_audited(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(hearing_id: int) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.ctx.hosts, "get", broken)
    r = api.client.get(f"/api/hearings/{api.hearings[0]}", headers=api.login("clerk"))
    assert_clear_refusal(r, 500, "internal_error")
    entry = last_audit(api, f"GET /api/hearings/{api.hearings[0]}")
    assert entry.detail["status"] == 500 and entry.actor == "clerk:clerk"


def test_errors_outside_the_api_are_audited_too(api: Api) -> None:
    r = api.client.get("/static/no-such-file.js")
    assert r.status_code == 404
    assert last_audit(api, "GET /static/no-such-file.js").detail["status"] == 404


# -- item 3: the clerk's camera pick -------------------------------------------------------------------------


@pytest.fixture
def live(api: Api) -> Iterator[LiveProgram]:
    host = api.ctx.hosts.get(api.hearings[0])
    program = LiveProgram(host.config, host.clock, hearing=host.hearing)
    program.attach(host.timeline)
    with running(host, program):
        yield program


def test_picking_a_camera_is_obeyed_at_once_in_any_mode(api: Api, live: LiveProgram) -> None:
    hearing = api.hearings[0]
    clerk = api.login("clerk")
    director = f"/api/hearings/{hearing}/director"
    r = api.client.post(director, json={"action": "select", "camera": "abc"}, headers=clerk)
    assert_clear_refusal(r, 400, "bad_camera")
    assert "cam-wide" in r.json()["detail"], "the refusal names the cameras there are"

    assert live.director.mode.value == "auto"
    r = api.client.post(director, json={"action": "select", "camera": "cam-applicant"}, headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json()["director"]["camera"] == "cam-applicant" and r.json()["director"]["mode"] == "manual"

    r = api.client.post(director, json={"action": "lock", "camera": "cam-wide", "seconds": 60}, headers=clerk)
    assert r.json()["director"]["mode"] == "locked"
    r = api.client.post(director, json={"action": "select", "camera": "cam-respondent"}, headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json()["director"]["camera"] == "cam-respondent" and r.json()["director"]["mode"] == "manual"

    r = api.client.post(director, json={"action": "auto"}, headers=clerk)
    assert r.json()["director"]["mode"] == "auto", "the way back to automatic"
    modes = [
        (e["mode"], e["actor"])
        for e in api.client.get(f"/api/hearings/{hearing}/events", headers=clerk).json()
        if e["type"] == EventType.CAMERA_MODE
    ]
    assert modes[-4:] == [
        ("manual", "clerk:clerk"),
        ("locked", "clerk:clerk"),
        ("manual", "clerk:clerk"),
        ("auto", "clerk:clerk"),
    ]


# -- item 4: cross-site requests, security headers -----------------------------------------------------------


def test_a_cross_site_upload_riding_on_the_cookie_is_refused(api: Api) -> None:
    hearing = api.hearings[1]
    code = api.invite(hearing, "respondent_agent")
    browser = TestClient(api.client.app)
    assert browser.post("/api/join", json={"code": code}, headers=ORIGIN).status_code == 200
    before = len(api.client.get(f"/api/hearings/{hearing}/evidence", headers=api.login("clerk")).json())
    upload = {"files": {"file": ("x.pdf", PDF, "application/pdf")}, "data": {"title": "伪造"}}
    for headers in (
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"referer": "https://evil.example/page"},
        {},  # neither: a browser always names the origin of such a request
    ):
        r = browser.post(f"/api/hearings/{hearing}/evidence", headers=headers, **upload)
        assert_clear_refusal(r, 403, "cross_origin")
    after = len(api.client.get(f"/api/hearings/{hearing}/evidence", headers=api.login("clerk")).json())
    assert after == before
    # From the server's own page (Origin, or a Referer where no Origin is sent), it goes through.
    r = browser.post(f"/api/hearings/{hearing}/evidence", headers=ORIGIN, **upload)
    assert r.status_code == 200, r.text
    r = browser.post(
        f"/api/hearings/{hearing}/evidence", headers={"referer": "http://testserver/join"}, **upload
    )
    assert r.status_code == 200, r.text
    # A cross-site page cannot sign a victim in either; reading stays open to any origin.
    r = browser.post(
        "/api/login",
        json={"username": "clerk", "password": PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert_clear_refusal(r, 403, "cross_origin")
    assert browser.get("/api/me", headers={"origin": "https://evil.example"}).status_code == 200
    # A script with a bearer token is no browser riding on a cookie.
    r = api.client.post(f"/api/hearings/{hearing}/evidence", headers=api.party(hearing), **upload)
    assert r.status_code == 200, r.text


def test_every_answer_carries_the_security_headers(api: Api) -> None:
    for r in (
        api.client.get("/login"),
        api.client.get("/api/me"),  # a refusal
        api.client.get("/static/app.css"),
        api.client.get("/nowhere"),
    ):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
        assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
        assert "strict-transport-security" not in r.headers, "HSTS only over https"
    # The login page's own inline script is allowed by its hash, and no other inline script.
    from web.headers import inline_script_hashes

    page = Path(__file__).resolve().parents[2] / "web" / "static" / "login.html"
    assert inline_script_hashes([page])[0] in api.client.get("/login").headers["content-security-policy"]
    secure = TestClient(api.client.app, base_url="https://testserver")
    assert secure.get("/login").headers["strict-transport-security"].startswith("max-age=")


# -- item 6: small leaks -------------------------------------------------------------------------------------


def test_another_hearings_exhibit_and_a_missing_one_get_the_same_answer(api: Api) -> None:
    mine, other = api.hearings[1], api.hearings[0]
    r = api.client.post(
        f"/api/hearings/{other}/evidence",
        headers=api.party(other),
        files={"file": ("p.png", png(), "image/png")},
    )
    assert r.status_code == 200, r.text
    party = api.party(mine)
    theirs = api.client.get(r.json()["url"], headers=party)
    missing = api.client.get("/api/evidence/99999999/file", headers=party)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert_clear_refusal(missing, 404, "no_evidence")


def _event(kind: EventType) -> TimelineEvent:
    return TimelineEvent(seq=1, t=0.0, wall=datetime.now(UTC), type=kind, payload={})


def test_viewers_see_what_happens_not_what_is_filed(api: Api) -> None:
    """One policy, in the events as in the routes: a viewer follows what is said and shown, not the
    tribunal's file (filings not yet shown, the evidence list, the 笔录 for signing, the settlement)."""
    viewer = Principal(AccessRole.SUPERVISOR, "监督员", 1, None, None, 1, datetime.now(UTC))
    party = Principal(AccessRole.PARTY, "张伟", None, 1, 5, 2, datetime.now(UTC))
    hidden = (
        EventType.EVIDENCE_SUBMITTED,
        EventType.BILU_SIGNED,
        EventType.BILU_SIGN_REFUSED,
        EventType.BILU_LOCKED,
        EventType.SETTLEMENT_DRAFTED,
    )
    shown = (
        EventType.UTTERANCE,
        EventType.UTTERANCE_CORRECTED,
        EventType.EVIDENCE_PRESENTED,
        EventType.HEARING_PHASE,
    )
    assert [k for k in hidden if visible(viewer, _event(k))] == []
    assert [k for k in shown if not visible(viewer, _event(k))] == []
    assert all(visible(party, _event(k)) for k in (*hidden, *shown))

    hearing = api.hearings[1]
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence",
        headers=api.party(hearing),
        files={"file": ("secret.pdf", PDF, "application/pdf")},
        data={"title": "未出示的证据"},
    )
    assert r.status_code == 200
    observer = api.login("observer")
    events = api.client.get(f"/api/hearings/{hearing}/events", headers=observer).json()
    assert not any(e["type"] == EventType.EVIDENCE_SUBMITTED for e in events)
    assert "未出示的证据" not in str(events) and "secret.pdf" not in str(events)
    for path in ("evidence", "bilu", "settlement"):
        r = api.client.get(f"/api/hearings/{hearing}/{path}", headers=observer)
        assert_clear_refusal(r, 403, "viewer_read_only")
    assert api.client.get(r.url.path.replace("settlement", "transcript"), headers=observer).status_code == 200


def test_no_attendance_or_presenting_before_the_hearing_runs(api: Api) -> None:
    hearing = api.hearings[0]
    clerk = api.login("clerk")
    applicant = api.participant(hearing, "applicant")
    r = api.client.post(
        f"/api/hearings/{hearing}/attendance",
        json={"participant_id": applicant, "reason": "核对身份证"},
        headers=clerk,
    )
    assert_clear_refusal(r, 409, "not_running")
    r = api.client.post(f"/api/hearings/{hearing}/attendance/close", headers=clerk)
    assert_clear_refusal(r, 409, "not_running")
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence",
        headers=api.party(hearing),
        files={"file": ("c.png", png(), "image/png")},
    )
    r = api.client.post(f"/api/hearings/{hearing}/evidence/{r.json()['id']}/present", headers=clerk)
    assert_clear_refusal(r, 409, "not_running")
    events = api.client.get(f"/api/hearings/{hearing}/events", headers=clerk).json()
    assert not any(e["type"] in (EventType.EVIDENCE_PRESENTED, EventType.ATTENDANCE_PRESENT) for e in events)
