"""The services in front of the web side, started for a test from the project's own templates
(web/edge_config.py): nginx for the public stream and coturn for TURN, each on free loopback ports in
the test's folder, in the foreground, stopped at the end. Not installed: the test fails under CI
(``scripts/setup.sh`` installs both there) and is skipped elsewhere with the reason said."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from web.edge_config import NginxSite, TurnSite, ensure_secret, find_program


def require_program(name: str, package: str) -> str:
    path = find_program(name)
    if path is not None:
        return path
    message = f"{name} not found: install Debian's {package} (scripts/setup.sh does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StreamServer:
    site: NginxSite
    process: subprocess.Popen[bytes]

    @property
    def public(self) -> str:
        """The base viewers' signed links start with."""
        return f"http://{self.site.public_listen}/live"

    @property
    def ingest(self) -> str:
        """The base a room node pushes to (``--relay-url``)."""
        return f"http://{self.site.ingest_listen}/live"


def start_stream_server(folder: Path, *, workers: str = "1") -> StreamServer:
    nginx = require_program("nginx", "nginx")
    site = NginxSite(
        folder,
        ensure_secret(folder / "stream.secret"),
        public_listen=f"127.0.0.1:{free_port()}",
        ingest_listen=f"127.0.0.1:{free_port()}",
        workers=workers,
    )
    site.write()
    process = subprocess.Popen(site.command(nginx, foreground=True), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            assert process.stderr is not None
            raise AssertionError(f"nginx exited: {process.stderr.read().decode(errors='replace')}")
        try:
            if httpx.get(f"http://{site.public_listen}/", timeout=1).status_code == 403:
                return StreamServer(site, process)
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("nginx did not come up")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    if process.stderr is not None:
        process.stderr.close()


@pytest.fixture
def stream_server(tmp_path: Path) -> Iterator[StreamServer]:
    server = start_stream_server(tmp_path / "nginx")
    yield server
    stop(server.process)


@dataclass
class TurnServer:
    site: TurnSite
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"turn:{self.site.listen_ip}:{self.site.port}"


def start_turn_server(folder: Path, *, listen_ip: str = "127.0.0.1") -> TurnServer:
    turnserver = require_program("turnserver", "coturn")
    low = 40000 + (os.getpid() * 97) % 20000
    site = TurnSite(
        folder,
        ensure_secret(folder / "turn.secret"),
        listen_ip=listen_ip,
        port=free_port(socket.SOCK_DGRAM),
        min_port=low,
        max_port=low + 200,
        allow_loopback_peers=listen_ip.startswith("127."),
    )
    site.write()
    process = subprocess.Popen(
        site.command(turnserver, foreground=True), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    log = folder / "turnserver.log"
    deadline = time.monotonic() + 15
    while not (log.exists() and "Total General servers" in log.read_text(errors="replace")):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            text = log.read_text(errors="replace") if log.exists() else ""
            raise AssertionError(f"coturn did not come up:\n{text[-3000:]}")
        time.sleep(0.1)
    return TurnServer(site, process)


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[TurnServer]:
    server = start_turn_server(tmp_path / "coturn")
    yield server
    stop(server.process)
