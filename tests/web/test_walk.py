"""The clerk's day and the party's phone, walked as people use them, in a real browser against the real
server: the clerk logs in and starts the room with one click; the door check lists only the in-room
parties with the time left, one passes at the simulated door and one is confirmed in person, and the
check ends by itself; the remote applicant joins on a phone, passes the face check, waits in the lobby
and is admitted; they speak and the line appears; the clerk corrects it, changes the phase, puts
evidence on screen; the party asks for a correction and the clerk decides; the clerk closes; the party
comes back on a 360 px screen, lands on the 笔录 and signs; the clerk sees the signature and exports.

It fails on any 5xx answer, any uncaught page error, and any raw event name, device id or English-only
text shown to a person. One test: the steps share one hearing (starting one costs tens of seconds)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.web.conftest import (
    CHROMIUM,
    FakeMedia,
    LiveServer,
    ServerFailed,
    face_material,
    require_chromium,
    start_live_server,
    stop_live_server,
)
from tests.web.test_browser import BASE_ARGS, media_args

pytestmark = pytest.mark.slow

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
MINUTE = 60_000
DOOR_SECONDS = 150
"""The door check's [face] timeout here: long, so ending by itself shows it did not wait it out."""

VISITOR = """
import os, sys
from pathlib import Path
import court.live.assembly as assembly

_assemble = assembly.assemble_hearing


def _with_a_visitor(*args, **kwargs):
    # The respondent's agent walks up to the simulated door a few seconds after the start.
    assembled = _assemble(*args, **kwargs)
    if assembled.simulated is not None:
        from court.demo.face_material import portrait

        folder = Path(os.environ["COURT_WALK_FACES"])
        now = assembled.session.clock.now()
        assembled.simulated.face_terminal.arrive(
            portrait(folder, "biden.jpg", zoom=2.1), at_t=now + 6.0, duration=60.0
        )
    return assembled


assembly.assemble_hearing = _with_a_visitor
from court.cli.main import main

sys.exit(main(sys.argv[1:]))
"""

ALLOWED_LATIN = {"DOCX", "PDF", "SHA", "Alt", "Esc"}

