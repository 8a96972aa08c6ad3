"""The web tests' fixtures: the real server (``court serve`` in a subprocess, on a free port, with a
fresh SQLite store and the small test room), its seeded accounts and hearings, and the media a fake
browser camera and microphone play (made here at test time, never committed)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.court.helpers import write_test_config

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("COURT_CHROMIUM", "/usr/bin/chromium"))
SPOKEN = "我请求裁决公司支付拖欠的工资三万六千元。"
"""What the applicant says into the fake microphone."""


def require_chromium() -> None:
    """No browser: fail under CI (it must be installed there), else skip with the reason said."""
    if CHROMIUM.is_file():
        return
    message = f"chromium not found at {CHROMIUM} (set COURT_CHROMIUM; never downloaded by the tests)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def face_material(cache: Path) -> Path:
    """The packaged photos inside ``cache`` (what the seed enrols from): linked to the copy setup put
    in ``var/cache/faces`` (or ``$COURT_FACE_MATERIAL``). Never downloaded here: with photos missing
    the caller fails under CI and is skipped elsewhere, before a server could try to fetch them."""
    from court.demo.face_material import DEMO_FILES, material_folder
    from tests.devices.face.helpers import require_material

    shared = require_material(DEMO_FILES)
    target = material_folder(cache)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(shared.resolve(), target_is_directory=True)
    return target


# -- the server ------------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[str]
    passwords: dict[str, str]
    hearings: list[int]
    """Seeded: the case approved for livestream first, then the one that is not."""
    database: str
    log: list[str] = field(default_factory=list)
    pump: threading.Thread | None = None

    @property
    def approved(self) -> int:
        return self.hearings[0]

    @property
    def unapproved(self) -> int:
        return self.hearings[1]

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def login(self, username: str) -> str:
        with self.client() as c:
            r = c.post("/api/login", json={"username": username, "password": self.passwords[username]})
            assert r.status_code == 200, r.text
            return str(r.json()["token"])

    def api(self, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
        with self.client(token) as c:
            return c.request(method, path, **kw)

    def output(self) -> str:
        return "".join(self.log[-200:])


def _pump(stream: Any, log: list[str]) -> None:
    for line in stream:
        log.append(line)


class ServerFailed(RuntimeError):
    """``court serve`` exited or did not come up; the message holds its output."""


COURT_MAIN = "import sys; from court.cli.main import main; sys.exit(main(sys.argv[1:]))"


def start_live_server(
    folder: Path,
    model_cache: Path,
    *,
    door_seconds: float = 3,
    program: str = COURT_MAIN,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    config: Path | None = None,
    database: str | None = None,
    timeout: float = 240,
) -> LiveServer:
    """``court serve`` on the embedded default in ``folder`` (a test config, SQLite, a free port),
    up and answering, with the accounts and hearings it printed (also used by bench_web_join).
    ``program`` is the Python run with the command line (a test may patch the room before ``main``);
    ``env`` adds to the environment; ``args`` to ``court serve``'s options; ``config`` and
    ``database`` replace the test config and the folder's SQLite file."""
    face_material(model_cache)
    config = config or write_test_config(folder, model_cache, door_seconds=door_seconds)
    port = free_port()
    database = database or f"sqlite:///{folder / 'court.db'}"
    command = [
        sys.executable,
        "-c",
        program,
        *("--config", str(config), "serve", "--host", "127.0.0.1", "--port", str(port)),
        *("--data", str(folder / "data"), "--database", database),
        *args,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    env.pop("COURT_DATABASE_URL", None)
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    log: list[str] = []
    assert process.stdout is not None
    pump = threading.Thread(target=_pump, args=(process.stdout, log), daemon=True)
    pump.start()
    server = LiveServer(f"http://127.0.0.1:{port}", process, {}, [], database, log, pump)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            stop_live_server(server)
            raise ServerFailed(f"court serve exited with {process.returncode}:\n{server.output()}")
        if time.monotonic() > deadline:
            stop_live_server(server)
            raise ServerFailed(f"court serve did not come up in time:\n{server.output()}")
        if any("clerk console" in line for line in log):
            try:
                if httpx.get(f"{server.url}/api/me", timeout=2).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    text = "".join(log)
    server.passwords = dict(re.findall(r"new account: (\w+) / (\S+)", text))
    server.hearings = [int(h) for h in re.findall(r"demo hearing (\d+)", text)]
    return server


def stop_live_server(server: LiveServer) -> None:
    process = server.process
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    if server.pump is not None:
        server.pump.join(5)
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    try:
        server = start_live_server(tmp_path_factory.mktemp("web-server"), model_cache)
    except ServerFailed as exc:
        pytest.fail(str(exc))
    try:
        text = "".join(server.log)
        assert set(server.passwords) >= {"clerk", "supervisor", "observer"}, text
        assert len(server.hearings) == 2, text
        yield server
    finally:
        stop_live_server(server)


# -- the fake camera and microphone ----------------------------------------------------------------


def write_y4m(
    path: Path, image: np.ndarray, *, width: int = 640, height: int = 480, fps: int = 15, seconds: float = 2.0
) -> Path:
    """A still picture as a YUV4MPEG2 clip (4:2:0) that chromium plays as its fake camera, looped."""
    import cv2

    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    frame = np.full((height, width, 3), 96, np.uint8)
    y0, x0 = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    frame[y0 : y0 + resized.shape[0], x0 : x0 + resized.shape[1]] = resized
    planes = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(round(fps * seconds)):
            f.write(b"FRAME\n")
            f.write(planes)
    return path


def write_speech_wav(
    path: Path, cache: Path, text: str = SPOKEN, *, lead: float = 0.5, tail: float = 4.0, rate: int = 48_000
) -> Path:
    """``text`` in the applicant's synthetic voice, with silence around it, 16-bit PCM."""
    import soundfile

    from devices.tts import MandarinSynthesizer, voice_for_role

    speech = MandarinSynthesizer(cache_dir=cache / "tts").synthesize_cached(text, voice_for_role("applicant"))
    samples = np.asarray(speech.samples, dtype=np.float64)
    n = round(len(samples) * rate / speech.sample_rate)
    resampled = np.interp(np.arange(n) * speech.sample_rate / rate, np.arange(len(samples)), samples)
    audio = np.concatenate([np.zeros(round(lead * rate)), resampled, np.zeros(round(tail * rate))])
    soundfile.write(path, np.clip(audio, -1, 1).astype(np.float32), rate, subtype="PCM_16")
    return path


@dataclass(frozen=True)
class FakeMedia:
    video: Path
    audio: Path


@pytest.fixture(scope="session")
def fake_media(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> FakeMedia:
    """The applicant's camera (another photo of the person whose ID photo the seed enrols) and
    microphone (a sentence in the applicant's voice)."""
    from court.demo.face_material import portrait

    folder = tmp_path_factory.mktemp("fake-media")
    faces = face_material(model_cache)
    video = write_y4m(folder / "applicant.y4m", portrait(faces, "obama2.jpg", zoom=2.4))
    audio = write_speech_wav(folder / "applicant.wav", model_cache)
    return FakeMedia(video, audio)


def wait_until(page: Any, expression: str, *, arg: Any = None, timeout: float = 15_000) -> None:
    """Wait until ``expression`` (a JavaScript function of ``arg``, or an expression) is truthy in
    ``page``. Polled from outside: Playwright's ``wait_for_function`` compiles its predicate inside the
    page, which the pages' Content-Security-Policy (no eval) rightly refuses."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(100)
