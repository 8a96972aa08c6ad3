"""The HTTP API in process (FastAPI's TestClient, no server, no media): who may do what — 401 without
a session, 403 for another hearing, for a viewer uploading, for a party doing the clerk's work — the
OpenAPI document, uploads refused by size and by sniffed type, and invitations that are unknown,
revoked or expired."""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from court.config import load_config
from court.core.events import EventType
from court.db.engine import close_store
from court.demo.seed import seed_cases
from court.host.host import HostStatus
from tests.court.helpers import write_test_config
from web.app import create_app
from web.server import build_context

PASSWORD = "correct-horse-battery"


@dataclass
class Api:
    client: TestClient
    ctx: Any
    hearings: list[int]

    def login(self, username: str) -> dict[str, str]:
        r = self.client.post("/api/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.client.cookies.clear()  # each call names its principal explicitly
        return {"authorization": f"Bearer {r.json()['token']}"}

    def participant(self, hearing_id: int, role: str) -> int:
        for p in self.client.get(f"/api/hearings/{hearing_id}", headers=self.login("clerk")).json()[
            "participants"
        ]:
            if p["role"] == role:
                return int(p["id"])
        raise AssertionError(f"no {role} in hearing {hearing_id}")

    def invite(self, hearing_id: int, role: str) -> str:
        r = self.client.post(
            f"/api/hearings/{hearing_id}/invitations",
            json={"participant_id": self.participant(hearing_id, role)},
            headers=self.login("clerk"),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["code"])

    def party(self, hearing_id: int, role: str = "applicant") -> dict[str, str]:
        r = self.client.post("/api/join", json={"code": self.invite(hearing_id, role)})
        assert r.status_code == 200, r.text
        self.client.cookies.clear()
        return {"authorization": f"Bearer {r.json()['token']}"}

    def face_checked(self, hearing_id: int, party: dict[str, str], similarity: float = 0.9) -> None:
        """The party passes the face check in that session (as /face-check records it, without the
        camera frames and the face models)."""
        principal = self.ctx.accounts.authenticate(party["authorization"].removeprefix("Bearer "))
        self.ctx.hosts.get(hearing_id).remote_checked(
            principal.participant_id,
            admitted=True,
            similarity=similarity,
            report={"reason": "人脸核验通过", "match": True, "similarity": similarity},
            session_id=principal.session_id,
        )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("web-api")
    config = load_config(write_test_config(folder, model_cache, door_seconds=3))
    ctx = build_context(config, database=f"sqlite:///{folder / 'court.db'}", data=folder / "data")
    hearings = seed_cases(ctx.sessions, config, enrol_photos=False, progress=lambda _: None)
    for username, role in (
        ("clerk", "clerk"),
        ("arbitrator", "arbitrator"),
        ("supervisor", "supervisor"),
        ("observer", "observer"),
    ):
        ctx.accounts.create_account(username, PASSWORD, role, username)
    ctx.max_upload_bytes = 64 * 1024
    # No `with`: the lifespan (WebRTC hub, media) is not needed for these routes.
    client = TestClient(create_app(ctx), raise_server_exceptions=True)
    yield Api(client, ctx, hearings)
    client.close()
    close_store(ctx.sessions)


def png(width: int = 4, height: int = 4) -> bytes:
    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


# -- 401 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/me"),
        ("GET", "/api/hearings"),
        ("GET", "/api/hearings/1"),
        ("GET", "/api/hearings/1/events"),
        ("GET", "/api/hearings/1/transcript"),
        ("GET", "/api/hearings/1/bilu"),
        ("POST", "/api/hearings/1/start"),
        ("POST", "/api/hearings/1/rtc"),
    ],
)
def test_no_session_is_401_and_no_data(api: Api, method: str, path: str) -> None:
    api.client.cookies.clear()
    r = api.client.request(method, path, json={"sdp": "v=0", "type": "offer"} if "rtc" in path else None)
    assert r.status_code == 401, r.text
    body = r.json()
    assert body["code"] == "no_session"
    assert "登录" in body["detail"]
    assert set(body) == {"detail", "code"}


