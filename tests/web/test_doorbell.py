"""The hearing's doorbell: a ring on any thread wakes the stream waiting on it, a ring between arming
and waiting is not lost, and without a ring the wait ends at its timeout (polling goes on)."""

from __future__ import annotations

import asyncio
import threading
import time

from web.doorbell import Doorbell


def test_a_ring_from_another_thread_wakes_the_waiter_at_once() -> None:
    async def scenario() -> float:
        bell = Doorbell(asyncio.get_running_loop())
        waiter = bell.arm()
        threading.Timer(0.05, bell.ring).start()
        started = time.monotonic()
        await bell.wait(waiter, 5.0)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 2.0, "woken by the ring, not by the 5 s timeout"


def test_a_ring_before_the_wait_is_not_lost_and_no_ring_times_out() -> None:
    async def scenario() -> tuple[float, float]:
        bell = Doorbell(asyncio.get_running_loop())
        waiter = bell.arm()
        bell.ring()  # while the stream was still reading the store
        started = time.monotonic()
        await bell.wait(waiter, 5.0)
        rung = time.monotonic() - started
        quiet = bell.arm()
        started = time.monotonic()
        await bell.wait(quiet, 0.2)
        return rung, time.monotonic() - started

    rung, quiet = asyncio.run(scenario())
    assert rung < 2.0
    assert 0.15 <= quiet < 2.0, "nothing rang: the wait ends at its timeout"
