"""Who is signing: a party's signature on the 笔录 or the settlement is bound to their face.

A party signs from the one login session their invitation code was redeemed into (one device: see
:mod:`court.access.invitations`). Before signing they pass a face check in that same session, shortly
before: the signature then records the check's similarity and which check it was. A code passed on
to someone else, or a session left open on a shared computer, is not enough to sign.

The tribunal (arbitrators, the recorder) sign with their staff accounts and need no face check here.
"""

from __future__ import annotations

from dataclasses import dataclass

from court.core.roles import Role

FACE_CHECK_MAX_AGE = 600.0
"""Hearing-clock seconds a passed face check stays good for signing: long enough to read a 笔录 of
a few pages after the check, short enough that it was the signer who read it."""


@dataclass(frozen=True)
class SignerFaceCheck:
    """A face check the signer passed: its similarity to the enrolled ID photo, when (hearing clock)
    and in which login session, and the timeline event that recorded it."""

    similarity: float
    t: float
    session_id: int | None
    seq: int | None = None
    """The ``attendance.remote_check`` event of this check."""


class FaceCheckRequired(Exception):
    """The signer has no recent face check in this session; ``message`` says so for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def needs_face_check(role: str) -> bool:
    """Everyone but the tribunal: the parties, their agents, third parties and witnesses."""
    try:
        return not Role(role).is_tribunal
    except ValueError:
        return True


def check_face(
    face: SignerFaceCheck | None, *, now: float, session_id: int | None, max_age: float = FACE_CHECK_MAX_AGE
) -> SignerFaceCheck:
    """``face`` if it is a passed check from ``session_id`` at most ``max_age`` seconds before ``now``;
    :class:`FaceCheckRequired` otherwise (no check, another session, too long ago)."""
    if face is None:
        raise FaceCheckRequired(
            "签名前须在本设备完成人脸核验，请先进行人脸核验 (a face check in this session is needed to sign)"
        )
    if session_id is not None and face.session_id != session_id:
        raise FaceCheckRequired(
            "人脸核验不是在本设备的登录中完成的，请在本设备重新核验 "
            "(the face check was made in another session)"
        )
    age = now - face.t
    if age > max_age or age < -1.0:
        raise FaceCheckRequired(
            f"人脸核验已超过 {max_age / 60:.0f} 分钟，请重新核验后签名 "
            f"(the face check is {age:.0f} s old; at most {max_age:.0f} s)"
        )
    return face