def test_a_forged_token_is_401(api: Api) -> None:
    r = api.client.get("/api/hearings", headers={"authorization": "Bearer not-a-real-token"})
    assert r.status_code == 401
    assert r.json()["code"] in {"no_session", "session_revoked", "session_expired"}


def test_wrong_password_is_401(api: Api) -> None:
    r = api.client.post("/api/login", json={"username": "clerk", "password": "wrong-password"})
    assert r.status_code == 401
    assert r.json()["code"] == "bad_credentials"


def test_login_sets_an_http_only_cookie_that_works(api: Api) -> None:
    r = api.client.post("/api/login", json={"username": "clerk", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "court_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert api.client.get("/api/me").json()["role"] == "clerk"
    # A browser names the page's origin on every post; under the cookie, a post without it is refused.
    assert api.client.post("/api/logout").status_code == 403
    assert api.client.post("/api/logout", headers={"origin": "http://testserver"}).status_code == 200
    api.client.cookies.clear()
    assert api.client.get("/api/me").status_code == 401


# -- 403 -----------------------------------------------------------------------------------------------


def test_a_party_sees_only_their_own_hearing(api: Api) -> None:
    mine, other = api.hearings[1], api.hearings[0]
    party = api.party(mine)
    assert api.client.get(f"/api/hearings/{mine}", headers=party).status_code == 200
    listed = api.client.get("/api/hearings", headers=party).json()
    assert [h["hearing_id"] for h in listed] == [mine]
    for path in (
        f"/api/hearings/{other}",
        f"/api/hearings/{other}/events",
        f"/api/hearings/{other}/transcript",
        f"/api/hearings/{other}/evidence",
        f"/api/hearings/{other}/bilu",
    ):
        r = api.client.get(path, headers=party)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["code"] == "other_hearing"
        assert "case_number" not in r.text
    r = api.client.post(
        f"/api/hearings/{other}/evidence", headers=party, files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    assert r.status_code == 403


def test_a_party_does_not_see_device_internals(api: Api) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing)
    snap = api.client.get(f"/api/hearings/{hearing}", headers=party).json()
    assert "devices" not in snap and "error" not in snap
    assert snap["you"]["role"] == "party"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/start", None),
        ("POST", "/open", None),
        ("POST", "/phase", {"phase": "debate"}),
        ("POST", "/recess", {"reason": "x"}),
        ("POST", "/close", None),
        ("POST", "/invitations", {"participant_id": 1}),
        ("POST", "/director", {"action": "auto"}),
        ("POST", "/mask", {"target": "*", "mode": "slate"}),
        ("POST", "/livestream", {"on": True}),
        ("POST", "/remote/1/admit", None),
        ("POST", "/evidence/1/present", None),
        ("PATCH", "/transcript/u1", {"text": "改"}),
        ("GET", "/audio?source=remote-1&start=0&end=1", None),
        ("POST", "/caucus", {"side": "applicant"}),
        ("POST", "/attendance", {"participant_id": 1, "reason": "x"}),
        ("POST", "/attendance/close", None),
    ],
)
def test_a_party_cannot_do_the_clerks_work(api: Api, method: str, path: str, body: Any) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing, "respondent_agent")
    r = api.client.request(method, f"/api/hearings/{hearing}{path}", json=body, headers=party)
    assert r.status_code == 403, r.text
    assert r.json()["code"] in {"clerk_only", "staff_only"}


def test_viewers_cannot_upload_or_act(api: Api) -> None:
    hearing = api.hearings[0]
    for viewer in ("observer", "supervisor"):
        headers = api.login(viewer)
        assert api.client.get(f"/api/hearings/{hearing}", headers=headers).status_code == 200
        r = api.client.post(
            f"/api/hearings/{hearing}/evidence",
            headers=headers,
            files={"file": ("contract.pdf", PDF, "application/pdf")},
            data={"title": "合同"},
        )
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "viewer_read_only"
        assert api.client.post(f"/api/hearings/{hearing}/start", headers=headers).status_code == 403
        assert api.client.get(f"/api/hearings/{hearing}/bilu", headers=headers).status_code == 403


