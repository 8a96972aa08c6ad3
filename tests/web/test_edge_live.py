"""An institute's edge against the real server (``court serve`` with ``--stream-url`` and
``--turn``), nginx and coturn started from the project's templates:

- every party gets a fresh, time-limited TURN credential from the app, which coturn accepts;
- the approved public hearing's stream is pushed to nginx and viewers fetch it there with the link
  the app signed; without it (or for the hearing that is not approved) nginx answers 403 for the
  playlist and for a segment, and the app serves no viewer's segment itself;
- the public page plays it from nginx in a real browser (hls.js under the app's CSP);
- a party whose browser may only use relays (``iceTransportPolicy: "relay"``) joins through coturn:
  the selected candidate pair is a relay pair, and what they say reaches the transcript;
- the kill switch takes the stream off nginx.

The tests of this module run in order and share one running hearing."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import (
    CHROMIUM,
    FakeMedia,
    LiveServer,
    ServerFailed,
    require_chromium,
    start_live_server,
    stop_live_server,
    wait_until,
)
from tests.web.edge_services import StreamServer, TurnServer, start_stream_server, start_turn_server, stop
from tests.web.test_turn_server import allocate

pytestmark = pytest.mark.slow

MINUTE = 60_000


def outward_ip() -> str:
    """This machine's address on its network: Chromium gathers no candidate on loopback, so the
    TURN server and the court's ICE meet the browser there."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True
    )
    for line in out.stdout.splitlines():
        fields = line.split()
        if "inet" in fields:
            return fields[fields.index("inet") + 1].split("/")[0]
    raise AssertionError(f"no IPv4 address besides loopback for the TURN test:\n{out.stdout}{out.stderr}")


class Edge:
    stream: StreamServer
    turn: TurnServer
    server: LiveServer
    clerk: str = ""
    hearing: int = 0


E = Edge()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Edge]:
    folder = tmp_path_factory.mktemp("edge")
    E.stream = start_stream_server(folder / "nginx")
    try:
        E.turn = start_turn_server(folder / "coturn", listen_ip=outward_ip())
    except BaseException:
        stop(E.stream.process)
        raise
    args = (
        *("--relay-url", E.stream.ingest, "--stream-url", E.stream.public),
        *("--stream-secret-file", str(E.stream.site.var / "stream.secret")),
        *("--turn", E.turn.url, "--turn-secret-file", str(E.turn.site.var / "turn.secret")),
        *("--turn-ttl", "600"),
    )
    (folder / "server").mkdir()
    try:
        E.server = start_live_server(folder / "server", model_cache, args=args)
    except BaseException as exc:
        stop(E.stream.process)
        stop(E.turn.process)
        if isinstance(exc, ServerFailed):
            pytest.fail(str(exc))
        raise
    E.clerk = E.server.login("clerk")
    E.hearing = E.server.approved
    try:
        yield E
    finally:
        stop_live_server(E.server)
        stop(E.stream.process)
        stop(E.turn.process)


def test_each_party_gets_a_time_limited_turn_credential(edge: Edge) -> None:
    with edge.server.client() as anonymous:
        assert anonymous.get("/api/rtc-config").status_code == 401
    token = edge.server.login("observer")
    config = edge.server.api(token, "GET", "/api/rtc-config").json()
    (turn,) = [s for s in config["iceServers"] if s["urls"] == [edge.turn.url]]
    expiry, _, identity = turn["username"].partition(":")
    assert identity == "observer-observer" and 590 < int(expiry) - time.time() <= 600
    asyncio.run(allocate(edge.turn, turn["username"], turn["credential"]))
    # No page carries a credential or the secret: they come from the API as a page connects.
    with edge.server.client() as browser:
        for page in ("/join", "/watch", "/static/common.js", "/static/join.js"):
            body = browser.get(page).text
            assert edge.turn.site.secret not in body and 'credential":' not in body


