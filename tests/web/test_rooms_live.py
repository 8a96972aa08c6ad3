"""Two rooms of one institute, as real ``court serve --room`` processes on one PostgreSQL database: a
hearing running in room A is refused in room B (409, naming A) and shown there as running in A;
room A's process is killed (kill -9), its lease lapses, the hearing is resumed in room B on the
shared recording store, and the timeline had one writer throughout: every event from the first
claim on carries the fencing token of the room that held the hearing then, in order, none stale."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from court.core.events import EventType
from court.core.timeline import TimelineEvent, read_events
from court.db.engine import close_store, open_store
from tests.web.conftest import CHROMIUM, LiveServer, require_chromium, stop_live_server
from tests.web.rooms_support import ROOM_A, ROOM_B, Clerk, recording_again, room_config, start_room
from tests.web.test_browser import BASE_ARGS, watch_console
from web.security import COOKIE

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE = 4.0
BEAT = 1.0


@pytest.fixture
def two_rooms(
    tmp_path: Path, model_cache: Path, postgres_url: str
) -> Iterator[tuple[LiveServer, Future[LiveServer]]]:
    """Room A up; room B coming up meanwhile (after A migrated the database; it warms its models while
    A runs the one-click start)."""
    store = tmp_path / "shared-store"

    def room(name: str, folder: Path) -> LiveServer:
        config = room_config(folder, model_cache, store, lease=LEASE, beat=BEAT)
        return start_room(folder, model_cache, postgres_url, name, config)

    a = room(ROOM_A, tmp_path / "room-a")
    with ThreadPoolExecutor(1) as pool:
        b = pool.submit(room, ROOM_B, tmp_path / "room-b")
        try:
            yield a, b
        finally:
            stop_live_server(a)  # also closes the output of the one killed
            if b.exception() is None:
                stop_live_server(b.result())


def _events(database: str, hearing: int) -> list[TimelineEvent]:
    sessions = open_store(database, upgrade=False)
    try:
        return list(read_events(sessions, hearing))
    finally:
        close_store(sessions)


def test_one_room_runs_a_hearing_and_another_resumes_it_after_kill_9(
    two_rooms: tuple[LiveServer, Future[LiveServer]],
) -> None:
    a, b_starting = two_rooms
    clerk = Clerk(a.login("clerk"))
    hearing = a.unapproved
    r = clerk.call(a, "POST", f"/api/hearings/{hearing}/start")
    assert r.status_code == 200, r.text
    b = b_starting.result(240)
    clerk.wait_running(a, hearing)
    r = clerk.call(a, "POST", f"/api/hearings/{hearing}/open")
    assert r.status_code == 200, r.text

    # Room B refuses the hearing and says where it runs; so does its console and the institute view.
    r = clerk.call(b, "POST", f"/api/hearings/{hearing}/start")
    assert r.status_code == 409, r.text
    assert ROOM_A in r.json()["detail"] and r.json()["room"] == ROOM_A
    where = clerk.call(b, "GET", f"/api/hearings/{hearing}").json()["room"]
    assert (where["room"], where["here"], where["down"], where["url"]) == (ROOM_A, False, False, a.url)
    browser = _browser()
    console, problems = _page(browser, b, clerk.token, f"/console?hearing={hearing}")
    shown_where = console.wait_for_selector("#where:not(.hidden)", timeout=20_000)
    assert ROOM_A in shown_where.inner_text() and console.is_disabled("#start")
    assert shown_where.query_selector("a").get_attribute("href") == f"{a.url}/console?hearing={hearing}"
    # A supervisor's session made through room A works in room B: sessions are in the shared database.
    supervisor_token = a.login("supervisor")
    supervisor = b.api(supervisor_token, "GET", "/api/institute")
    rooms = {room["room"]: room for room in supervisor.json()["rooms"]}
    assert rooms[ROOM_B]["status"] == "idle" and rooms[ROOM_A]["status"] == "hearing"
    (shown,) = rooms[ROOM_A]["hearings"]
    assert shown["console"] == f"{a.url}/console?hearing={hearing}" and shown["state"] == "in_session"

    # A segment recorded in room A, then room A's process dies.
    _wait_for(lambda: any(e.type == EventType.RECORDING_SEGMENT for e in _events(a.database, hearing)), 60, a)
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(10)
    killed = time.monotonic()

    # Room B is refused until A's lease has lapsed, then takes the hearing over.
    while (r := clerk.call(b, "POST", f"/api/hearings/{hearing}/start")).status_code == 409:
        assert r.json()["code"] == "held_elsewhere" and r.json()["room"] == ROOM_A, r.text
        # Well under the shipped 15 s: the room's own short lease lapsed, nothing else let B in.
        assert time.monotonic() - killed < LEASE + 8, "the lease did not lapse in time"
        time.sleep(0.25)
    assert r.status_code == 200, r.text
    assert time.monotonic() - killed >= LEASE - 2 * BEAT - 0.5, "taken over before the lease could lapse"
    clerk.wait_running(b, hearing)
    _wait_for(lambda: recording_again(_events(b.database, hearing), 2) is not None, 60, b)

    events = _events(b.database, hearing)
    claims = [e for e in events if e.type == EventType.PROCESS_CLAIMED]
    assert [(e.payload["room"], e.fence) for e in claims] == [(ROOM_A, 1), (ROOM_B, 2)]
    assert claims[1].payload["previous_room"] == ROOM_A
    fenced = events[events.index(claims[0]) :]
    # One writer at a time: every event from the first claim on is fenced, never by an older token.
    assert all(e.fence is not None for e in fenced), [e for e in fenced if e.fence is None]
    tokens = [e.fence or 0 for e in fenced]
    assert tokens == sorted(tokens), "an event with a stale fencing token"
    takeover = events.index(claims[1])
    assert all(e.fence == 1 for e in events[events.index(claims[0]) : takeover])
    assert all(e.fence == 2 for e in events[takeover:])
    assert any(e.type == EventType.PROCESS_RESTARTED for e in events[takeover:])

    view = clerk.call(b, "GET", "/api/institute").json()
    rooms = {room["room"]: room for room in view["rooms"]}
    assert rooms[ROOM_A]["status"] == "down" and rooms[ROOM_B]["status"] == "hearing"
    assert rooms[ROOM_B]["hearings"][0]["watch"] == f"{b.url}/watch?hearing={hearing}"
    page, seen = _page(browser, b, supervisor_token, "/institute")
    page.wait_for_selector(f'tr[data-room="{ROOM_B}"] [data-status="hearing"]', timeout=20_000)
    page.wait_for_selector(f'tr[data-room="{ROOM_A}"] [data-status="down"]', timeout=20_000)
    row = page.inner_text(f'tr[data-room="{ROOM_B}"]')
    assert "庭审进行中" in row and "示劳人仲案字" in row, row
    assert not problems and not seen, problems + seen


def _browser() -> Any:
    """Debian's chromium, headless (closed with the Playwright driver at the end of the session)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    _DRIVERS.append(driver)
    return driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BASE_ARGS)


_DRIVERS: list[Any] = []


@pytest.fixture(autouse=True)
def _stop_drivers() -> Iterator[None]:
    yield
    while _DRIVERS:
        _DRIVERS.pop().stop()


def _page(browser: Any, server: LiveServer, token: str, path: str) -> tuple[Any, list[str]]:
    """A page of ``server`` signed in with ``token`` (the session cookie), and its script errors."""
    context = browser.new_context(base_url=server.url)
    context.add_cookies([{"name": COOKIE, "value": token, "url": server.url}])
    page = context.new_page()
    problems = watch_console(page)
    page.goto(path)
    return page, problems


def _wait_for(condition: Callable[[], bool], timeout: float, server: LiveServer) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out\n{server.output()}"
        time.sleep(0.3)