def test_an_arbitrator_may_correct_but_not_start(api: Api) -> None:
    headers = api.login("arbitrator")
    hearing = api.hearings[0]
    assert api.client.post(f"/api/hearings/{hearing}/start", headers=headers).status_code == 403
    r = api.client.patch(f"/api/hearings/{hearing}/transcript/u999999", json={"text": "x"}, headers=headers)
    assert r.status_code == 400  # allowed, but there is no such line
    assert r.json()["code"] == "bad_correction"


# -- the OpenAPI document -------------------------------------------------------------------------------


def test_openapi_lists_the_routes(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in (
        ("/api/login", "post"),
        ("/api/join", "post"),
        ("/api/me", "get"),
        ("/api/hearings", "get"),
        ("/api/hearings/{hearing_id}", "get"),
        ("/api/hearings/{hearing_id}/events", "get"),
        ("/api/hearings/{hearing_id}/events/stream", "get"),
        ("/api/hearings/{hearing_id}/start", "post"),
        ("/api/hearings/{hearing_id}/phase", "post"),
        ("/api/hearings/{hearing_id}/invitations", "post"),
        ("/api/invitations/{code}", "delete"),
        ("/api/hearings/{hearing_id}/remote/{participant_id}/admit", "post"),
        ("/api/hearings/{hearing_id}/director", "post"),
        ("/api/hearings/{hearing_id}/transcript/{line_id}", "patch"),
        ("/api/hearings/{hearing_id}/audio", "get"),
        ("/api/hearings/{hearing_id}/face-check", "post"),
        ("/api/hearings/{hearing_id}/evidence", "post"),
        ("/api/hearings/{hearing_id}/bilu/sign", "post"),
        ("/api/hearings/{hearing_id}/rtc", "post"),
        ("/public/{hearing_id}/hls/{name}", "get"),
    ):
        assert method in paths.get(path, {}), f"{method.upper()} {path} missing from /openapi.json"
    # The pages are not API routes.
    assert "/console" not in paths and "/join" not in paths


def test_pages_are_served_in_chinese_without_outside_fetches(api: Api) -> None:
    for page in ("/login", "/console", "/join", "/watch"):
        r = api.client.get(page)
        assert r.status_code == 200, page
        assert 'lang="zh-CN"' in r.text
        assert "http://" not in r.text and "https://" not in r.text, f"{page} fetches from outside"
    assert api.client.get("/", follow_redirects=False).headers["location"] == "/login"
    for asset in (
        "/static/app.css",
        "/static/common.js",
        "/static/console.js",
        "/static/join.js",
        "/static/watch.js",
    ):
        r = api.client.get(asset)
        assert r.status_code == 200, asset
        assert "https://" not in r.text and "http://" not in r.text, asset


# -- uploads ---------------------------------------------------------------------------------------------


def test_evidence_upload_stored_and_listed(api: Api) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing)
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence",
        headers=party,
        files={"file": ("photo.png", png(), "image/png")},
        data={"title": "现场照片"},
    )
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["title"] == "现场照片" and info["media_type"] == "image/png" and len(info["sha256"]) == 64
    listed = api.client.get(f"/api/hearings/{hearing}/evidence", headers=api.login("clerk")).json()
    assert info["id"] in [e["id"] for e in listed]
    got = api.client.get(info["url"], headers=party)
    assert got.status_code == 200 and got.content == png()


def test_oversized_upload_is_413(api: Api) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing)
    big = PDF + b"%" * (api.ctx.max_upload_bytes + 10)
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence",
        headers=party,
        files={"file": ("big.pdf", big, "application/pdf")},
    )
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "too_large"


@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        ("contract.pdf", png(), "application/pdf"),  # a picture labelled as a PDF
        ("photo.png", PDF, "image/png"),  # a PDF labelled as a picture
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream"),  # not on the list
    ],
)
def test_mislabelled_or_unlisted_upload_is_415(api: Api, name: str, data: bytes, declared: str) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing)
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence", headers=party, files={"file": (name, data, declared)}
    )
    assert r.status_code == 415, r.text
    assert r.json()["code"] in {"type_mismatch", "type_not_allowed"}
    assert r.json()["detail"]


