"""Public HLS viewers through nginx: is every segment on time, what does nginx spend per 100
viewers, and does the court's app spend more as viewers come (it must not)?

A real ``court serve`` (temporary store, the tests' config) runs the approved demo hearing with the
public stream on and ``--stream-url``: its relay PUTs the released HLS into nginx (started from
deploy/nginx on free loopback ports); viewers ask the app once for their signed link (as the public
page does) and from then on fetch only from nginx, as a player does: the playlist every target
duration, then each new segment (at the start, the last three, like hls.js at the live edge).

A segment is late when it has not fully arrived one segment duration after the playlist fetch that
first listed it (a player's buffer then drains); a failed fetch is late too. Goal: < 1 late segment
per viewer-minute. CPU is read from /proc (user + system, all threads and child processes) for
nginx (master and workers) and for the app, over each level's steady part (after the viewers'
start). The viewers run in ``--clients`` processes of their own (one Python process cannot pull
hundreds of streams), whose CPU is shown apart: on two cores they compete with nginx and the
hearing, so late segments with an idle nginx point at the load generator. The app's cost of
viewers joining (one ``/info`` each) is shown apart too.

    .venv/bin/python bench/bench_hls_viewers.py                          # 0, 200, 500 viewers, 30 s each
    .venv/bin/python bench/bench_hls_viewers.py --viewers 0 100 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.web.conftest import LiveServer, ServerFailed, start_live_server, stop_live_server  # noqa: E402
from tests.web.edge_services import StreamServer, start_stream_server, stop  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and its living descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICK
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


@dataclass
class Tally:
    segments: int = 0
    late: int = 0
    failed: int = 0
    bytes: int = 0
    link_seconds: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    """The load generator's own CPU (this client process)."""

    def add(self, other: Tally) -> None:
        self.segments += other.segments
        self.late += other.late
        self.failed += other.failed
        self.bytes += other.bytes
        self.link_seconds += other.link_seconds
        self.cpu_seconds += other.cpu_seconds


async def viewer(app_url: str, hid: int, steady: float, stop_at: float, tally: Tally, stagger: float) -> None:
    """One player: its link from the app once, then the playlist and new segments from nginx.
    Only what is fetched from ``steady`` on is counted."""
    await asyncio.sleep(stagger)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        t0 = time.monotonic()
        async with session.get(f"{app_url}/public/{hid}/info") as r:
            info = await r.json()
        tally.link_seconds.append(time.monotonic() - t0)
        url = info["hls_url"]
        base = url.rsplit("/", 1)[0]
        seen: set[str] = set()
        first = True
        target = 2.0
        while time.monotonic() < stop_at:
            listed_at = time.monotonic()
            counted = listed_at >= steady
            try:
                async with session.get(url) as r:
                    text = await r.text() if r.status == 200 else ""
            except (aiohttp.ClientError, TimeoutError):
                text = ""
            if not text:
                tally.failed += counted
                await asyncio.sleep(1)
                continue
            for line in text.splitlines():
                if line.startswith("#EXT-X-TARGETDURATION:"):
                    target = float(line.split(":", 1)[1])
            names = [n for n in text.splitlines() if n and not n.startswith("#")]
            fresh = [n for n in names if n not in seen]
            if first:
                seen.update(fresh[:-3])
                fresh = fresh[-3:]
            for name in fresh:
                seen.add(name)
                size, ok = 0, False
                try:
                    async with session.get(f"{base}/{name}") as r:
                        async for chunk in r.content.iter_chunked(1 << 16):
                            size += len(chunk)
                        ok = r.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if first or not counted:
                    continue  # the start's catch-up is not a steady-state deadline
                tally.segments += 1
                tally.bytes += size
                tally.failed += not ok
                tally.late += not ok or time.monotonic() - listed_at > target
            first = False
            await asyncio.sleep(max(0.0, listed_at + target - time.monotonic()))


def client(app_url: str, hid: int, count: int, ramp_until: float, stop_at: float) -> Tally:
    """``count`` players in one process (run in a pool: one Python process alone cannot pull
    hundreds of streams)."""
    tally = Tally()
    cpu0 = time.process_time()

    async def run() -> None:
        now = time.monotonic()
        await asyncio.gather(
            *(
                viewer(app_url, hid, ramp_until, stop_at, tally, random.uniform(0, (ramp_until - now) * 0.6))
                for _ in range(count)
            )
        )

    asyncio.run(run())
    tally.cpu_seconds = time.process_time() - cpu0
    return tally


