"""Who may call what: every operation in ``/openapi.json`` called as every kind of principal, the
answers compared with one table. A route added to the API and not to the table fails the test the day
it is added; so does a route whose answers change.

The principals: nobody (no session), the clerk, an arbitrator, a supervisor, the observation room, a
party of the hearing called, and a party of the other hearing. The hearing called has not started
(the one-click start is replaced by a no-op: what is checked is who may press it), so "allowed" often
reads 409 (not now) or 404/400 (no such thing) rather than 200: what matters is that it is not 401/403
for those allowed and is for everybody else.

To print the observed table after changing a route: ``COURT_MATRIX_PRINT=1 pytest -s`` this file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from court.access.throttle import Rule, SignInThrottle
from court.host.host import HearingHost
from tests.web.support import api_in_process
from tests.web.test_api import PASSWORD, PDF, Api, png

WHO = ("anon", "clerk", "arbitrator", "supervisor", "observer", "party", "other")

# Columns: nobody, clerk, arbitrator, supervisor, observation room, party of this hearing, party of
# the other hearing. BODY names what is sent (see _bodies).
# fmt: off
TABLE = """
METHOD PATH                                BODY     anon clk arb sup obs pty oth
POST   /api/login                          login    401 401 401 401 401 401 401
POST   /api/join                           join     401 401 401 401 401 401 401
GET    /api/me                             -        401 200 200 200 200 200 200
GET    /api/hearings                       -        401 200 200 200 200 200 200
GET    H                                   -        401 200 200 200 200 200 403
GET    H/events                            -        401 200 200 200 200 200 403
GET    H/events/stream                     -        401 400 400 400 400 400 403
POST   H/start                             -        401 200 403 403 403 403 403
POST   H/open                              -        401 409 403 403 403 403 403
POST   H/phase                             phase    401 409 403 403 403 403 403
POST   H/recess                            reason   401 409 403 403 403 403 403
POST   H/resume                            -        401 409 403 403 403 403 403
POST   H/close                             -        401 409 403 403 403 403 403
POST   H/attendance                        presence 401 409 403 403 403 403 403
POST   H/attendance/close                  -        401 409 403 403 403 403 403
POST   H/invitations                       invite   401 200 403 403 403 403 403
DELETE /api/invitations/{code}             -        401 404 403 403 403 403 403
POST   H/remote/{participant_id}/admit     -        401 409 403 403 403 403 403
POST   H/remote/{participant_id}/reject    reason   401 409 403 403 403 403 403
POST   H/director                          director 401 409 403 403 403 403 403
POST   H/mask                              mask     401 409 403 403 403 403 403
POST   H/livestream                        stream   401 200 403 403 403 403 403
POST   H/caucus                            caucus   401 409 409 403 403 403 403
DELETE H/caucus                            -        401 409 409 403 403 403 403
GET    H/transcript                        -        401 200 200 200 200 200 403
POST   H/transcript                        line     401 409 409 403 403 403 403
PATCH  H/transcript/{line_id}              edit     401 400 400 403 403 403 403
GET    H/audio                             audio    401 404 404 403 403 403 403
GET    H/bilu                              -        401 200 200 403 403 200 403
POST   H/bilu/sign                         sign     401 403 403 403 403 409 403
POST   H/evidence                          upload   401 200 200 403 403 200 403
GET    H/evidence                          -        401 200 200 403 403 200 403
GET    /api/evidence/{evidence_id}/file    -        401 200 200 404 404 200 404
POST   H/evidence/{evidence_id}/present    -        401 409 403 403 403 403 403
POST   H/face-check                        frames   401 403 403 403 403 409 403
POST   H/face-check/challenge              -        401 403 403 403 403 200 403
GET    /api/rtc-config                     -        401 200 200 200 200 200 200
POST   H/rtc                               offer    401 409 409 409 409 409 403
GET    H/settlement                        -        401 200 200 403 403 200 403
POST   H/settlement                        draft    401 200 200 403 403 403 403
POST   H/settlement/sign                   ssign    401 403 403 403 403 409 403
GET    H/corrections                       -        401 200 200 403 403 200 403
POST   H/corrections                       request  401 403 403 403 403 409 403
POST   H/corrections/{request_id}/decide   decide   401 409 409 403 403 403 403
GET    H/lines                             -        401 200 200 403 403 403 403
POST   H/transcript/merge                  merge    401 409 409 403 403 403 403
POST   H/transcript/{line_id}/split        split    401 409 409 403 403 403 403
POST   H/transcript/{line_id}/marks        mark     401 409 409 403 403 403 403
DELETE H/transcript/{line_id}/marks/{mark} -        401 409 409 403 403 403 403
GET    H/bilu/review                       -        401 200 200 403 403 403 403
POST   H/bilu/lock                         -        401 409 403 403 403 403 403
GET    H/bilu/export                       -        401 200 200 403 403 403 403
POST   H/me/media                          media    401 403 403 403 403 409 403
POST   H/me/leave                          -        401 403 403 403 403 200 403
GET    /api/institute                      -        401 200 200 200 200 403 403
GET    /public/{hearing_id}/info           -        200 200 200 200 200 200 200
GET    /public/{hearing_id}/hls/{name}     -        404 404 404 404 404 404 404
POST   /api/logout                         -        200 200 200 200 200 200 200
"""
# fmt: on
H = "/api/hearings/{hearing_id}"
"""How the table writes the prefix most paths share."""


def rows() -> list[tuple[str, str, str, dict[str, int]]]:
    parsed = []
    for line in TABLE.strip().splitlines()[1:]:
        method, path, body, *codes = line.split()
        assert len(codes) == len(WHO), line
        path = H + path[1:] if path.startswith("H") else path
        parsed.append((method, path, body, dict(zip(WHO, map(int, codes), strict=True))))
    return parsed


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    with api_in_process(tmp_path_factory.mktemp("web-matrix"), model_cache) as api:
        # Every call here signs in afresh: no throttle (it has tests of its own).
        api.ctx.accounts.throttle = SignInThrottle({k: Rule(10**9, 1, 1) for k in SignInThrottle().rules})
        yield api


def test_every_operation_is_in_the_table(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    listed = {(method, path) for method, path, _, _ in rows()}
    assert documented - listed == set(), "routes without a row in TABLE: add one"
    assert listed - documented == set(), "rows for routes that are gone"


def test_who_may_call_what(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HearingHost, "start", lambda self: None)  # who may press it, not the room
    hearing, other = api.hearings[1], api.hearings[0]
    tokens: dict[str, dict[str, str]] = {"anon": {}}
    for role in ("clerk", "arbitrator", "supervisor", "observer"):
        tokens[role] = api.login(role)
    tokens["party"] = api.party(hearing, "applicant")
    tokens["other"] = api.party(other, "applicant")
    upload = api.client.post(
        f"/api/hearings/{hearing}/evidence",
        headers=tokens["party"],
        files={"file": ("p.png", png(), "image/png")},
    )
    assert upload.status_code == 200, upload.text
    params = {
        "hearing_id": str(hearing),
        "participant_id": str(api.participant(hearing, "respondent_agent")),
        "evidence_id": str(upload.json()["id"]),
        "request_id": "1",
        "line_id": "u1",
        "code": "ABCD-EFGH",
        "name": "index.m3u8",
        "mark": "x",
    }
    bodies = _bodies(api, hearing)
    observed: dict[tuple[str, str], dict[str, int]] = {}
    wrong = []
    for method, template, body, expected in rows():
        path = template.format(**params)
        got = {}
        for who in WHO:
            headers = dict(tokens[who])
            if template.endswith("/events/stream"):
                headers["last-event-id"] = "x"  # answered 400 by whoever may read, never streamed
            if template == "/api/logout" and who != "anon":
                headers = _fresh(api, who, hearing)
            got[who] = api.client.request(method, path, headers=headers, **bodies[body]).status_code
        observed[(method, template)] = got
        if got != expected:
            wrong.append(f"{method} {template}: expected {expected}, got {got}")
    if os.environ.get("COURT_MATRIX_PRINT"):
        for (method, template), got in observed.items():
            print(f"{method:6} {template:56} {' '.join(str(got[w]) for w in WHO)}")
    assert not wrong, "\n".join(wrong)


def _fresh(api: Api, who: str, hearing: int) -> dict[str, str]:
    """A session of its own for logging out (the shared ones are used by the other rows)."""
    if who == "party":
        return api.party(hearing, "respondent_agent")
    if who == "other":
        return api.party(api.hearings[0], "respondent_agent")
    return api.login(who)


def _bodies(api: Api, hearing: int) -> dict[str, dict[str, Any]]:
    def j(body: Any) -> dict[str, Any]:
        return {"json": body}

    invitee = api.participant(hearing, "applicant_agent")
    return {
        "-": {},
        "login": j({"username": "clerk", "password": PASSWORD + "-wrong"}),
        "join": j({"code": "ABCD-EFGH"}),
        "phase": j({"phase": "debate"}),
        "reason": j({"reason": "测试"}),
        "presence": j({"participant_id": invitee, "reason": "核对身份证"}),
        "invite": j({"participant_id": invitee}),
        "director": j({"action": "auto"}),
        "mask": j({"target": "*", "mode": "slate", "reason": "测试"}),
        "stream": j({"on": False, "reason": "测试"}),
        "caucus": j({"side": "applicant"}),
        "line": j({"role": "clerk", "text": "补记", "start": 1.0}),
        "audio": {"params": {"source": "seat-applicant", "start": 0, "end": 1}},
        "edit": j({"text": "改"}),
        "sign": j({"sha256": "0" * 64, "agree": True}),
        "upload": {"files": {"file": ("c.pdf", PDF, "application/pdf")}, "data": {"title": "合同"}},
        "frames": {"files": [("frames", ("f.png", png(), "image/png"))]},
        "offer": j({"sdp": "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\n", "type": "offer"}),
        "draft": j({"text": "调解协议"}),
        "ssign": j({"sha256": "0" * 64, "agree": True}),
        "request": j({"line": "u1", "text": "改", "reason": "记错了"}),
        "decide": j({"accept": False, "reason": "不改"}),
        "merge": j({"lines": ["u1", "u2"]}),
        "split": j({"offset": 1}),
        "mark": j({"mark": "x"}),
        "media": j({"muted": True, "camera_off": False}),
    }