def test_face_check_without_frames_or_with_garbage_is_refused(api: Api) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing)
    r = api.client.post(f"/api/hearings/{hearing}/face-check", headers=party)
    assert r.status_code == 422
    r = api.client.post(
        f"/api/hearings/{hearing}/face-check",
        headers=party,
        files=[("frames", ("f.jpg", b"not a jpeg", "image/jpeg"))],
    )
    assert r.status_code == 400
    assert r.json()["code"] == "bad_frame"
    clerk = api.login("clerk")
    r = api.client.post(
        f"/api/hearings/{hearing}/face-check",
        headers=clerk,
        files=[("frames", ("f.png", png(), "image/png"))],
    )
    assert r.status_code == 403


def test_rtc_before_the_start_is_409(api: Api) -> None:
    hearing = api.hearings[1]
    r = api.client.post(
        f"/api/hearings/{hearing}/rtc",
        json={"sdp": "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\n", "type": "offer"},
        headers=api.login("supervisor"),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not_running"
    r = api.client.post(
        f"/api/hearings/{hearing}/rtc",
        json={"sdp": "v=0\r\nxxxxxxxx", "type": "answer"},
        headers=api.login("supervisor"),
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request"


# -- invitations -------------------------------------------------------------------------------------------


def test_unknown_invitation_is_401_with_its_code(api: Api) -> None:
    for code in ("ABCD-EFGH", "zzzz", "not a code at all"):
        r = api.client.post("/api/join", json={"code": code})
        assert r.status_code == 401, (code, r.text)
        assert r.json()["code"] == "unknown_invitation"
        assert "邀请码无效" in r.json()["detail"]


def test_a_code_is_read_however_the_phone_typed_it(api: Api) -> None:
    code = api.invite(api.hearings[1], "applicant")
    typed = code.lower().replace("-", " ")
    r = api.client.post("/api/join", json={"code": typed})
    assert r.status_code == 200, r.text
    api.client.cookies.clear()


def test_revoked_invitation_is_refused_and_ends_its_sessions(api: Api) -> None:
    hearing = api.hearings[1]
    code = api.invite(hearing, "applicant_agent")
    joined = api.client.post("/api/join", json={"code": code})
    assert joined.status_code == 200
    api.client.cookies.clear()
    session = {"authorization": f"Bearer {joined.json()['token']}"}
    assert api.client.get(f"/api/hearings/{hearing}", headers=session).status_code == 200

    r = api.client.delete(f"/api/invitations/{code}", headers=api.login("clerk"))
    assert r.status_code == 200, r.text
    r = api.client.post("/api/join", json={"code": code})
    assert r.status_code == 401
    assert r.json()["code"] == "invitation_revoked"
    r = api.client.get(f"/api/hearings/{hearing}", headers=session)
    assert r.status_code == 401
    # A party cannot revoke; an unknown code is 404 for the clerk.
    party = api.party(hearing)
    assert api.client.delete(f"/api/invitations/{code}", headers=party).status_code == 403
    assert api.client.delete("/api/invitations/ABCD-EFGH", headers=api.login("clerk")).status_code == 404


def test_a_new_invitation_replaces_the_old_one(api: Api) -> None:
    hearing = api.hearings[0]
    first = api.invite(hearing, "respondent_agent")
    second = api.invite(hearing, "respondent_agent")
    assert first != second
    assert api.client.post("/api/join", json={"code": first}).status_code == 401
    assert api.client.post("/api/join", json={"code": second}).status_code == 200
    api.client.cookies.clear()


def test_a_code_works_on_one_device_only(api: Api) -> None:
    """Item 7: a redeemed code is bound to the session it gave; the link opened again on that device
    keeps the session, any other device is refused until the clerk sends a new code."""
    hearing = api.hearings[0]
    code = api.invite(hearing, "applicant")
    first = api.client.post("/api/join", json={"code": code})
    assert first.status_code == 200
    # The same browser (its cookie is sent, as a browser sends its own Origin).
    again = api.client.post("/api/join", json={"code": code}, headers={"origin": "http://testserver"})
    assert again.status_code == 200 and again.json()["token"] == first.json()["token"]
    api.client.cookies.clear()
    r = api.client.post("/api/join", json={"code": code})  # another device
    assert r.status_code == 401 and r.json()["code"] == "invitation_used"
    assert "重新发送" in r.json()["detail"]
    session = {"authorization": f"Bearer {first.json()['token']}"}
    assert api.client.get(f"/api/hearings/{hearing}", headers=session).status_code == 200


def test_expired_invitation_is_401(api: Api) -> None:
    accounts = api.ctx.accounts
    ttl = accounts.invitation_ttl
    accounts.invitation_ttl = timedelta(seconds=-1)
    try:
        code = api.invite(api.hearings[0], "applicant")
    finally:
        accounts.invitation_ttl = ttl
    r = api.client.post("/api/join", json={"code": code})
    assert r.status_code == 401
    assert r.json()["code"] == "invitation_expired"
    assert "过期" in r.json()["detail"]


def test_staff_cannot_be_invited(api: Api) -> None:
    hearing = api.hearings[0]
    r = api.client.post(
        f"/api/hearings/{hearing}/invitations",
        json={"participant_id": api.participant(hearing, "clerk")},
        headers=api.login("clerk"),
    )
    assert r.status_code == 400
    assert r.json()["code"] == "bad_participant"


def test_bilu_before_closing_has_no_version(api: Api) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing)
    r = api.client.get(f"/api/hearings/{hearing}/bilu", headers=party)
    assert r.status_code == 200
    assert r.json()["sha256"] is None
    r = api.client.post(
        f"/api/hearings/{hearing}/bilu/sign", headers=party, json={"sha256": "0" * 64, "agree": True}
    )
    assert r.status_code == 409
    assert r.json()["code"] == "cannot_sign"


def test_audit_log_records_refusals(api: Api) -> None:
    from sqlalchemy import select

    from court.db.models import AuditLog

    api.client.cookies.clear()
    api.client.get(f"/api/hearings/{api.hearings[0]}/transcript")
    with api.ctx.sessions() as session:
        rows = session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(20)).all()
    assert any("transcript" in (r.action or "") for r in rows), [r.action for r in rows]


