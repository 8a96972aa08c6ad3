"""What every request handler shares: the store, the config, accounts, the running hearings and the
media side."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from court.access.accounts import Accounts
from court.access.turn_credentials import TurnService
from court.config import Config
from court.host.registry import HearingHosts
from court.host.rooms import RoomNode
from web.doorbell import Doorbell


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
    doorbells: dict[int, Doorbell] = field(default_factory=dict)
    """Each hearing's doorbell, rung on every append to its timeline (wakes its event streams)."""
    rtc: dict[int, Any] = field(default_factory=dict)
    """The WebRTC hub of each running hearing (made on the event loop on first use)."""
    hls: dict[int, Any] = field(default_factory=dict)
    """Public HLS publishers by hearing id."""
    relay_url: str = ""
    """Where the public stream is also pushed (an existing media server), e.g. ``https://cdn/live``:
    each hearing under ``<relay_url>/hearing-<id>/``. Empty: not pushed."""
    relays: dict[int, Any] = field(default_factory=dict)
    stream_url: str = ""
    """The stream server's public base (nginx, ``https://live.example/live``): viewers get links
    there, signed with ``stream_secret`` (``court/access/stream_links.py``), and the app serves no
    segment itself. Empty: the app serves the public stream."""
    stream_secret: str = ""
    stream_link_seconds: int = 4 * 3600
    """How long a viewer's signed link plays before the page asks for a new one."""
    turn: TurnService | None = None
    """The court's TURN server: each party gets time-limited credentials with the ICE servers."""
    ice_servers: list[dict[str, str]] = field(default_factory=list)
    """STUN/TURN servers (``{"urls", "username"?, "credential"?}``) for the server's peers and the
    browsers: parties outside the court's network need a TURN server."""
    room: RoomNode | None = None
    """This process as a room of the institute (``court serve --room``): registered, beating, and
    claiming the hearings it starts. None: in-process tests, nothing claimed."""