def test_the_public_stream_is_served_by_nginx_to_signed_viewers_only(edge: Edge) -> None:
    server, hid = edge.server, edge.hearing
    r = server.api(edge.clerk, "POST", f"/api/hearings/{hid}/start")
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 180
    while server.api(edge.clerk, "GET", f"/api/hearings/{hid}").json().get("host") != "running":
        assert time.monotonic() < deadline, f"the hearing did not start\n{server.output()}"
        time.sleep(0.5)
    r = server.api(edge.clerk, "POST", f"/api/hearings/{hid}/livestream", json={"on": True})
    assert r.status_code == 200, r.text

    with httpx.Client(base_url=server.url, timeout=30) as app, httpx.Client(timeout=30) as viewer:
        deadline = time.monotonic() + 90
        while not (info := app.get(f"/public/{hid}/info").json()).get("ready"):
            assert info["live"], info
            assert time.monotonic() < deadline, f"the stream never reached nginx\n{server.output()}"
            time.sleep(0.5)
        url = info["hls_url"]
        assert url.startswith(f"{edge.stream.public}/") and url.endswith(f"/hearing-{hid}/index.m3u8")
        # The public page may fetch from nginx, and only there besides itself.
        csp = app.get(f"/public/{hid}").headers["content-security-policy"]
        assert f"connect-src 'self' http://{edge.stream.site.public_listen}" in csp

        playlist = viewer.get(url)
        assert playlist.status_code == 200, playlist.text
        segment = next(n for n in playlist.text.splitlines() if n and not n.startswith("#"))
        media = viewer.get(url.replace("index.m3u8", segment))
        assert media.status_code == 200 and media.content[:1] == b"\x47"  # MPEG-TS sync byte
        # The app serves no viewer's media itself.
        assert app.get(f"/public/{hid}/hls/index.m3u8").status_code == 404
        assert app.get(f"/public/{hid}/hls/{segment}").status_code == 404

        # Without the app's link nginx refuses, for the playlist and for a segment.
        token, expires = url.split("/")[-4:-2]
        for base in (
            f"{edge.stream.public}/hearing-{hid}",
            f"{edge.stream.public}/{token}/{int(expires) + 60}/hearing-{hid}",
            f"{edge.stream.public}/{token}/{expires}/hearing-{server.unapproved}",
        ):
            for name in ("index.m3u8", segment):
                assert viewer.get(f"{base}/{name}").status_code == 403, (base, name)
        # The case not approved for a livestream gets no link at all.
        assert app.get(f"/public/{server.unapproved}/info").json() == {"live": False}