SHOWN_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || ["SCRIPT", "STYLE", "OPTION"].includes(p.tagName)) continue;
    if (p.closest("[hidden], .hidden, .code, #invitation-url, details:not([open]) > :not(summary)")) continue;
    if (!p.getClientRects().length) continue;
    const text = n.textContent.trim();
    if (text) out.push(text);
  }
  for (const o of document.querySelectorAll("select")) {
    if (o.getClientRects().length && o.selectedOptions[0]) out.push(o.selectedOptions[0].textContent.trim());
  }
  return out;
}"""


def machine_text(page: Any) -> list[str]:
    """What a person sees that is not for people: raw event names, ids, English words."""
    bad = []
    for shown in page.evaluate(SHOWN_TEXT):
        text = re.sub(r"[0-9a-f]{16,}", "", shown)  # a hash is for people to compare
        if re.search(r"\b[a-z]+\.[a-z_]+\b", text) or re.search(r"\b(mic|cam)-[a-z]", text):
            bad.append(shown)
            continue
        words = [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in ALLOWED_LATIN]
        if words:
            bad.append(shown)
    return bad


class Watch:
    """A page's uncaught errors and the server's 5xx answers to it."""

    def __init__(self, page: Any, name: str) -> None:
        self.name = name
        self.problems: list[str] = []
        page.on("pageerror", lambda exc: self.problems.append(f"{name}: page error: {exc}"))
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"{name}: {r.status} {r.request.method} {r.url}")
                if r.status >= 500
                else None
            ),
        )


def wait(page: Any, selector: str, server: LiveServer, timeout: float = 15_000) -> Any:
    """``page.wait_for_selector``; on a timeout, what the page and the server said."""
    try:
        return page.wait_for_selector(selector, timeout=timeout)
    except Exception:
        said = page.evaluate(
            "() => [...document.querySelectorAll('.error:not(.hidden), #status')].map(e => e.innerText)"
        )
        raise AssertionError(
            f"{selector!r} did not come on {page.url}: {said}\n{server.output()[-6000:]}"
        ) from None


def start_walk_server(folder: Path, model_cache: Path) -> LiveServer:
    """``court serve`` (conftest's) whose simulated door sees the respondent's agent arrive."""
    faces = face_material(model_cache)
    return start_live_server(
        folder,
        model_cache,
        door_seconds=DOOR_SECONDS,
        program=VISITOR,
        env={"COURT_WALK_FACES": str(faces.resolve())},
    )


@pytest.fixture(scope="module")
def walk_server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    try:
        server = start_walk_server(tmp_path_factory.mktemp("walk-server"), model_cache)
    except ServerFailed as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        stop_live_server(server)


@pytest.fixture(scope="module")
def walk_browser(fake_media: FakeMedia) -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*BASE_ARGS, "--use-fake-ui-for-media-stream", *media_args(fake_media)],
        )
        yield browser
        browser.close()


def shot(page: Any, name: str) -> None:
    """A screenshot for a person to look at, when ``COURT_WALK_SHOTS`` names a folder."""
    folder = os.environ.get("COURT_WALK_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def evidence_png(path: Path) -> Path:
    import cv2

    image = np.full((240, 320, 3), 245, np.uint8)
    cv2.rectangle(image, (20, 20), (300, 220), (60, 60, 160), 4)
    cv2.imwrite(str(path), image)
    return path


def fits_and_opens_on_the_bilu(page: Any) -> None:
    """The party's page after the close: the 笔录 first, nothing wider than the screen, no camera."""
    assert page.is_hidden("#step-media") and page.is_hidden("#step-evidence")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SMALL_PHONE["width"], f"the signing page overflows a 360 px screen ({width} px)"
    top = page.locator("[data-testid='bilu']").bounding_box()
    assert top and top["y"] < 400, "the 笔录 is not what the returning party sees first"


def test_the_clerks_day_and_the_partys_phone(
    walk_server: LiveServer, walk_browser: Any, tmp_path: Path
) -> None:
    server = walk_server
    hid = server.unapproved
    clerk_token = server.login("clerk")
    info = server.api(clerk_token, "GET", f"/api/hearings/{hid}").json()
    ids = {p["role"]: p["id"] for p in info["participants"]}
    applicant, agent, respondent_agent = ids["applicant"], ids["applicant_agent"], ids["respondent_agent"]
    watches: list[Watch] = []
    began = time.monotonic()

    def clean(page: Any, where: str) -> None:
        bad = machine_text(page)
        assert not bad, f"{where}: text not for people: {bad}"

    # -- a hearing that does not exist, and the favicon -----------------------------------------------
    with httpx.Client(base_url=server.url) as c:
        assert c.get("/favicon.ico").status_code == 200
        missing = c.get("/console?hearing=abc")
        assert missing.status_code == 404 and "没有这个庭审" in missing.text

    # -- the clerk logs in at the console --------------------------------------------------------------
    clerk_ctx = walk_browser.new_context(base_url=server.url, viewport=DESKTOP, accept_downloads=True)
    clerk = clerk_ctx.new_page()
    watches.append(Watch(clerk, "console"))
    offers: list[str] = []
    clerk.on("request", lambda r: offers.append(r.url) if r.url.endswith("/rtc") else None)
    clerk.goto(f"/login?hearing={hid}")
    clerk.fill("#username", "clerk")
    clerk.fill("#password", server.passwords["clerk"])
    clerk.click("#submit")
    clerk.wait_for_url(re.compile(rf"/console\?hearing={hid}$"), timeout=15_000)
    wait(clerk, "#status:has-text('尚未开始')", server, timeout=15_000)
    clerk.wait_for_timeout(3500)
    assert not offers, "the idle console asks for the program before the start"
    clean(clerk, "idle console")

    # -- one-click start; the door check: in-room parties only, time left, ends by itself -------------
    clerk.click("#start")
    wait(clerk, "[data-testid='door-left']", server, timeout=2 * MINUTE)
    expected = clerk.locator("[data-testid='door-expected'] li[data-participant]")
    shown = {int(x) for x in expected.evaluate_all("els => els.map(e => e.dataset.participant)")}
    assert shown == {agent, respondent_agent}, f"the door check lists {shown}"
    assert re.fullmatch(r"\d\d:\d\d", clerk.inner_text("[data-testid='door-left']"))
    shot(clerk, "01-door-check")
    clerk.click(f"[data-testid='confirm-{agent}']")
    clerk.fill(f"[data-testid='confirm-reason-{agent}']", "当面核对身份证件，证件照光线过暗")
    clerk.click(f"[data-testid='confirm-yes-{agent}']")
    try:
        wait(clerk, "#steps li[data-step='completed'].done", server, timeout=2 * MINUTE)
    except Exception:
        startup = clerk.inner_text("#startup")
        raise AssertionError(f"the start did not complete: {startup}\n{server.output()}") from None
    assert time.monotonic() - began < DOOR_SECONDS, "the door check waited out its timeout"
    wait(clerk, "#host[data-host='running']", server, timeout=15_000)
    rows = clerk.locator("#attendance li[data-participant]")
    state = {
        int(r["participant"]): (r["status"], r["method"])
        for r in rows.evaluate_all("els => els.map(e => ({...e.dataset}))")
    }
    assert state == {
        applicant: ("absent", "absent"),
        agent: ("present", "clerk"),
        respondent_agent: ("present", "door_face"),
    }, state
    assert "证件照光线过暗" in clerk.inner_text(f"#attendance li[data-participant='{agent}']")
    clean(clerk, "console after the start")

    # -- the remote applicant joins on a phone -------------------------------------------------------------
    clerk.click("details:has(#invite-list) > summary")  # "发送邀请"
    clerk.click(f"[data-testid='invite-{applicant}']")
    url = clerk.get_attribute("#invitation-url", "href")
    assert url
    party_ctx = walk_browser.new_context(base_url=server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    party = party_ctx.new_page()
    watches.append(Watch(party, "phone"))
    party.goto(url)
    wait(party, "#face-check:not([disabled])", server, timeout=30_000)
    party.click("#face-check")
    result = party.wait_for_selector("#face-result[data-admitted]", state="attached", timeout=2 * MINUTE)
    assert result.get_attribute("data-admitted") == "1", result.inner_text()
    wait(party, "#step-lobby:not(.hidden)", server, timeout=10_000)
    clean(party, "lobby")
    clerk.click(f"[data-testid='admit-{applicant}']")
    wait(party, "#program[data-state='ok']", server, timeout=MINUTE)
    assert party.is_visible("[data-testid='self-view']")
    for control in ("mic-toggle", "cam-toggle", "leave"):
        assert party.is_visible(f"[data-testid='{control}']"), control
    video = party.locator("#program").bounding_box()
    assert video and video["width"] >= PHONE["width"] - 24, f"the hearing's picture is small: {video}"
    clerk.wait_for_selector(
        f"#attendance li[data-participant='{applicant}'][data-method='remote_face']", timeout=30_000
    )
    clerk.click("#open")
    wait(clerk, "#state[data-state='in_session']", server, timeout=15_000)
    shot(party, "02-phone-in-hearing")

    # -- the party speaks; the clerk corrects the line from the keyboard ------------------------------------
    try:
        line = wait(clerk, "#transcript .line[data-role='applicant']", server, timeout=2 * MINUTE)
    except Exception:
        lines = clerk.inner_text("#transcript")
        raise AssertionError(f"no applicant line: {lines!r}\n{server.output()}") from None
    line_id = line.get_attribute("data-id")
    assert re.fullmatch(r"\d\d:\d\d:\d\d", line.query_selector(".when").inner_text()), "not a Beijing time"
    line.click()
    clerk.keyboard.press("Enter")
    text = clerk.locator(f"#transcript .line[data-id='{line_id}'] .text")
    text.fill("我请求裁决公司支付拖欠的工资三万六千元")
    text.press("Enter")
    wait(clerk, f"#transcript .line[data-id='{line_id}'].corrected", server, timeout=15_000)
    # Saving moved the selection on to the next line (if one came meanwhile): select this one again.
    clerk.locator(f"#transcript .line[data-id='{line_id}'] .when").click()
    clerk.select_option("#t-mark", "待核")  # a mark from the toolbar, on the selected line
    wait(clerk, f"#transcript .line[data-id='{line_id}'] .mark:has-text('待核')", server)
    shot(clerk, "03-console-in-session")

    # -- the clerk adds a line after it (A), splits it at the caret (Alt+Enter), merges it back (M) --------
    clerk.locator(f"#transcript .line[data-id='{line_id}'] .when").click()
    clerk.keyboard.press("a")
    clerk.fill("#add-text", "申请人当庭出示了工资条原件")
    clerk.press("#add-text", "Enter")
    added = wait(clerk, "#transcript .line:has-text('当庭出示了工资条原件')", server, timeout=15_000)
    added_id = added.get_attribute("data-id")
    assert added_id != line_id
    clerk.locator(f"#transcript .line[data-id='{added_id}'] .when").click()
    clerk.keyboard.press("Enter")  # edit the selected line, the caret at its end
    for _ in range(len("出示了工资条原件")):
        clerk.keyboard.press("ArrowLeft")
    clerk.keyboard.press("Alt+Enter")
    wait(clerk, "#transcript .line .text:text-is('申请人当庭')", server, timeout=15_000)
    wait(clerk, "#transcript .line .text:text-is('出示了工资条原件')", server, timeout=15_000)
    first = clerk.locator("#transcript .line:has(.text:text-is('申请人当庭'))")
    first.locator(".when").click()
    clerk.keyboard.press("m")
    wait(clerk, "#transcript .line .text:text-is('申请人当庭出示了工资条原件')", server, timeout=15_000)
    assert clerk.locator("#transcript .line .text:text-is('出示了工资条原件')").count() == 0

    # -- the party mutes: the clerk sees it, the log says so ------------------------------------------------
    party.click("[data-testid='mic-toggle']")  # and stays muted: nothing more to transcribe
    wait(clerk, f"[data-testid='muted-{applicant}']:has-text('已静音')", server, timeout=15_000)
    wait(clerk, "#log li:has-text('关闭了麦克风')", server, timeout=15_000)
    party.click("[data-testid='leave']")
    party.click("[data-testid='leave']")  # "确认离开？"
    wait(party, "[data-testid='left']:not(.hidden)", server)
    wait(clerk, f"#lobby li[data-participant='{applicant}'][data-state='left']", server)
    party.click("#rejoin")
    wait(party, "#program[data-state='ok']", server, timeout=MINUTE)
    wait(clerk, f"#lobby li[data-participant='{applicant}'][data-state='connected']", server, timeout=30_000)

    # -- the clerk removes the party from the hearing (请出庭审), then admits them again -------------------
    clerk.click(f"[data-testid='remove-{applicant}']")
    clerk.click(f"[data-testid='reject-yes-{applicant}']")
    wait(
        clerk,
        f"#lobby li[data-participant='{applicant}'][data-state='rejected']:has-text('已请出庭审')",
        server,
    )
    wait(party, "#lobby-state:has-text('书记员已将您请出庭审')", server, timeout=30_000)
    wait(clerk, "#log li:has-text('被书记员请出庭审：扰乱庭审秩序')", server, timeout=15_000)
    clerk.click(f"[data-testid='admit-{applicant}']")
    wait(party, "#program[data-state='ok']", server, timeout=MINUTE)
    wait(clerk, f"#lobby li[data-participant='{applicant}'][data-state='connected']", server, timeout=30_000)

    # -- phase; evidence on screen ---------------------------------------------------------------------------
    clerk.select_option("#phase-select", "evidence")
    clerk.click("#phase-go")
    wait(clerk, "#phase:has-text('举证质证')", server, timeout=15_000)
    party.set_input_files("#evidence-file", str(evidence_png(tmp_path / "合同.png")))
    party.fill("#evidence-title", "劳动合同")
    party.click("#evidence-upload")
    wait(party, "#evidence-ok:not(.hidden)", server, timeout=30_000)
    wait(clerk, "#evidence li[data-evidence] button.present:not([disabled])", server, timeout=15_000)
    clerk.click("#evidence li[data-evidence] button.present")
    wait(party, "[data-testid='presented']:not(.hidden)", server, timeout=30_000)
    assert party.inner_text("[data-testid='presented-title']") == "劳动合同"

    # -- the party asks for a correction; the clerk decides --------------------------------------------------
    party.click("#correction-details > summary")
    party.wait_for_selector("#corr-line option:nth-child(2)", state="attached", timeout=15_000)
    party.select_option("#corr-line", line_id)
    party.fill("#corr-text", "我请求裁决公司支付拖欠的工资三万六千元整")
    party.fill("#corr-reason", "金额后面说了“整”")
    party.click("[data-testid='corr-send']")
    wait(party, "#corr-list li[data-status='pending']", server, timeout=15_000)
    wait(clerk, "#requests li[data-status='pending']", server, timeout=15_000)
    clean(clerk, "console with a request")
    clerk.click("#requests li[data-status='pending'] button.primary")
    wait(clerk, "#requests li[data-status='accepted']", server, timeout=15_000)
    fixed = f"#transcript .line[data-id='{line_id}'] .text:has-text('三万六千元整')"
    wait(clerk, fixed, server, timeout=15_000)
    wait(party, "#corr-list li[data-status='accepted']", server, timeout=15_000)
    clean(party, "phone in the hearing")

    # -- close: the console shows the locked 笔录, who has signed, the exports -------------------------------
    clerk.click("#close")
    clerk.click("#close-yes")
    wait(clerk, "[data-testid='bilu-review']:not(.hidden)", server, timeout=3 * MINUTE)
    signer = f"#signers li[data-participant='{applicant}']"
    wait(clerk, f"{signer}[data-state='pending']", server, timeout=15_000)
    assert "三万六千元整" in clerk.inner_text("#bilu-doc")
    assert "已闭庭" in clerk.inner_text("#status")
    wait(clerk, "#program[data-state='idle']", server)
    shot(clerk, "04-console-closed")
    clean(clerk, "console after the close")

    # -- the phone turns to the 笔录 at the close; back on a 360 px screen it opens on it -------------------
    wait(party, "[data-testid='bilu']:not(.hidden)", server, timeout=30_000)
    party.set_viewport_size(SMALL_PHONE)
    party.goto(f"/join?hearing={hid}")
    wait(party, "[data-testid='bilu']:not(.hidden)", server, timeout=30_000)
    fits_and_opens_on_the_bilu(party)
    clean(party, "signing page")
    shot(party, "05-phone-sign")

    # -- signed from a new session (a new invitation): the face check first, then the signature -----------
    again = server.api(
        clerk_token, "POST", f"/api/hearings/{hid}/invitations", json={"participant_id": applicant}
    )
    assert again.status_code == 200, again.text
    phone_ctx = walk_browser.new_context(
        base_url=server.url, viewport=SMALL_PHONE, is_mobile=True, has_touch=True
    )
    phone = phone_ctx.new_page()
    watches.append(Watch(phone, "phone (new session)"))
    phone.goto(again.json()["url"])
    wait(phone, "[data-testid='bilu']:not(.hidden) [data-testid='sign']", server, timeout=30_000)
    fits_and_opens_on_the_bilu(phone)
    phone.click("[data-testid='sign']")
    wait(phone, "[data-testid='bilu-done']:not(.hidden), #step-media:not(.hidden)", server, timeout=30_000)
    if phone.is_visible("#step-media"):  # the court asks for a face check in this session first
        wait(phone, "#face-check:not([disabled])", server, timeout=30_000)
        clean(phone, "face check before signing")
        shot(phone, "06-phone-face-check-to-sign")
        phone.click("#face-check")
    wait(phone, "[data-testid='bilu-done']:not(.hidden)", server, timeout=2 * MINUTE)
    assert "签名" in phone.inner_text("[data-testid='bilu-done']")
    clean(phone, "signed")

    # -- the clerk sees the signature and exports ------------------------------------------------------------
    wait(clerk, f"{signer}[data-state='signed']", server, timeout=30_000)
    with clerk.expect_download(timeout=MINUTE) as pdf:
        clerk.click("[data-testid='export-pdf']")
    assert pdf.value.suggested_filename.endswith(".pdf")
    assert Path(pdf.value.path()).read_bytes()[:4] == b"%PDF"
    docx = clerk.request.get(clerk.get_attribute("[data-testid='export-docx']", "href"))
    assert docx.status == 200 and docx.body()[:2] == b"PK"
    shot(clerk, "07-console-signed")
    clean(clerk, "console at the end")

    # -- a supervisor sees what state the hearing is in ------------------------------------------------------
    watch_ctx = walk_browser.new_context(base_url=server.url, viewport=DESKTOP)
    watcher = watch_ctx.new_page()
    watches.append(Watch(watcher, "watch"))
    watcher.goto(f"/login?hearing={hid}")
    watcher.fill("#username", "supervisor")
    watcher.fill("#password", server.passwords["supervisor"])
    watcher.click("#submit")
    wait(watcher, "#status:has-text('已闭庭')", server, timeout=15_000)
    wait(watcher, "#program[data-state='idle']", server, timeout=15_000)
    clean(watcher, "watch page")

    problems = [p for w in watches for p in w.problems]
    assert not problems, problems
    for context in (clerk_ctx, party_ctx, phone_ctx, watch_ctx):
        context.close()
