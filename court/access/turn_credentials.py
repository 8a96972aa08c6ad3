"""Time-limited TURN credentials (the TURN REST API's shared-secret scheme, as coturn's
``use-auth-secret`` checks them).

The app and the TURN server share a secret and nothing else: each party gets, when it joins, a
username ``<expiry>:<identity>`` and the password ``base64(HMAC-SHA1(secret, username))``. The TURN
server recomputes the password and refuses a username whose expiry has passed, so a credential
copied out of a page is worth nothing after its time, and no password is ever written in a page or
on a command line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def turn_password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_username(identity: str, expires: int) -> str:
    """``<expires>:<identity>``; the identity (``party:12`` → ``party-12``) kept to characters that
    no TURN server or log mangles, and never a person's name."""
    return f"{expires}:{_UNSAFE.sub('-', identity)[:64] or 'anonymous'}"


@dataclass(frozen=True)
class TurnService:
    """The court's TURN server(s) and the secret shared with them."""

    urls: tuple[str, ...]
    """``turn:turn.example.org:3478?transport=udp``, ``turns:turn.example.org:5349?transport=tcp``…"""
    secret: str
    ttl_seconds: int = 24 * 3600
    """How long an issued credential lets a party allocate and refresh a relay: a hearing's length
    with room to spare (the TURN server drops a relay whose credential has expired)."""

    def __post_init__(self) -> None:
        if not self.urls or not all(u.startswith(("turn:", "turns:")) for u in self.urls):
            raise ValueError(f"TURN 地址须以 turn: 或 turns: 开头 (bad TURN URL): {self.urls!r}")
        if self.ttl_seconds < 60:
            raise ValueError(f"TURN 凭据有效期至少 60 秒 (TURN credential TTL too short): {self.ttl_seconds}")

    def ice_server(self, identity: str, now: float | None = None) -> dict[str, Any]:
        """A WebRTC ``RTCIceServer`` for ``identity`` with a fresh credential."""
        expires = int(time.time() if now is None else now) + self.ttl_seconds
        username = turn_username(identity, expires)
        return {
            "urls": list(self.urls),
            "username": username,
            "credential": turn_password(self.secret, username),
        }
