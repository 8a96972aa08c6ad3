"""Waking a hearing's event streams the moment its timeline is written in this process.

Each open event stream (``/events/stream``) reads the store for new events and, finding none, waits.
Waiting a fixed quarter second put that much between a line being written and the clerk seeing it;
the stream now waits on the hearing's doorbell, which the hearing's timeline rings on every append
(on whichever thread wrote it). The wait keeps a timeout: events written by another process (another
room's node, a command-line tool) still arrive by polling.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class Doorbell:
    """One hearing's bell: :meth:`ring` from any thread; :meth:`arm` then :meth:`wait` on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: set[asyncio.Event] = set()
        self._lock = threading.Lock()

    def ring(self, _event: Any = None) -> None:
        """A timeline listener: called on the appending thread, so it only schedules the wake-ups."""
        with self._lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            self._loop.call_soon_threadsafe(waiter.set)

    def arm(self) -> asyncio.Event:
        """Listen from now (before reading the store, so an append in between is not missed)."""
        waiter = asyncio.Event()
        with self._lock:
            self._waiters.add(waiter)
        return waiter

    async def wait(self, waiter: asyncio.Event, timeout: float) -> None:
        """Until the bell rang since :meth:`arm` or ``timeout`` seconds passed; then disarmed."""
        try:
            await asyncio.wait_for(waiter.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self.disarm(waiter)

    def disarm(self, waiter: asyncio.Event) -> None:
        with self._lock:
            self._waiters.discard(waiter)
