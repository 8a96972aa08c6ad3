"""What a browser is told and asked on every response and request: the security headers, and the
same-origin check that stands in for a CSRF token.

A browser adds the session cookie by itself, also to a request another site's page makes it send
(SameSite=Lax still lets a top-level form post through, and older browsers ignore it). So a request
that changes something and is authenticated by the cookie must say where it comes from: its
``Origin`` (or, where a browser sends none, its ``Referer``) must be this server. A request with a
bearer header needs no check: no other site can make a browser add one. Login and join carry no
session yet, but a cross-site ``Origin`` is refused there too (it would sign the victim in as
somebody else).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.security import cookie_session, error_body

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def inline_script_hashes(pages: Iterable[Path]) -> list[str]:
    """The CSP sources that allow the pages' own inline scripts, and no other: one hash each."""
    hashes = []
    for page in sorted(pages):
        for script in _INLINE_SCRIPT.findall(page.read_text(encoding="utf-8")):
            digest = hashlib.sha256(script.encode("utf-8")).digest()
            hashes.append(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return hashes


def content_security_policy(script_hashes: Iterable[str], media_origins: Iterable[str] = ()) -> str:
    """Everything from this server only, but the public stream from its stream server
    (``media_origins``); the public player's hls.js needs blob: for its media source and worker;
    pages use style attributes, so inline styles (not scripts) are allowed; no page may be framed
    (a framed console could be clicked through by another site)."""
    scripts = " ".join(["'self'", *script_hashes])
    media = " ".join(["'self'", *media_origins])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            f"media-src {media} blob:",
            "worker-src 'self' blob:",
            f"connect-src {media}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Adds the security headers to every response (errors too); HSTS only over https, where a
    browser honours it (over http it would be ignored, and would be wrong on a plain-http LAN)."""

    def __init__(self, app: ASGIApp, *, csp: str) -> None:
        self.app = app
        self.fixed = {
            "content-security-policy": csp,
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",
            "referrer-policy": "same-origin",
            "cross-origin-opener-policy": "same-origin",
            # The party's page needs the camera and microphone; nothing else needs either.
            "permissions-policy": "camera=(self), microphone=(self), geolocation=()",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.fixed.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("strict-transport-security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, with_headers)


class SameOrigin:
    """Refuses (403 ``cross_origin``) a state-changing request that comes from another site (module
    doc). ``public_url``: the address people open, allowed besides the request's own Host (behind a
    proxy the two may differ)."""

    def __init__(self, app: ASGIApp, *, public_url: str = "") -> None:
        self.app = app
        self.public = _netloc(public_url) if public_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        source = origin if origin is not None else headers.get("referer")
        if source is not None:
            allowed = self._ours(source, headers.get("host", ""))
        else:
            # Neither header: not a browser's request (browsers send Origin on every such request),
            # unless it rides on the cookie, which only a browser adds by itself.
            allowed = not cookie_session(headers)
        if allowed:
            await self.app(scope, receive, send)
            return
        body = error_body(
            "cross_origin",
            "请求来源与本站不符，已拒绝；请从本站页面操作 (cross-site request refused)",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _ours(self, source: str, host: str) -> bool:
        netloc = _netloc(source)
        if not netloc:  # "null" (a sandboxed frame, a file), or garbage
            return False
        return netloc == _normal(host) or netloc == self.public


def _netloc(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return _normal(parts.netloc, parts.scheme)


def _normal(netloc: str, scheme: str = "") -> str:
    """``Host:Port`` in lower case, without the scheme's default port (browsers leave it out of
    Origin; some proxies put it into Host)."""
    host = netloc.lower().rsplit("@", 1)[-1]
    for default in (":80", ":443") if not scheme else ((":80",) if scheme == "http" else (":443",)):
        if host.endswith(default):
            return host[: -len(default)]
    return host
