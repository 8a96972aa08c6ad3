"""What the hardening tests share: the API in process on a fresh store (the seeded cases, an account per
staff role) like ``test_api``'s, and a hearing made to look running without its room."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient

from court.config import load_config
from court.db.engine import close_store
from court.demo.seed import seed_cases
from court.host.host import HearingHost, HostStatus
from tests.court.helpers import write_test_config
from tests.web.test_api import PASSWORD, Api
from web.app import create_app
from web.server import build_context

ORIGIN = {"origin": "http://testserver"}
"""What a browser on the server's own pages sends with every post."""

STAFF = ("clerk", "arbitrator", "supervisor", "observer")


@contextmanager
def api_in_process(folder: Path, model_cache: Path, *, upload_bytes: int = 64 * 1024) -> Iterator[Api]:
    config = load_config(write_test_config(folder, model_cache, door_seconds=3))
    ctx = build_context(config, database=f"sqlite:///{folder / 'court.db'}", data=folder / "data")
    hearings = seed_cases(ctx.sessions, config, enrol_photos=False, progress=lambda _: None)
    for username in STAFF:
        ctx.accounts.create_account(username, PASSWORD, username, username)
    ctx.max_upload_bytes = upload_bytes
    # No `with`: the lifespan (WebRTC hub, media) is not needed for these routes.
    client = TestClient(create_app(ctx), raise_server_exceptions=True)
    try:
        yield Api(client, ctx, hearings)
    finally:
        client.close()
        close_store(ctx.sessions)


@contextmanager
def running(host: HearingHost, live: Any) -> Iterator[None]:
    """``host`` answering as a running hearing whose program is ``live`` (a real LiveProgram), without
    the room, recording or recognizer a real start assembles."""
    lifecycle = host.lifecycle
    session = SimpleNamespace(recording=SimpleNamespace(faults=dict), lifecycle=lifecycle)
    host._assembled = SimpleNamespace(live=live, session=session)  # type: ignore[assignment]
    host.status = HostStatus.RUNNING
    try:
        yield
    finally:
        host._assembled = None
        host.status = HostStatus.IDLE
