"""The pages in a real browser (Debian's chromium, headless, through Playwright) against the real
server (``court serve``): a party on a phone joins by invitation, passes the face check with another
photo of the enrolled person, waits in the lobby, is admitted by the clerk after the one-click start,
connects and speaks, and the clerk's console shows the line as the applicant's; a supervisor watches
the program feed; a party cannot open another hearing; an unapproved case has no public page; a
browser without camera permission and a bad invitation get clear messages.

The tests of this module run in order and share one running hearing (starting one costs tens of
seconds on two cores)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.web.conftest import CHROMIUM, FakeMedia, LiveServer, require_chromium, wait_until

pytestmark = pytest.mark.slow

BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # Host candidates as plain addresses (not mDNS names) so the server's ICE finds the browser.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
PHONE = {"width": 360, "height": 740}
MINUTE = 60_000


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def media_args(media: FakeMedia) -> list[str]:
    return [
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={media.video}",
        f"--use-file-for-fake-audio-capture={media.audio}",
    ]


@pytest.fixture(scope="module")
def browser(playwright: Any, fake_media: FakeMedia) -> Iterator[Any]:
    """A browser whose camera and microphone play the applicant's face and voice, allowed at once."""
    b = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*BASE_ARGS, "--use-fake-ui-for-media-stream", *media_args(fake_media)],
    )
    yield b
    b.close()


class Hearing:
    """What the tests of this module share: the clerk's token, the running hearing, its pages."""

    clerk: str = ""
    hearing_id: int = 0
    applicant_id: int = 0
    clerk_page: Any = None
    party_page: Any = None


H = Hearing()


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    H.clerk = live_server.login("clerk")
    H.hearing_id = live_server.unapproved
    info = live_server.api(H.clerk, "GET", f"/api/hearings/{H.hearing_id}").json()
    H.applicant_id = next(p["id"] for p in info["participants"] if p["role"] == "applicant")
    return live_server


