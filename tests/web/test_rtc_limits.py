"""Item 5: WebRTC offers are checked before anything is built for them, and peers are capped. An offer
without a DTLS fingerprint, with a port past 65535 or other values aiortc would only trip over in its
background tasks is refused 400; one person holds at most a few peers (a further offer replaces their
oldest), a hearing at most ``max_peers``, so forty offers from one supervisor cost no more threads or
sockets than three. In process, loopback only."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from court.live.program import LiveProgram
from devices.broadcast.mix import AudioMixer
from devices.broadcast.rtc import RtcHub
from devices.broadcast.rtc_sdp import RtcError, offered_media
from devices.clock import WallClock
from tests.devices.broadcast.test_rtc import SyntheticProgram
from tests.web.support import api_in_process, running
from tests.web.test_api import Api


async def make_offer(pc: RTCPeerConnection | None = None) -> str:
    """A receive-only offer, as a viewer's page makes it."""
    own = pc is None
    pc = pc or RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    if own:
        await pc.close()
    return sdp


@pytest.fixture(scope="module")
def offer() -> str:
    return asyncio.run(make_offer())


def broken_offers(sdp: str) -> dict[str, str]:
    candidate = re.search(r"^a=candidate:(\S+) (\d) (\S+) (\d+) (\S+) (\d+) typ", sdp, re.M)
    assert candidate is not None, "the offer has a candidate to spoil"
    return {
        "no fingerprint": re.sub(r"^a=fingerprint:.*\r\n", "", sdp, flags=re.M),
        "an unverifiable fingerprint": re.sub(r"^a=fingerprint:\S+", "a=fingerprint:md5", sdp, flags=re.M),
        "port 99999999": re.sub(r"^m=video \d+", "m=video 99999999", sdp, flags=re.M),
        "candidate port 99999999": sdp.replace(
            candidate.group(0), candidate.group(0).replace(f" {candidate.group(6)} typ", " 99999999 typ")
        ),
        "candidate address garbage": sdp.replace(
            candidate.group(0), candidate.group(0).replace(f" {candidate.group(5)} ", " not-an-address ")
        ),
        "an ICE password too short": re.sub(r"^a=ice-pwd:.*$", "a=ice-pwd:short", sdp, flags=re.M),
        "forty media sections": sdp
        + "".join(
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" for _ in range(40)
        ),
    }


def test_offers_aiortc_would_choke_on_are_refused(offer: str) -> None:
    assert set(offered_media(offer, "offer")) == {"audio", "video"}
    for why, bad in broken_offers(offer).items():
        with pytest.raises(RtcError) as refused:
            offered_media(bad, "offer")
        assert refused.value.code == "bad_sdp", why
        assert "SDP 无效" in str(refused.value), why


# -- the caps, on a hub of its own ---------------------------------------------------------------------------


def native_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def run_hub(body: Callable[[RtcHub], Awaitable[None]], **caps: int) -> None:
    async def main() -> None:
        clock = WallClock()
        hub = RtcHub(SyntheticProgram(clock), AudioMixer(clock), **caps)
        try:
            await asyncio.wait_for(body(hub), 120)
        finally:
            await hub.close()

    asyncio.run(main())


def test_forty_offers_from_one_supervisor_keep_three_peers() -> None:
    async def body(hub: RtcHub) -> None:
        # The browsers' side is made and closed at once (make_offer): what is counted is the server's.
        for _ in range(3):
            await hub.viewer(await make_offer(), "offer", owner="supervisor:wang")
        await asyncio.sleep(0.5)
        threads, fds = native_threads(), open_fds()
        for _ in range(37):
            answer = await hub.viewer(await make_offer(), "offer", owner="supervisor:wang")
            assert answer.peer_id in hub.peer_ids
            assert len(hub.peer_ids) <= 3
        await asyncio.sleep(0.5)
        # Each peer costs threads and sockets; the replaced ones gave theirs back.
        assert native_threads() - threads <= 6, (threads, native_threads())
        assert open_fds() - fds <= 12, (fds, open_fds())
        # Somebody else still gets in.
        await hub.viewer(await make_offer(), "offer", owner="observer:room")
        assert len(hub.peer_ids) == 4

    run_hub(body)


def test_a_full_hearing_refuses_a_new_peer() -> None:
    async def body(hub: RtcHub) -> None:
        for i in range(4):
            await hub.viewer(await make_offer(), "offer", owner=f"observer:{i}")
        with pytest.raises(RtcError) as refused:
            await hub.viewer(await make_offer(), "offer", owner="observer:late")
        assert refused.value.code == "too_many_peers" and "已满" in str(refused.value)
        assert len(hub.peer_ids) == 4

    run_hub(body, max_peers=4)


# -- through the API -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Api]:
    with api_in_process(tmp_path_factory.mktemp("web-rtc"), model_cache) as api:
        yield api


def test_the_api_refuses_a_broken_offer_before_making_a_peer(api: Api, offer: str) -> None:
    hearing = api.hearings[0]
    host = api.ctx.hosts.get(hearing)
    live = LiveProgram(host.config, host.clock, hearing=host.hearing)
    with running(host, live):
        try:
            for why, bad in broken_offers(offer).items():
                r = api.client.post(
                    f"/api/hearings/{hearing}/rtc",
                    json={"sdp": bad, "type": "offer"},
                    headers=api.login("supervisor"),
                )
                assert r.status_code == 400, (why, r.text)
                assert r.json()["code"] == "bad_sdp" and "媒体协商失败" in r.json()["detail"]
            assert api.ctx.rtc[hearing].peer_ids == []
        finally:
            api.ctx.rtc.pop(hearing, None)