def level(
    server: LiveServer, nginx: StreamServer, hid: int, viewers: int, seconds: float, clients: int
) -> dict[str, float]:
    ramp = min(10.0, 3.0 + viewers / 100)
    app_pid, nginx_pid = server.process.pid, nginx.process.pid
    a0 = tree_cpu(app_pid)
    start = time.monotonic()
    steady, stop_at = start + ramp, start + ramp + seconds
    shares = [viewers // clients + (k < viewers % clients) for k in range(clients)] if viewers else []
    tally = Tally()
    spawn = multiprocessing.get_context("spawn")  # not fork: this process runs threads
    with ProcessPoolExecutor(max_workers=max(1, len(shares)), mp_context=spawn) as pool:
        futures = [pool.submit(client, server.url, hid, n, steady, stop_at) for n in shares if n]
        time.sleep(max(0.0, steady - time.monotonic()))
        a1, n1, t1 = tree_cpu(app_pid), tree_cpu(nginx_pid), time.monotonic()
        for future in futures:
            tally.add(future.result())
    time.sleep(max(0.0, stop_at - time.monotonic()))
    a2, n2, t2 = tree_cpu(app_pid), tree_cpu(nginx_pid), time.monotonic()
    span = t2 - t1
    links = sorted(tally.link_seconds)
    return {
        "viewers": viewers,
        "seconds": span,
        "app_core": (a2 - a1) / span,
        "app_ramp_core_s": a1 - a0,
        "nginx_core": (n2 - n1) / span,
        "client_core": tally.cpu_seconds / (t2 - start),
        "segments": tally.segments,
        "late": tally.late,
        "late_per_viewer_min": tally.late / (viewers * span / 60) if viewers else 0.0,
        "failed": tally.failed,
        "mbit_s": tally.bytes * 8 / 1e6 / span,
        "link_ms_p50": 1000 * links[len(links) // 2] if links else 0.0,
    }


def start_hearing(server: LiveServer, clerk: str, hid: int) -> None:
    r = server.api(clerk, "POST", f"/api/hearings/{hid}/start")
    if r.status_code != 200:
        raise SystemExit(f"start refused: {r.status_code} {r.text}")
    deadline = time.monotonic() + 300
    while (snap := server.api(clerk, "GET", f"/api/hearings/{hid}").json()).get("host") != "running":
        if time.monotonic() > deadline or snap.get("error"):
            raise SystemExit(f"the hearing did not start: {snap}\n{server.output()}")
        time.sleep(0.5)
    r = server.api(clerk, "POST", f"/api/hearings/{hid}/livestream", json={"on": True})
    if r.status_code != 200:
        raise SystemExit(f"livestream refused: {r.status_code} {r.text}")
    deadline = time.monotonic() + 120
    while not server.client().get(f"/public/{hid}/info").json().get("ready"):
        if time.monotonic() > deadline:
            raise SystemExit(f"the stream never reached nginx\n{server.output()}")
        time.sleep(0.5)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, nargs="+", default=[0, 200, 500])
    parser.add_argument("--seconds", type=float, default=30.0, help="steady seconds per level (default 30)")
    parser.add_argument("--clients", type=int, default=2, help="viewer processes (default 2)")
    parser.add_argument(
        "--workers", default="auto", help="nginx worker processes (default auto: one per core)"
    )
    args = parser.parse_args()
    cache = REPO / "var" / "cache"
    print(f"load average at start: {load()} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-hls-viewers-") as tmp:
        folder = Path(tmp)
        nginx = start_stream_server(folder / "nginx", workers=args.workers)
        (folder / "server").mkdir()
        try:
            server = start_live_server(
                folder / "server",
                cache,
                args=(
                    *("--relay-url", nginx.ingest, "--stream-url", nginx.public),
                    *("--stream-secret-file", str(nginx.site.var / "stream.secret")),
                ),
            )
        except ServerFailed as exc:
            stop(nginx.process)
            raise SystemExit(str(exc)) from None
        try:
            clerk = server.login("clerk")
            hid = server.approved
            start_hearing(server, clerk, hid)
            print(f"hearing {hid} running, public stream on nginx; load average {load()}", flush=True)
            rows = []
            for n in args.viewers:
                row = level(server, nginx, hid, n, args.seconds, args.clients)
                rows.append(row)
                print(
                    f"{n:4d} viewers: late {row['late']:.0f} of {row['segments']:.0f} segments "
                    f"({row['late_per_viewer_min']:.2f} per viewer-minute; goal < 1), "
                    f"failed {row['failed']:.0f}; nginx {row['nginx_core']:.3f} core; "
                    f"app {row['app_core']:.3f} core (+{row['app_ramp_core_s']:.2f} core·s while they "
                    f"joined, link p50 {row['link_ms_p50']:.0f} ms); "
                    f"{row['mbit_s']:.0f} Mbit/s delivered; the viewers' own processes "
                    f"{row['client_core']:.2f} core; load {load()}",
                    flush=True,
                )
            base = rows[0]
            print("\nsummary (app CPU goal: no growth with viewers; nginx per 100 viewers):")
            for row in rows:
                if row["viewers"]:
                    per100 = (row["nginx_core"] - base["nginx_core"]) * 100 / row["viewers"]
                    print(
                        f"  {row['viewers']:4.0f} viewers: nginx {per100:.3f} core per 100 viewers; app "
                        f"{row['app_core']:.3f} core vs {base['app_core']:.3f} with {base['viewers']:.0f} "
                        f"({row['app_core'] - base['app_core']:+.3f}); late/viewer-minute "
                        f"{row['late_per_viewer_min']:.2f} (goal < 1)"
                    )
        except BaseException:
            print(server.output()[-3000:], file=sys.stderr)
            raise
        finally:
            stop_live_server(server)
            stop(nginx.process)


if __name__ == "__main__":
    main()