def invite(server: LiveServer, hearing_id: int, role: str) -> dict[str, Any]:
    info = server.api(H.clerk, "GET", f"/api/hearings/{hearing_id}").json()
    pid = next(p["id"] for p in info["participants"] if p["role"] == role)
    r = server.api(H.clerk, "POST", f"/api/hearings/{hearing_id}/invitations", json={"participant_id": pid})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def watch_console(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    return problems


# -- 1. a party joins, is admitted, speaks; the clerk sees the applicant's line ---------------------


def test_party_joins_is_admitted_speaks_and_the_clerk_sees_the_line(server: LiveServer, browser: Any) -> None:
    invitation = invite(server, H.hearing_id, "applicant")
    assert invitation["url"].endswith(f"/join?code={invitation['code']}")

    # The party, on a phone-sized screen, opens the link and passes the face check.
    party_ctx = browser.new_context(viewport=PHONE, base_url=server.url, is_mobile=True, has_touch=True)
    party = party_ctx.new_page()
    H.party_page = party
    party_errors = watch_console(party)
    party.goto(f"/join?code={invitation['code']}")
    party.wait_for_selector("#face-check:not([disabled])", timeout=30_000)
    width = party.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the join page overflows a 360 px screen ({width} px)"
    party.click("#face-check")
    result = party.wait_for_selector("#face-result[data-admitted]", state="attached", timeout=2 * MINUTE)
    assert result.get_attribute("data-admitted") == "1", result.inner_text()
    party.wait_for_selector("#step-lobby:not(.hidden)", timeout=10_000)
    assert "等候" in party.inner_text("#lobby-state")

    # The clerk logs in, starts the hearing with one click, sees the party in the lobby and admits.
    clerk_ctx = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    clerk = clerk_ctx.new_page()
    H.clerk_page = clerk
    clerk_errors = watch_console(clerk)
    clerk.goto(f"/login?hearing={H.hearing_id}")
    clerk.fill("#username", "clerk")
    clerk.fill("#password", server.passwords["clerk"])
    clerk.click("#submit")
    clerk.wait_for_url(re.compile(rf"/console\?hearing={H.hearing_id}$"), timeout=15_000)
    clerk.wait_for_selector(
        f"#lobby li[data-participant='{H.applicant_id}'][data-state='lobby']", timeout=15_000
    )
    clerk.click("#start")
    try:
        clerk.wait_for_selector("#steps li[data-step='completed'].done", timeout=3 * MINUTE)
    except Exception:
        raise AssertionError(
            f"the one-click start did not complete: {clerk.inner_text('#startup')}\n{server.output()}"
        ) from None
    for step in ("devices", "display", "recording", "attendance", "rules"):
        assert "done" in (clerk.get_attribute(f"#steps li[data-step='{step}']", "class") or ""), step
    clerk.wait_for_selector("#host[data-host='running']", timeout=15_000)
    clerk.click(f"[data-testid='admit-{H.applicant_id}']")
    clerk.wait_for_selector(
        f"#lobby li[data-participant='{H.applicant_id}'][data-state='admitted'],"
        f"#lobby li[data-participant='{H.applicant_id}'][data-state='connected']",
        timeout=15_000,
    )

    # The party is let in: their camera and microphone go up, the program comes down.
    party.wait_for_selector("#program[data-state='ok']", timeout=MINUTE)
    wait_until(party, "document.querySelector('#program-video').videoWidth > 0", timeout=MINUTE)
    clerk.wait_for_selector(
        f"#lobby li[data-participant='{H.applicant_id}'][data-state='connected']", timeout=30_000
    )

    # They speak (the fake microphone loops the sentence); recognition on two cores takes a while. The
    # party is heard from the moment they are admitted, which can fall mid-sentence: the first line
    # may be the tail of one pass of the loop, so wait for a line of a whole pass.
    expected = "工资|裁决|公司|拖欠|三万"
    try:
        wait_until(
            clerk,
            "re => [...document.querySelectorAll(\"#transcript .line[data-role='applicant'] .text\")]"
            ".some(t => new RegExp(re).test(t.innerText))",
            arg=expected,
            timeout=2 * MINUTE,
        )
    except AssertionError:
        raise AssertionError(
            f"no whole applicant line in the console; transcript: {clerk.inner_text('#transcript')!r}\n"
            f"{server.output()}"
        ) from None
    line = clerk.query_selector("#transcript .line[data-role='applicant']")
    assert line is not None and line.query_selector(".who").inner_text() == "申请人"
    # The party sees it too, live.
    party.wait_for_selector("#transcript .line[data-role='applicant']", timeout=30_000)
    assert not [p for p in party_errors if "page error" in p], party_errors
    assert not [p for p in clerk_errors if "page error" in p], clerk_errors


# -- 1b. the clerk corrects a line in place -----------------------------------------------------------


def test_clerk_corrects_a_line_in_place(server: LiveServer) -> None:
    clerk = H.clerk_page
    assert clerk is not None, "the hearing did not start (see the first test)"
    line = clerk.query_selector("#transcript .line[data-role='applicant']")
    line_id = line.get_attribute("data-id")
    line.click()  # select the line; Enter corrects it (the transcript is keyboard-driven)
    clerk.keyboard.press("Enter")
    text = line.query_selector(".text")
    text.fill("我请求裁决公司支付拖欠的工资三万六千元。")
    text.press("Enter")
    wait_until(
        clerk,
        "id => { const l = document.querySelector(`#transcript .line[data-id='${id}']`);"
        " return l && l.classList.contains('corrected'); }",
        arg=line_id,
        timeout=15_000,
    )
    lines = server.api(H.clerk, "GET", f"/api/hearings/{H.hearing_id}/transcript").json()
    corrected = next(entry for entry in lines if entry["id"] == line_id)
    assert corrected["text"] == "我请求裁决公司支付拖欠的工资三万六千元。"
    assert corrected["role_label"] == "申请人"


def test_malformed_sdp_is_400_and_a_wrong_type_422(server: LiveServer) -> None:
    path = f"/api/hearings/{H.hearing_id}/rtc"
    r = server.api(H.clerk, "POST", path, json={"sdp": "v=0 this is not sdp at all", "type": "offer"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "bad_sdp"
    r = server.api(H.clerk, "POST", path, json={"sdp": "v=0\r\n" * 5, "type": "answer"})
    assert r.status_code == 422, r.text


# -- 2. a supervisor watches -------------------------------------------------------------------------


def test_supervisor_watch_page_decodes_the_program(server: LiveServer, browser: Any) -> None:
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    try:
        page.goto(f"/login?hearing={H.hearing_id}")
        page.fill("#username", "supervisor")
        page.fill("#password", server.passwords["supervisor"])
        page.click("#submit")
        page.wait_for_url(re.compile(rf"/watch\?hearing={H.hearing_id}$"), timeout=15_000)
        wait_until(page, "document.querySelector('#program-video').videoWidth > 0", timeout=MINUTE)
        frames = page.evaluate(
            """() => new Promise((resolve) => {
                const v = document.querySelector('#program-video');
                let n = 0; const t0 = v.currentTime;
                const tick = () => { n++; v.requestVideoFrameCallback(tick); };
                v.requestVideoFrameCallback(tick);
                setTimeout(() => resolve({frames: n, advanced: v.currentTime - t0,
                                          width: v.videoWidth, height: v.videoHeight}), 3000);
            })"""
        )
        assert frames["width"] > 0 and frames["height"] > 0, frames
        assert frames["frames"] >= 5, f"the program feed does not advance: {frames}"
        assert frames["advanced"] > 1.0, frames
        assert page.inner_text("#state") in {"庭前准备", "庭审中"}
        assert page.get_attribute("#program", "data-state") == "ok"
    finally:
        context.close()


# -- 3. a party of one hearing cannot open another -----------------------------------------------------


def test_party_cannot_open_another_hearing(server: LiveServer, browser: Any) -> None:
    other = server.approved
    invitation = invite(server, H.hearing_id, "respondent_agent")
    context = browser.new_context(base_url=server.url, viewport=PHONE)
    page = context.new_page()
    try:
        r = page.request.post("/api/join", data={"code": invitation["code"]})
        assert r.status == 200, r.text()
        assert page.request.get(f"/api/hearings/{H.hearing_id}").status == 200
        refused = page.request.get(f"/api/hearings/{other}")
        assert refused.status == 403
        assert refused.json()["code"] == "other_hearing"
        assert page.request.get(f"/api/hearings/{other}/events").status == 403
        assert page.request.get(f"/api/hearings/{other}/transcript").status == 403

        page.goto(f"/watch?hearing={other}")
        page.wait_for_selector("#error:not(.hidden)", timeout=15_000)
        assert "无权访问" in page.inner_text("#error")
        assert page.is_hidden("#content")
        case_number = server.api(H.clerk, "GET", f"/api/hearings/{other}").json()["case_number"]
        assert case_number not in page.content()

        page.goto(f"/join?hearing={other}")
        page.wait_for_selector("#error:not(.hidden)", timeout=15_000)
        assert "无权访问" in page.inner_text("#error")
        assert case_number not in page.content()
    finally:
        context.close()


# -- 4. no public page for a case not approved for livestream -------------------------------------------


def test_public_page_of_an_unapproved_case_shows_nothing(server: LiveServer, browser: Any) -> None:
    case_number = server.api(H.clerk, "GET", f"/api/hearings/{H.hearing_id}").json()["case_number"]
    # The hearing is running, but the case is not approved: the clerk cannot turn the stream on ...
    r = server.api(H.clerk, "POST", f"/api/hearings/{H.hearing_id}/livestream", json={"on": True})
    assert r.status_code == 409, r.text
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    try:
        # ... and the public gets a plain "not live" that names nothing of the case.
        response = page.goto(f"/public/{H.hearing_id}")
        assert response is not None and response.status == 404
        html = page.content()
        assert page.is_visible("#not-live")
        assert case_number not in html and "video" not in html
        assert page.request.get(f"/public/{H.hearing_id}/info").json() == {"live": False}
        assert page.request.get(f"/public/{H.hearing_id}/hls/index.m3u8").status == 404
    finally:
        context.close()


# -- 5. no camera permission -------------------------------------------------------------------------


def test_without_camera_permission_the_party_is_told_how_to_allow_it(
    server: LiveServer, playwright: Any, fake_media: FakeMedia
) -> None:
    # No fake UI: nobody answers the permission prompt, and the context grants nothing.
    b = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*BASE_ARGS, *media_args(fake_media)]
    )
    try:
        invitation = invite(server, server.approved, "applicant")
        context = b.new_context(base_url=server.url, viewport=PHONE, permissions=[])
        page = context.new_page()
        page.goto(f"/join?code={invitation['code']}")
        page.wait_for_selector("#media-error:not(.hidden)", timeout=30_000)
        message = page.inner_text("#media-error")
        assert page.get_attribute("#media-error", "data-reason") == "NotAllowedError", message
        assert "允许" in message and "摄像头" in message and "重试" in message
        assert page.is_visible("#media-retry")
        assert page.is_disabled("#face-check")
        # Allowing it afterwards and pressing retry brings the camera up.
        context.grant_permissions(["camera", "microphone"])
        page.click("#media-retry")
        page.wait_for_selector("#media-error.hidden", state="attached", timeout=15_000)
        wait_until(page, "document.querySelector('#self').videoWidth > 0", timeout=15_000)
    finally:
        b.close()


# -- 6. a bad invitation ----------------------------------------------------------------------------------


def test_unknown_revoked_and_expired_invitations_get_a_clear_message(
    server: LiveServer, browser: Any
) -> None:
    context = browser.new_context(base_url=server.url, viewport=PHONE)
    page = context.new_page()
    try:
        page.goto("/join?code=ZZZZ-ZZZZ")
        page.wait_for_selector("#join-error:not(.hidden)", timeout=15_000)
        assert "邀请码无效" in page.inner_text("#join-error")
        assert page.is_visible("#step-code")

        revoked = invite(server, server.approved, "respondent_agent")
        r = server.api(H.clerk, "DELETE", f"/api/invitations/{revoked['code']}")
        assert r.status_code == 200, r.text
        page.goto(f"/join?code={revoked['code']}")
        page.wait_for_selector("#join-error:not(.hidden)", timeout=15_000)
        assert "已撤销" in page.inner_text("#join-error")

        expired = invite(server, server.approved, "applicant_agent")
        _expire(server, expired["code"])
        page.goto(f"/join?code={expired['code']}")
        page.wait_for_selector("#join-error:not(.hidden)", timeout=15_000)
        assert "已过期" in page.inner_text("#join-error")

        # Typing a code by hand works the same way.
        page.goto("/join")
        page.fill("#code", "QQQQ-QQQQ")
        page.click("#join-btn")
        page.wait_for_selector("#join-error:not(.hidden)", timeout=15_000)
        assert "邀请码无效" in page.inner_text("#join-error")
    finally:
        context.close()


def _expire(server: LiveServer, code: str) -> None:
    """Move an invitation's expiry into the past, in the server's store."""
    from sqlalchemy import update

    from court.access.hashing import code_hash
    from court.access.invitations import normalize_code
    from court.db.engine import close_store, open_store
    from court.db.models import Invitation

    sessions = open_store(server.database)
    try:
        with sessions.begin() as session:
            done = session.execute(
                update(Invitation)
                .where(Invitation.code_sha256 == code_hash(normalize_code(code) or code))
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            )
            assert done.rowcount == 1
    finally:
        close_store(sessions)