# -- evidence on every screen ---------------------------------------------------------------------------


def test_viewers_see_a_file_only_once_it_is_presented(api: Api) -> None:
    hearing = api.hearings[1]
    party = api.party(hearing)
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence",
        headers=party,
        files={"file": ("scene.png", png(6, 6), "image/png")},
        data={"title": "工作现场照片"},
    )
    assert r.status_code == 200, r.text
    info = r.json()
    for viewer in ("observer", "supervisor"):
        # Not yet shown: answered like an exhibit that does not exist (no oracle of what was filed).
        r = api.client.get(info["url"], headers=api.login(viewer))
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "no_evidence"
    clerk = api.login("clerk")
    present = f"/api/hearings/{hearing}/evidence/{info['id']}/present"
    r = api.client.post(present, headers=clerk)
    assert r.status_code == 409 and r.json()["code"] == "not_running", "no screens before the start"
    host = api.ctx.hosts.get(hearing)
    host.status = HostStatus.RUNNING  # the room display is not needed to put it on the pages
    try:
        shown = api.client.post(present, headers=clerk)
    finally:
        host.status = HostStatus.IDLE
    assert shown.status_code == 200, shown.text
    assert shown.json()["type"] == EventType.EVIDENCE_PRESENTED and shown.json()["evidence_id"] == info["id"]
    for viewer in ("observer", "supervisor"):
        headers = api.login(viewer)
        r = api.client.get(info["url"], headers=headers)
        assert r.status_code == 200 and r.content == png(6, 6)
        assert r.headers["content-type"] == "image/png"
        # The list stays closed to viewers; so does an item never presented.
        r = api.client.get(f"/api/hearings/{hearing}/evidence", headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "viewer_read_only"
    # Presenting one item opens only that one.
    r = api.client.post(
        f"/api/hearings/{hearing}/evidence",
        headers=party,
        files={"file": ("contract.pdf", PDF, "application/pdf")},
        data={"title": "劳动合同"},
    )
    assert r.status_code == 200
    assert api.client.get(r.json()["url"], headers=api.login("observer")).status_code == 404
    # A viewer sees the presented event in the timeline (what the watch page shows).
    events = api.client.get(f"/api/hearings/{hearing}/events", headers=api.login("observer")).json()
    assert any(e["type"] == EventType.EVIDENCE_PRESENTED and e["evidence_id"] == info["id"] for e in events)


def test_with_liveness_on_a_still_photo_cannot_follow_the_challenge(api: Api, model_cache: Path) -> None:
    """A printed photo (or a still picture on a screen) held to the phone: the face matches, but it
    does not turn the way it was asked, so the party is not let into the lobby."""
    from dataclasses import replace

    from court.attendance.enrolment import enrol_participant
    from court.demo.face_material import encode_jpeg, portrait
    from devices.face import shared_analyzer
    from tests.web.conftest import face_material

    folder = face_material(model_cache)
    hearing = api.hearings[1]
    applicant = api.participant(hearing, "applicant")
    enrol_participant(
        api.ctx.sessions, applicant, encode_jpeg(portrait(folder, "obama.jpg")), shared_analyzer()
    )
    original = api.ctx.config
    api.ctx.config = replace(original, face={**original.face, "liveness": True})
    try:
        party = api.party(hearing)
        frame = encode_jpeg(portrait(folder, "obama2.jpg", zoom=2.1))
        frames = [("frames", (f"f{i}.jpg", frame, "image/jpeg")) for i in range(14)]
        r = api.client.post(f"/api/hearings/{hearing}/face-check", headers=party, files=frames)
        assert r.status_code == 409 and r.json()["code"] == "challenge_required"
        r = api.client.post(f"/api/hearings/{hearing}/face-check/challenge", headers=party)
        assert r.status_code == 200 and r.json()["liveness"] is True
        assert r.json()["prompt"] in ("请向左转头", "请向右转头")
        r = api.client.post(f"/api/hearings/{hearing}/face-check", headers=party, files=frames)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["match"] is True and body["admitted"] is False
        assert "转头" in body["reason"]
        assert (
            api.client.post(
                f"/api/hearings/{hearing}/face-check/challenge", headers=api.login("clerk")
            ).status_code
            == 403
        )
    finally:
        api.ctx.config = original


def test_rtc_config_gives_the_courts_ice_servers_to_logged_in_pages(api: Api) -> None:
    from web.server import parse_ice_server

    assert api.client.get("/api/rtc-config").status_code == 401
    api.ctx.ice_servers = [parse_ice_server("turn:court:secret@turn.example.org:3478")]
    try:
        r = api.client.get("/api/rtc-config", headers=api.party(api.hearings[0]))
        assert r.status_code == 200
        assert r.json() == {
            "iceServers": [
                {"urls": "turn:turn.example.org:3478", "username": "court", "credential": "secret"}
            ]
        }
    finally:
        api.ctx.ice_servers = []
    with pytest.raises(ValueError, match="TURN"):
        parse_ice_server("turn:turn.example.org@:3478")


def test_rtc_config_issues_each_caller_its_own_time_limited_turn_credential(api: Api) -> None:
    from court.access.turn_credentials import TurnService, turn_password

    api.ctx.turn = TurnService(("turn:turn.example.org:3478",), "s3cret-shared-with-coturn", ttl_seconds=3600)
    try:
        party = api.client.get("/api/rtc-config", headers=api.party(api.hearings[0])).json()
        clerk = api.client.get("/api/rtc-config", headers=api.login("clerk")).json()
    finally:
        api.ctx.turn = None
    (mine,) = party["iceServers"]
    (theirs,) = clerk["iceServers"]
    assert mine["urls"] == ["turn:turn.example.org:3478"]
    expiry, _, identity = mine["username"].partition(":")
    assert identity.startswith("party-") and 3590 < int(expiry) - time.time() <= 3600
    assert mine["credential"] == turn_password("s3cret-shared-with-coturn", mine["username"])
    assert theirs["username"].split(":", 1)[1] == "clerk-clerk" and theirs["credential"] != mine["credential"]


def test_audit_log_names_who_was_let_in(api: Api) -> None:
    from sqlalchemy import select

    from court.db.models import AuditLog

    clerk = api.login("clerk")
    assert api.client.get(f"/api/hearings/{api.hearings[0]}/events", headers=clerk).status_code == 200
    with api.ctx.sessions() as session:
        row = session.scalars(
            select(AuditLog).where(AuditLog.action.like("GET %/events")).order_by(AuditLog.id.desc())
        ).first()
    assert row is not None and row.actor == "clerk:clerk" and row.detail["status"] == 200
