"""背靠背 mediation: the arbitrator talks with one side alone.

The other side neither sees nor hears it; nothing of it is streamed, transcribed or recorded as
sound (the pictures are recorded, the live feed is slated). The record says when, not what.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from court.core.events import EventType
from court.core.timeline import Timeline
from court.host.errors import HostError
from court.host.lobby import RemoteParty
from court.live.assembly import AssembledHearing
from devices.broadcast.mix import AudioSubscription
from devices.clock import Clock
from devices.media import AudioChunk

WHOLE_FEED = "*"
CAUCUS_HOLD = "caucus"
"""The recorder hold of a caucus: independent of device faults and other holds."""
SIDES = ("applicant", "respondent")


class GatedAudio:
    """A listener's sound, silenced while they may not hear (the other side's caucus)."""

    def __init__(self, source: AudioSubscription, allowed: Callable[[], bool]) -> None:
        self._source = source
        self._allowed = allowed

    def get(self, timeout: float | None = None) -> AudioChunk | None:
        chunk = self._source.get(timeout)
        if chunk is None or self._allowed():
            return chunk
        return AudioChunk(np.zeros_like(chunk.samples), chunk.sample_rate, chunk.t)

    def close(self) -> None:
        self._source.close()


class Caucus:
    """Whether a caucus runs, with which side. Thread-safe: listeners ask from media threads."""

    def __init__(self, clock: Clock, timeline: Timeline) -> None:
        self._clock = clock
        self._timeline = timeline
        self._current: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._current is not None

    def to_json(self) -> dict[str, Any] | None:
        current = self._current
        return dict(current) if current is not None else None

    def start(self, side: str, running: Callable[[], AssembledHearing], *, actor: str) -> None:
        """Begin the private talk with ``side``; ``running`` gives the hearing (or refuses: not running)."""
        if side not in SIDES:
            raise HostError(
                "bad_side", "背靠背调解须指明申请人方或被申请人方 (side: applicant or respondent)"
            )
        assembled = running()
        with self._lock:
            if self._current is not None:
                raise HostError("caucus_running", "背靠背调解正在进行 (a caucus is already running)")
            self._current = {"side": side, "started": round(self._clock.now(), 3)}
        assembled.live.mask(WHOLE_FEED, "slate", "背靠背调解 (caucus)", actor=actor)
        assembled.session.recording.hold_audio("背靠背调解，不录音 (caucus: not recorded)", CAUCUS_HOLD)
        self._timeline.append(EventType.CAUCUS_STARTED, {"side": side}, actor=actor)

    def end(self, running: Callable[[], AssembledHearing], *, actor: str) -> None:
        assembled = running()
        with self._lock:
            if self._current is None:
                raise HostError("no_caucus", "没有进行中的背靠背调解 (no caucus is running)")
            side = self._current["side"]
            self._current = None
        assembled.session.recording.release_audio("背靠背调解结束 (caucus ended)", CAUCUS_HOLD)
        assembled.live.unmask(WHOLE_FEED, "背靠背调解结束 (caucus ended)", actor=actor)
        self._timeline.append(EventType.CAUCUS_ENDED, {"side": side}, actor=actor)

    def hears(self, party: RemoteParty | None) -> bool:
        """Whether a remote party may hear and see the hearing now: not during the other side's
        caucus (someone not in the lobby hears nothing of one)."""
        current = self._current
        if current is None:
            return True
        if party is None:
            return False
        side = "applicant" if party.participant.role.value.startswith("applicant") else "respondent"
        return bool(side == current["side"])

    def gate(self, source: AudioSubscription, party: RemoteParty | None) -> GatedAudio:
        """``source`` for one listener: a party hears during their own side's caucus only; viewers
        and the public (``party`` None) hear silence during any caucus."""
        if party is not None:
            return GatedAudio(source, lambda: self.hears(party))
        return GatedAudio(source, lambda: not self.running)