def test_the_public_page_plays_from_nginx_in_a_browser(edge: Edge) -> None:
    """hls.js in Debian's chromium, under the app's Content-Security-Policy, plays the signed stream
    from nginx (another origin); not one playlist or segment request goes to the app."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import BASE_ARGS

    server, hid = edge.server, edge.hearing
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BASE_ARGS)
        try:
            page = browser.new_page(base_url=server.url)
            requests: list[str] = []
            problems: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(f"/public/{hid}")
            try:
                wait_until(page, "document.querySelector('#live').currentTime > 2", timeout=MINUTE)
            except AssertionError:
                raise AssertionError(f"not playing: {problems}; {requests[-10:]}") from None
            assert page.text_content("#live-state") == "直播中"
        finally:
            browser.close()
    media = [u for u in requests if u.endswith((".m3u8", ".ts"))]
    assert media and all(u.startswith(f"{edge.stream.public}/") for u in media), media
    assert not problems, problems


def test_a_relay_only_party_joins_through_coturn_and_is_heard(
    edge: Edge, fake_media: FakeMedia, tmp_path: Path
) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import BASE_ARGS, PHONE, media_args

    server, hid = edge.server, edge.hearing
    info = server.api(edge.clerk, "GET", f"/api/hearings/{hid}").json()
    applicant = next(p["id"] for p in info["participants"] if p["role"] == "applicant")
    r = server.api(edge.clerk, "POST", f"/api/hearings/{hid}/invitations", json={"participant_id": applicant})
    assert r.status_code == 200, r.text
    code = r.json()["code"]

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*BASE_ARGS, "--use-fake-ui-for-media-stream", *media_args(fake_media)],
        )
        try:
            context = browser.new_context(viewport=PHONE, base_url=server.url, is_mobile=True, has_touch=True)
            # A party behind a strict firewall: only relayed candidates, with what the court issued.
            context.add_init_script(RELAY_ONLY)
            party = context.new_page()
            party.goto(f"/join?code={code}")
            party.wait_for_selector("#face-check:not([disabled])", timeout=30_000)
            party.click("#face-check")
            result = party.wait_for_selector(
                "#face-result[data-admitted]", state="attached", timeout=2 * MINUTE
            )
            assert result.get_attribute("data-admitted") == "1", result.inner_text()
            party.wait_for_selector("#step-lobby:not(.hidden)", timeout=10_000)
            r = server.api(edge.clerk, "POST", f"/api/hearings/{hid}/remote/{applicant}/admit")
            assert r.status_code == 200, r.text
            party.wait_for_selector("#program[data-state='ok']", timeout=MINUTE)
            pair = party.evaluate(SELECTED_PAIR)
            assert pair is not None, "no selected candidate pair"
            assert pair["local"] == "relay", pair
            assert pair["config"]["iceTransportPolicy"] == "relay"
            assert any(edge.turn.url in s["urls"] for s in pair["config"]["iceServers"]), pair
            # coturn relayed it for this party, on the credential the app issued to it.
            log = (edge.turn.site.var / "turnserver.log").read_text(errors="replace")
            assert any(
                f":party-{applicant}>" in line and "ALLOCATE processed, success" in line
                for line in log.splitlines()
            ), log[-2000:]

            expected = ("工资", "裁决", "公司", "拖欠", "三万")
            deadline = time.monotonic() + 150
            while True:
                lines = server.api(edge.clerk, "GET", f"/api/hearings/{hid}/transcript").json()
                heard = [ln["text"] for ln in lines if ln["role"] == "applicant"]
                if any(word in text for text in heard for word in expected):
                    break
                assert time.monotonic() < deadline, f"the party was not heard: {heard}\n{server.output()}"
                time.sleep(1)
            assert party.evaluate(SELECTED_PAIR)["local"] == "relay"
        finally:
            browser.close()


RELAY_ONLY = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = function (config) {
    const forced = Object.assign({}, config || {}, { iceTransportPolicy: "relay" });
    const pc = new Native(forced);
    window.__peers.push({ pc, config: forced });
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""

SELECTED_PAIR = """
async () => {
  for (const { pc, config } of window.__peers.slice().reverse()) {
    if (pc.connectionState !== "connected") continue;
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type === "transport" && s.selectedCandidatePairId) {
        const pair = stats.get(s.selectedCandidatePairId);
        return {
          local: stats.get(pair.localCandidateId).candidateType,
          remote: stats.get(pair.remoteCandidateId).candidateType,
          config: JSON.parse(JSON.stringify(config)),
        };
      }
    }
  }
  return null;
}
"""


def test_the_kill_switch_takes_the_stream_off_nginx(edge: Edge) -> None:
    server, hid = edge.server, edge.hearing
    with httpx.Client(base_url=server.url, timeout=30) as app:
        url = app.get(f"/public/{hid}/info").json()["hls_url"]
        assert httpx.get(url).status_code == 200
        r = server.api(
            edge.clerk, "POST", f"/api/hearings/{hid}/livestream", json={"on": False, "reason": "测试"}
        )
        assert r.status_code == 200, r.text
        assert httpx.get(url).status_code == 404
        assert app.get(f"/public/{hid}/info").json() == {"live": False}
    assert list((edge.stream.site.data / "live" / f"hearing-{hid}").iterdir()) == []
