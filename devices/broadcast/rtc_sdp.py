"""What the media hub accepts from a browser and answers it: SDP offer checks, the answer, the errors.

A peer's offer arrives from the network, so it is checked here before any connection is built: it must
be an offer, parse as SDP, and give ICE and DTLS parameters for each audio and video section. The
result (media kind → direction) is what the hub (:mod:`devices.broadcast.rtc`) decides roles on.
:class:`RtcError` carries a machine-readable code the API answers 400 with; it lives here, beside the
checks that raise most of them, so every part of the hub raises the same error type.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc import sdp as aiortc_sdp
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

HUB_CLOSED = "媒体服务已关闭 (media hub closed)"


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
    media: dict[str, str] = {}
    for m in description.media:
        if m.kind in ("audio", "video") and m.kind not in media:
            if m.ice is None or not m.ice.usernameFragment or not m.ice.password or m.dtls is None:
                raise RtcError(
                    "bad_sdp", f"SDP 无效 (malformed SDP offer: {m.kind} lacks ICE/DTLS parameters)"
                )
            media[m.kind] = m.direction or "sendrecv"
    return media


def vp8_only() -> list[RTCRtpCodecCapability]:
    """The video codecs the hub negotiates: VP8 (the shared encoding's codec) and its retransmission."""
    return [
        c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType in ("video/VP8", "video/rtx")
    ]
