"""The routes that reach the rest of the 笔录 (in process, no media): a party's request to correct a
line and the tribunal's decision (Art. 42); the clerk's merge, split, marks and added lines; the
locked 笔录 with each signer's state and its exports; a party's microphone and camera state; one
attendance state per person in the snapshot; a hearing that does not exist; the favicon."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from court.config import load_config
from court.core.events import EventType
from court.core.lifecycle import PendingEvent
from court.db.engine import close_store
from court.demo.seed import seed_cases
from court.host.host import HearingHost
from tests.court.helpers import write_test_config
from web.app import create_app
from web.server import build_context

PASSWORD = "correct-horse-battery"


@dataclass
class Api:
    client: TestClient
    ctx: Any
    hearing_id: int

    def login(self, username: str) -> dict[str, str]:
        r = self.client.post("/api/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.client.cookies.clear()
        return {"authorization": f"Bearer {r.json()['token']}"}

    @property
    def host(self) -> HearingHost:
        host: HearingHost = self.ctx.hosts.get(self.hearing_id)
        return host

    def pid(self, role: str) -> int:
        return next(p.id for p in self.host.hearing.participants if p.role.value == role)

    def party(self, role: str = "applicant") -> dict[str, str]:
        clerk = self.login("clerk")
        r = self.client.post(
            f"/api/hearings/{self.hearing_id}/invitations",
            json={"participant_id": self.pid(role)},
            headers=clerk,
        )
        assert r.status_code == 200, r.text
        r = self.client.post("/api/join", json={"code": r.json()["code"]})
        assert r.status_code == 200, r.text
        self.client.cookies.clear()
        return {"authorization": f"Bearer {r.json()['token']}"}

    def commit(self, pending: PendingEvent) -> None:
        self.host.timeline.append(pending.type, pending.payload)

    def url(self, tail: str) -> str:
        return f"/api/hearings/{self.hearing_id}{tail}"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("web-corrections")
    config = load_config(write_test_config(folder, model_cache, door_seconds=3))
    ctx = build_context(config, database=f"sqlite:///{folder / 'court.db'}", data=folder / "data")
    hearing_id = seed_cases(ctx.sessions, config, enrol_photos=False, progress=lambda _: None)[1]
    for username, role in (("clerk", "clerk"), ("supervisor", "supervisor")):
        ctx.accounts.create_account(username, PASSWORD, role, username)
    client = TestClient(create_app(ctx), raise_server_exceptions=True)
    api = Api(client, ctx, hearing_id)
    # A hearing in session with three recognized lines (no room: the timeline as the room writes it).
    host = api.host
    lifecycle = host.lifecycle

    def step(pending: PendingEvent) -> None:
        api.commit(pending)
        lifecycle.apply(pending.type, pending.payload)

    step(lifecycle.prepare())
    applicant = api.pid("applicant")
    host.timeline.append(
        EventType.ATTENDANCE_ABSENT,
        {"participant_id": applicant, "name": "张伟", "role": "applicant", "method": "absent"},
    )
    step(lifecycle.check_attendance([], ["张伟"]))
    step(lifecycle.announce_rules(1.0, 1.0))
    step(lifecycle.open())
    host.timeline.append(
        EventType.ATTENDANCE_PRESENT,
        {
            "participant_id": applicant,
            "name": "张伟",
            "role": "applicant",
            "method": "face",
            "note": "远程人脸核验通过",
        },
    )
    for start, text in ((10.0, "我请求裁决公司支付"), (13.0, "拖欠的工资"), (16.0, "三万元。")):
        host.timeline.append(
            EventType.UTTERANCE,
            {"role": "applicant", "participant_id": applicant, "text": text, "start": start,
             "end": start + 2, "source": f"remote-{applicant}"},
        )  # fmt: skip
    yield api
    client.close()
    close_store(ctx.sessions)


def lines(api: Api) -> list[dict[str, Any]]:
    r = api.client.get(api.url("/lines"), headers=api.login("clerk"))
    assert r.status_code == 200, r.text
    return list(r.json())


def test_the_snapshot_has_one_attendance_state_per_person(api: Api) -> None:
    r = api.client.get(api.url(""), headers=api.login("clerk"))
    rows = [a for a in r.json()["attendance"] if a["participant_id"] == api.pid("applicant")]
    assert len(rows) == 1
    assert rows[0] | {"arrived_at": None, "t": None} == rows[0] | {
        "status": "present",
        "method": "remote_face",
        "method_label": "远程人脸核验",
        "late": True,
        "arrived_at": None,
        "t": None,
    }
    assert r.json()["door"] is None


def test_a_party_asks_for_a_correction_and_the_clerk_decides(api: Api) -> None:
    party, clerk = api.party(), api.login("clerk")
    first = lines(api)[0]["id"]
    r = api.client.post(
        api.url("/corrections"),
        json={"line": first, "text": "我请求裁决公司支付拖欠的", "reason": "漏记"},
        headers=party,
    )
    assert r.status_code == 200, r.text
    request_id = r.json()["request_id"]
    # Only the tribunal decides; the party sees their own request.
    refused = api.client.post(
        api.url(f"/corrections/{request_id}/decide"), json={"accept": True}, headers=party
    )
    assert refused.status_code == 403
    mine = api.client.get(api.url("/corrections"), headers=party).json()
    assert [(m["request_id"], m["status"], m["status_label"]) for m in mine] == [
        (request_id, "pending", "待处理")
    ]
    other = api.party("applicant_agent")
    assert api.client.get(api.url("/corrections"), headers=other).json() == []
    no_reason = api.client.post(
        api.url(f"/corrections/{request_id}/decide"), json={"accept": False}, headers=clerk
    )
    assert no_reason.status_code == 409 and "理由" in no_reason.json()["detail"]
    r = api.client.post(api.url(f"/corrections/{request_id}/decide"), json={"accept": True}, headers=clerk)
    assert r.status_code == 200, r.text
    assert lines(api)[0]["text"] == "我请求裁决公司支付拖欠的" and lines(api)[0]["corrected"]
    decided = api.client.get(api.url("/corrections"), headers=clerk).json()
    assert decided[0]["status"] == "accepted" and decided[0]["text_now"] == "我请求裁决公司支付拖欠的"
    again = api.client.post(
        api.url(f"/corrections/{request_id}/decide"), json={"accept": True}, headers=clerk
    )
    assert again.status_code == 409


def test_the_clerk_merges_splits_marks_and_adds_lines(api: Api) -> None:
    clerk = api.login("clerk")
    ids = [line["id"] for line in lines(api)]
    r = api.client.post(api.url("/transcript/merge"), json={"lines": ids[1:3]}, headers=clerk)
    assert r.status_code == 200, r.text
    merged = lines(api)[1]
    assert merged["text"] == "拖欠的工资三万元。" and len(lines(api)) == 2
    r = api.client.post(api.url(f"/transcript/{merged['id']}/split"), json={"offset": 5}, headers=clerk)
    assert r.status_code == 200, r.text
    assert [line["text"] for line in lines(api)[1:]] == ["拖欠的工资", "三万元。"]
    r = api.client.post(api.url(f"/transcript/{merged['id']}/marks"), json={"mark": "待核"}, headers=clerk)
    assert r.status_code == 200, r.text
    assert lines(api)[1]["marks"] == ["待核"]
    r = api.client.delete(api.url(f"/transcript/{merged['id']}/marks/待核"), headers=clerk)
    assert r.status_code == 200 and lines(api)[1]["marks"] == []
    r = api.client.post(
        api.url("/transcript"),
        json={"role": "presiding_arbitrator", "text": "请继续。", "start": 12.5},
        headers=clerk,
    )
    assert r.status_code == 200, r.text
    assert [line["text"] for line in lines(api)][1] == "请继续。"
    bad = api.client.post(api.url(f"/transcript/{merged['id']}/marks"), json={"mark": "随便"}, headers=clerk)
    assert bad.status_code == 409
    party = api.party()
    assert (
        api.client.post(api.url("/transcript/merge"), json={"lines": ids[:2]}, headers=party).status_code
        == 403
    )
    assert api.client.get(api.url("/lines"), headers=party).status_code == 403


def test_a_party_turns_the_microphone_off_and_the_record_says_so(api: Api) -> None:
    party = api.party()
    not_in = api.client.post(api.url("/me/media"), json={"muted": True, "camera_off": False}, headers=party)
    assert not_in.status_code == 409  # not in the hearing: nobody to mute
    principal = api.ctx.accounts.authenticate(party["authorization"].removeprefix("Bearer "))
    api.host.remote_checked(
        principal.participant_id,
        admitted=True,
        similarity=0.9,
        report={"reason": "人脸核验通过", "match": True, "similarity": 0.9},
        session_id=principal.session_id,
    )
    r = api.client.post(api.url("/me/media"), json={"muted": True, "camera_off": False}, headers=party)
    assert r.status_code == 200, r.text
    event = api.host.timeline.events()[-1]
    assert event.type == EventType.REMOTE_MEDIA and event.payload["muted"] is True
    clerk = api.login("clerk")
    assert (
        api.client.post(
            api.url("/me/media"), json={"muted": True, "camera_off": True}, headers=clerk
        ).status_code
        == 403
    )


def test_after_the_close_the_clerk_sees_the_locked_bilu_its_signers_and_exports(api: Api) -> None:
    clerk = api.login("clerk")
    before = api.client.get(api.url("/bilu/review"), headers=clerk).json()
    assert before["closed"] is False and before["blocks"] == []
    lifecycle = api.host.lifecycle
    api.commit(lifecycle.close())
    assert api.client.post(api.url("/bilu/lock"), headers=clerk).status_code == 200
    review = api.client.get(api.url("/bilu/review"), headers=clerk).json()
    assert review["version"] == 1 and review["closed"] and not review["needs_lock"]
    signers = {s["role"]: s for s in review["signers"]}
    assert signers["applicant"]["state"] == "pending" and signers["applicant"]["name"] == "张伟"
    assert any("请继续。" in b["text"] for b in review["blocks"])
    for fmt, magic in (("pdf", b"%PDF"), ("docx", b"PK")):
        r = api.client.get(api.url(f"/bilu/export?format={fmt}"), headers=clerk)
        assert r.status_code == 200 and r.content.startswith(magic), r.text[:200]
        assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert api.client.get(api.url("/bilu/export?format=exe"), headers=clerk).status_code == 422
    assert api.client.get(api.url("/bilu/review"), headers=api.party()).status_code == 403


def test_a_hearing_that_does_not_exist_is_a_page_that_says_so(api: Api) -> None:
    missing = ("/console?hearing=abc", "/console?hearing=999999", "/console?hearing=", "/watch?hearing=x")
    for page in missing:
        r = api.client.get(page)
        assert r.status_code == 404 and "没有这个庭审" in r.text, page
    chooser = api.client.get("/console")  # no hearing named: the list to choose from
    assert chooser.status_code == 200 and 'id="hearings"' in chooser.text
    assert api.client.get(f"/console?hearing={api.hearing_id}").status_code == 200
    icon = api.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
