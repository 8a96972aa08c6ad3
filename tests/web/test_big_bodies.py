"""Big anonymous bodies against a real ``uvicorn`` (loopback only): four 100 MB posts at once, with and
without a Content-Length, to the login, the join and the evidence upload. The server must refuse each
before reading it (413 for a body over its route's cap, 401 for an upload without a session) and its
resident memory must stay flat.

The server here is a bare one (a fresh SQLite store, no seeded cases, no models warmed): the
``court serve`` fixture loads models in the background, and that would drown what is measured."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
BODY = 100 * 2**20
"""Each post's size (what the report measured with)."""
RSS_BUDGET = 64 * 2**20
"""The most the server's resident memory may grow while the four posts run."""

SERVER = """
import sys
from pathlib import Path

import uvicorn

from court.config import load_config
from web.app import create_app
from web.server import build_context

folder, port = Path(sys.argv[1]), int(sys.argv[2])
ctx = build_context(load_config(), database=f"sqlite:///{folder / 'court.db'}", data=folder / "data")
uvicorn.run(create_app(ctx), host="127.0.0.1", port=port, log_level="warning")
"""


@pytest.fixture(scope="module")
def bare_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    folder = tmp_path_factory.mktemp("bare-server")
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("COURT_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(folder), str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not come up"
            try:
                if httpx.get(f"{url}/api/me", timeout=2).status_code == 401:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, port, process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def post(
    port: int, path: str, content_type: str, head: bytes, *, chunked: bool, size: int = BODY
) -> tuple[int | None, int]:
    """Send a ``size``-byte post by hand, so that it stops the moment the server answers, and return
    the status (None: the server closed without one) and how much of the body was sent by then. A
    refusal that needs no body comes before the first byte of it is sent."""
    headers = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
    headers.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    block = b"a" * (64 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        if select.select([sock], [], [], 0.5)[0]:
            return _status(sock.recv(4096)), 0
        sent = 0
        try:
            while sent < size:
                data = head if sent == 0 else block
                sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
                sent += len(data)
                if select.select([sock], [], [], 0)[0]:
                    return _status(sock.recv(4096)), sent
            if chunked:
                sock.sendall(b"0\r\n\r\n")
            return _status(sock.recv(4096)), sent
        except OSError:
            return None, sent


def _status(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None


def test_four_concurrent_100mb_anonymous_posts_leave_memory_flat(
    bare_server: tuple[str, int, subprocess.Popen[bytes]],
) -> None:
    url, port, process = bare_server
    # Warm up what a first request allocates (a login's scrypt, the form parser, the audit writer).
    with httpx.Client(base_url=url, timeout=30) as client:
        client.post("/api/login", json={"username": "nobody", "password": "wrong"})
        client.post("/api/hearings/1/evidence", files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")})
    time.sleep(0.5)
    before = rss(process.pid)
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss(process.pid))
            time.sleep(0.01)

    boundary = "----court-test-boundary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    ).encode()
    posts = [
        ("/api/login", "application/json", b'{"username": "clerk", "password": "', False),
        ("/api/join", "application/json", b'{"code": "', True),
        ("/api/hearings/1/evidence", f"multipart/form-data; boundary={boundary}", multipart, False),
        ("/api/hearings/1/evidence", f"multipart/form-data; boundary={boundary}", multipart, True),
    ]
    statuses: list[int | None] = [None] * len(posts)

    def run(i: int) -> None:
        path, content_type, head, chunked = posts[i]
        statuses[i] = post(port, path, content_type, head, chunked=chunked)[0]

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    elapsed = time.monotonic() - started
    time.sleep(0.3)
    done.set()
    sampler.join()
    grown = peak - before
    print(f"RSS {before / 2**20:.0f} → {peak / 2**20:.0f} MB (+{grown / 2**20:.1f} MB), {elapsed:.1f} s")
    assert process.poll() is None, "the server died"
    assert grown < RSS_BUDGET, f"RSS grew {grown / 2**20:.0f} MB under four 100 MB posts"
    # Over the cap: refused unread (JSON at 1 MB, the upload at its limit); no session: refused
    # before the first byte of the upload.
    assert statuses == [413, 413, 413, 401], statuses
    assert elapsed < 30, "refused bodies must not be read to their end"


def test_an_upload_without_a_session_is_refused_before_its_body(
    bare_server: tuple[str, int, subprocess.Popen[bytes]],
) -> None:
    """Under the upload cap, so only the missing session can refuse it: answered after the headers,
    before the client has sent a byte of the file (``post`` waits half a second for that)."""
    _, port, _ = bare_server
    form = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4\n'
    status, sent = post(
        port,
        "/api/hearings/1/evidence",
        "multipart/form-data; boundary=b",
        form,
        chunked=False,
        size=40 * 2**20,
    )
    assert (status, sent) == (401, 0)
