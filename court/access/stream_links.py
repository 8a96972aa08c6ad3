"""Signed links to the public stream on the stream server (nginx ``secure_link``).

The app decides once that a viewer may watch (the case is approved, the clerk has the public stream
on, the hearing runs) and hands out a link that carries its own expiry and a keyed hash of it; nginx
checks the hash and the expiry on every playlist and segment request by itself, with the same
secret, so no viewer's request reaches Python. The hash is nginx's ``secure_link_md5`` form:
``base64url(md5("<expires>/<stream> <secret>"))`` without padding, the segments sitting beside the
playlist under the same ``/<token>/<expires>/<stream>/`` prefix, so a player's relative segment
addresses carry the token too.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What nginx's location accepts as a stream name (deploy/nginx/court-stream.conf.in)."""


def read_secret(path: Path) -> str:
    """A shared secret from its file (one line; made by ``scripts/services.sh``, mode 600)."""
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < 16 or any(c.isspace() for c in secret):
        raise ValueError(f"密钥文件内容无效：至少 16 个字符且不含空白 (bad secret in {path})")
    return secret


def stream_token(secret: str, stream: str, expires: int) -> str:
    digest = hashlib.md5(f"{expires}/{stream} {secret}".encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def signed_playlist_url(base_url: str, secret: str, stream: str, expires: int) -> str:
    """``<base_url>/<token>/<expires>/<stream>/index.m3u8``, valid until ``expires`` (Unix seconds)."""
    if not STREAM_NAME.fullmatch(stream):
        raise ValueError(f"bad stream name {stream!r}")
    token = stream_token(secret, stream, expires)
    return f"{base_url.rstrip('/')}/{token}/{expires}/{stream}/index.m3u8"
