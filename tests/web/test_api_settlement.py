"""The mediation settlement (调解协议) through the HTTP API in process: who may draft, read and sign
it, and a settlement drafted, signed by every party and concluded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from court.core.events import EventType
from tests.web.support import api_in_process
from tests.web.test_api import Api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    with api_in_process(tmp_path_factory.mktemp("web-api-settlement"), model_cache) as api:
        yield api


# -- the mediation settlement (调解协议) -------------------------------------------------------------------

SETTLEMENT = "一、被申请人于本协议签订之日起十日内支付申请人工资人民币三万元；\n二、双方就本案再无其他争议。"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/settlement", None),
        ("POST", "/settlement", {"text": "协议"}),
        ("POST", "/settlement/sign", {"sha256": "0" * 64, "agree": True}),
    ],
)
def test_settlement_without_a_session_is_401(api: Api, method: str, path: str, body: Any) -> None:
    api.client.cookies.clear()
    r = api.client.request(method, f"/api/hearings/{api.hearings[1]}{path}", json=body)
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "no_session"


def test_settlement_routes_by_role(api: Api) -> None:
    hearing, other = api.hearings[1], api.hearings[0]
    base = f"/api/hearings/{hearing}/settlement"
    party = api.party(hearing, "respondent_agent")
    # Viewers: nothing of the settlement.
    for viewer in ("observer", "supervisor"):
        headers = api.login(viewer)
        r = api.client.get(base, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "viewer_read_only", r.text
        assert api.client.post(base, json={"text": "x"}, headers=headers).status_code == 403
        r = api.client.post(f"{base}/sign", json={"sha256": "0" * 64}, headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "party_only"
    # A party reads but does not draft; another hearing's party sees nothing.
    assert api.client.get(base, headers=party).status_code == 200
    r = api.client.post(base, json={"text": SETTLEMENT}, headers=party)
    assert r.status_code == 403 and r.json()["code"] == "staff_only"
    r = api.client.get(f"/api/hearings/{other}/settlement", headers=party)
    assert r.status_code == 403 and r.json()["code"] == "other_hearing"
    # Staff draft; staff do not sign.
    for staff in ("clerk", "arbitrator"):
        r = api.client.post(base, json={"text": f"{SETTLEMENT}（{staff}）"}, headers=api.login(staff))
        assert r.status_code == 200, r.text
        assert r.json()["drafted_by"] == f"{staff}:{staff}"
    r = api.client.post(f"{base}/sign", json={"sha256": "0" * 64}, headers=api.login("clerk"))
    assert r.status_code == 403 and r.json()["code"] == "party_only"
    r = api.client.post(base, json={"text": "  "}, headers=api.login("clerk"))
    assert r.status_code == 400 and r.json()["code"] == "empty_text"
    current = api.client.get(base, headers=party).json()
    assert current["version"] >= 2 and current["text"].endswith("（arbitrator）")


def test_settlement_drafted_signed_and_concluded_through_the_api(api: Api) -> None:
    hearing = api.hearings[0]
    base = f"/api/hearings/{hearing}/settlement"
    clerk = api.login("clerk")
    parties = {
        role: api.party(hearing, role)
        for role in ("applicant", "applicant_agent", "respondent_agent")  # the seeded parties
    }
    empty = api.client.get(base, headers=parties["applicant"]).json()
    assert empty["version"] is None and empty["sha256"] is None
    r = api.client.post(f"{base}/sign", json={"sha256": "0" * 64}, headers=parties["applicant"])
    assert r.status_code == 409 and r.json()["code"] == "no_settlement"

    first = api.client.post(base, json={"text": SETTLEMENT + "（初稿）"}, headers=clerk).json()
    assert first["version"] == 1 and first["kind"] == "hearing"
    # Agreeing needs the party's face, checked in this session: a code or a session alone is not them.
    r = api.client.post(f"{base}/sign", json={"sha256": first["sha256"]}, headers=parties["applicant"])
    assert r.status_code == 403 and r.json()["code"] == "face_check_required"
    assert "人脸核验" in r.json()["detail"]
    for headers in parties.values():
        api.face_checked(hearing, headers)
    signed = api.client.post(
        f"{base}/sign", json={"sha256": first["sha256"], "agree": True}, headers=parties["applicant"]
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["refused"] is False and signed.json()["concluded"] is False

    # A new text: the old signature lapses, the old hash is refused.
    second = api.client.post(base, json={"text": SETTLEMENT}, headers=api.login("arbitrator")).json()
    assert second["version"] == 2 and second["signatures"] == []
    r = api.client.post(f"{base}/sign", json={"sha256": first["sha256"]}, headers=parties["applicant"])
    assert r.status_code == 409 and r.json()["code"] == "stale_version"
    assert "不是当前版本" in r.json()["detail"]
    # Declining needs a reason.
    r = api.client.post(
        f"{base}/sign", json={"sha256": second["sha256"], "agree": False}, headers=parties["respondent_agent"]
    )
    assert r.status_code == 400 and r.json()["code"] == "reason_required"

    for n, (role, headers) in enumerate(parties.items(), start=1):
        r = api.client.post(f"{base}/sign", json={"sha256": second["sha256"], "agree": True}, headers=headers)
        assert r.status_code == 200, (role, r.text)
        assert r.json()["concluded"] is (n == len(parties))
    r = api.client.post(
        f"{base}/sign", json={"sha256": second["sha256"]}, headers=parties["respondent_agent"]
    )
    assert r.status_code == 409 and r.json()["code"] == "already_signed"

    final = api.client.get(base, headers=clerk).json()
    assert final["concluded"] is True and final["text"] == SETTLEMENT
    assert {s["role"] for s in final["signatures"]} == set(parties)
    assert not any(s["refused"] for s in final["signatures"])
    r = api.client.post(base, json={"text": "改"}, headers=clerk)
    assert r.status_code == 409 and r.json()["code"] == "concluded"
    events = api.client.get(f"/api/hearings/{hearing}/events", headers=clerk).json()
    kinds = [e["type"] for e in events if e["type"].startswith("settlement.")]
    assert kinds.count(EventType.SETTLEMENT_DRAFTED) == 2 and kinds[-1] == EventType.SETTLEMENT_CONCLUDED
    assert kinds.count(EventType.SETTLEMENT_SIGNED) == 1 + len(parties)


def test_settlement_routes_are_in_openapi(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/hearings/{hearing_id}/settlement"])
    assert "post" in paths["/api/hearings/{hearing_id}/settlement/sign"]
