"""What the media hub accepts from a browser and answers it: SDP offer checks, the answer, the errors.

A peer's offer arrives from the network, so it is checked here before any connection is built: it must
be an offer, parse as SDP, keep to a few media sections and candidates, name only real ports and
addresses, and give ICE credentials and a DTLS fingerprint (of an algorithm aiortc verifies) for each
audio and video section. aiortc accepts an offer without these and then fails in its background tasks,
where nobody answers the browser and the connection lingers. The result (media kind → direction) is
what the hub (:mod:`devices.broadcast.rtc`) decides roles on.
:class:`RtcError` carries a machine-readable code the API answers 400 with; it lives here, beside the
checks that raise most of them, so every part of the hub raises the same error type.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc import sdp as aiortc_sdp
from aiortc.rtcdtlstransport import X509_DIGEST_ALGORITHMS
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

HUB_CLOSED = "媒体服务已关闭 (media hub closed)"

MAX_SECTIONS = 8
"""Media sections in one offer: a party's page sends two (audio, video), a browser may add data."""
MAX_CANDIDATES = 64
"""ICE candidates in one media section: a browser gathers a handful per network interface."""
_ICE_CHARS = re.compile(r"^[A-Za-z0-9+/]+$")
_FINGERPRINT = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$")


class RtcError(ValueError):
    """An offer the hub cannot answer; ``code`` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Answer:
    sdp: str
    type: str
    peer_id: str


def offered_media(sdp: str, type: str) -> dict[str, str]:
    """Media kind → direction of the offer (from the offerer's side); RtcError when malformed."""
    if type != "offer":
        raise RtcError("bad_type", f"只接受 offer (expected an SDP offer, got type {type!r})")
    if not isinstance(sdp, str) or not sdp.lstrip().startswith("v=0"):
        raise RtcError("bad_sdp", "SDP 无效 (malformed SDP offer: it must start with v=0)")
    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:
        raise RtcError("bad_sdp", f"SDP 无效 (malformed SDP offer: {exc})") from exc
    if len(description.media) > MAX_SECTIONS:
        raise _bad(f"more than {MAX_SECTIONS} media sections")
    media: dict[str, str] = {}
    for m in description.media:
        for port in (m.port, m.rtcp_port):
            if port is not None and not 0 <= port <= 65535:
                raise _bad(f"{m.kind} port {port} out of range")
        if len(m.ice_candidates) > MAX_CANDIDATES:
            raise _bad(f"more than {MAX_CANDIDATES} ICE candidates")
        for candidate in m.ice_candidates:
            _check_candidate(candidate)
        if m.kind in ("audio", "video") and m.kind not in media:
            _check_transport(m)
            media[m.kind] = m.direction or "sendrecv"
    return media


def _bad(why: str) -> RtcError:
    return RtcError("bad_sdp", f"SDP 无效 (malformed SDP offer: {why})")


def _check_transport(m: aiortc_sdp.MediaDescription) -> None:
    """ICE credentials (RFC 8839 lengths and characters) and a fingerprint aiortc can verify."""
    ice = m.ice
    if ice is None or not ice.usernameFragment or not ice.password or m.dtls is None:
        raise _bad(f"{m.kind} lacks ICE/DTLS parameters")
    ufrag, password = ice.usernameFragment, ice.password
    if not (4 <= len(ufrag) <= 256 and 22 <= len(password) <= 256):
        raise _bad(f"{m.kind} ICE credentials of the wrong length")
    if not (_ICE_CHARS.match(ufrag) and _ICE_CHARS.match(password)):
        raise _bad(f"{m.kind} ICE credentials with characters ICE does not allow")
    usable = [
        f
        for f in m.dtls.fingerprints
        if f.algorithm.lower() in X509_DIGEST_ALGORITHMS and _FINGERPRINT.match(f.value)
    ]
    if not usable:
        raise _bad(f"{m.kind} has no DTLS fingerprint of a supported algorithm")
    if m.dtls.role not in ("auto", "client", "server"):
        raise _bad(f"{m.kind} DTLS role {m.dtls.role!r}")


def _check_candidate(candidate: RTCIceCandidate) -> None:
    """A candidate the ICE agent can try: a real port, UDP or TCP, an IP address or an mDNS name
    (browsers hide local addresses behind ``<uuid>.local``)."""
    if not 1 <= candidate.component <= 256 or not 0 <= candidate.priority < 2**32:
        raise _bad("ICE candidate with an invalid component or priority")
    if not 0 <= candidate.port <= 65535:
        raise _bad(f"ICE candidate port {candidate.port} out of range")
    if candidate.relatedPort is not None and not 0 <= candidate.relatedPort <= 65535:
        raise _bad(f"ICE candidate related port {candidate.relatedPort} out of range")
    if candidate.protocol.lower() not in ("udp", "tcp"):
        raise _bad(f"ICE candidate protocol {candidate.protocol!r}")
    if candidate.ip.endswith(".local") and 7 <= len(candidate.ip) <= 253:
        return
    try:
        ipaddress.ip_address(candidate.ip)
    except ValueError:
        raise _bad(f"ICE candidate address {candidate.ip[:60]!r}") from None


def vp8_only() -> list[RTCRtpCodecCapability]:
    """The video codecs the hub negotiates: VP8 (the shared encoding's codec) and its retransmission."""
    return [
        c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType in ("video/VP8", "video/rtx")
    ]
