"""What every request handler shares: the store, the config, accounts, the running hearings and the
media side."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from court.access.accounts import Accounts
from court.config import Config
from court.host.registry import HearingHosts


@dataclass
class ServerContext:
    sessions: sessionmaker[Session]
    config: Config
    accounts: Accounts
    hosts: HearingHosts
    evidence_root: Path
    hls_root: Path
    public_url: str = ""
    """The address printed for people (links in invitations)."""
    max_upload_bytes: int = 50 * 2**20
    rtc: dict[int, Any] = field(default_factory=dict)
    """The WebRTC hub of each running hearing (made on the event loop on first use)."""
    hls: dict[int, Any] = field(default_factory=dict)
    """Public HLS publishers by hearing id."""
    relay_url: str = ""
    """Where the public stream is also pushed (an existing media server), e.g. ``https://cdn/live``:
    each hearing under ``<relay_url>/hearing-<id>/``. Empty: not pushed."""
    relays: dict[int, Any] = field(default_factory=dict)
    ice_servers: list[dict[str, str]] = field(default_factory=list)
    """STUN/TURN servers (``{"urls", "username"?, "credential"?}``) for the server's peers and the
    browsers: parties outside the court's network need a TURN server."""
