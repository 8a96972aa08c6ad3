"""Two rooms of one institute as real processes: ``court serve --room`` on one PostgreSQL database,
each with its own folder and a short lease, sharing one recording store (a mounted share in a real
institute, hardware.md). Used by ``test_rooms_live`` and ``bench/bench_failover.py``."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from court.core.events import EventType
from court.core.timeline import TimelineEvent
from tests.court.helpers import write_test_config
from tests.web.conftest import LiveServer, start_live_server

ROOM_A = "第一仲裁庭"
ROOM_B = "第二仲裁庭"


def room_config(folder: Path, model_cache: Path, store: Path, *, lease: float, beat: float) -> Path:
    """The test room's config with the shared recording store and a short lease; no recognizer (the
    failover is about the record's writers, and two recognizers would not fit two shared cores)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = write_test_config(folder, model_cache, door_seconds=1)
    text = path.read_text(encoding="utf-8")
    text = text.replace('root = "var/recordings"', f'root = "{store / "recordings"}"', 1)
    text = text.replace('backup = "var/backup"', f'backup = "{store / "backup"}"', 1)
    text, leases = re.subn(r"(?m)^lease_seconds = [0-9.]+", f"lease_seconds = {lease}", text, count=1)
    text, beats = re.subn(r"(?m)^heartbeat_seconds = [0-9.]+", f"heartbeat_seconds = {beat}", text, count=1)
    assert leases == beats == 1, "the [rooms] keys of the default config moved"
    section = text.index("[transcription]")
    text = text[:section] + text[section:].replace("enabled = true", "enabled = false", 1)
    path.write_text(text, encoding="utf-8")
    return path


def start_room(
    folder: Path, model_cache: Path, database: str, room: str, config: Path, *, timeout: float = 240
) -> LiveServer:
    """``court serve --room`` on ``database``, up and answering (accounts and demo hearings as the
    first room printed them; a later room prints none)."""
    return start_live_server(
        folder, model_cache, config=config, database=database, args=("--room", room), timeout=timeout
    )


@dataclass
class Clerk:
    """The clerk's session (valid on every room: sessions live in the shared database)."""

    token: str

    def call(self, server: LiveServer, method: str, path: str, **kw: Any) -> httpx.Response:
        return server.api(self.token, method, path, **kw)

    def wait_running(self, server: LiveServer, hearing: int, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            snap: dict[str, Any] = self.call(server, "GET", f"/api/hearings/{hearing}").json()
            if snap.get("host") == "running":
                return snap
            assert snap.get("host") != "failed", f"{snap.get('error')}\n{server.output()}"
            assert time.monotonic() < deadline, f"the hearing did not start: {snap}\n{server.output()}"
            time.sleep(0.3)


def recording_again(events: list[TimelineEvent], generation: int) -> tuple[int, int] | None:
    """The seqs of the recording's (re)start under ``generation`` and of the first segment recorded
    after it (the segments the repair closes are written under it too, before); None before both."""
    start = next(
        (
            e.seq
            for e in events
            if e.fence == generation and e.type in (EventType.RECORDING_STARTED, EventType.RECORDING_RESUMED)
        ),
        None,
    )
    if start is None:
        return None
    segment = next(
        (
            e.seq
            for e in events
            if e.fence == generation
            and e.seq > start
            and e.type == EventType.RECORDING_SEGMENT
            and e.payload.get("status") == "ok"
        ),
        None,
    )
    return (start, segment) if segment is not None else None
