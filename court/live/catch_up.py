"""After a restart, the speech recorded before it that has no transcript line yet.

Recognition runs behind the hearing (tens of seconds on a loaded machine), and a crash loses whatever
it had not committed: the utterances queued for the decoder, the one being decoded, the one still
being spoken. Their audio is in the recording all the same. So the way back (:mod:`court.live.recovery`)
plans, from the timeline alone, which stretch of each channel may hold speech without a line
(:func:`plan_backlog`), and the transcription reads those stretches back from the recorded segments
and transcribes them, oldest first, before its live lines go on (:func:`transcribe_backlog`).

What cannot be read back is a :class:`Gap`, written to the timeline and printed in the 笔录 with its
time span and reason: the last moments before a crash that never reached the disk, a segment file that
is missing or unreadable, a catch-up that failed.

Where to start on each channel. One decoder works through the utterances of every channel in the
order their speakers finished, so once a line ending at ``e`` is committed, every utterance that ended
well before ``e`` has been committed or rejected too (as crosstalk, or as no speech). An utterance
still pending may have begun up to an utterance's length, plus the time voice detection and the
crosstalk check hold it, before ``e``. A channel is therefore read back from its own last line, but
never from earlier than :data:`MARGIN` before the hearing's last line; no line can overlap that
stretch, since a channel's lines do not overlap and come in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import load_hearing
from court.core.events import EventType
from court.core.timeline import TimelineEvent
from court.db.models import RecordingSegment
from court.live.playback import audio_between
from devices.media import Samples
from devices.recording.files import safe_join
from transcripts.stream import LiveTranscriber, Rejected, Utterance

MARGIN = 30.0
"""Hearing seconds before the last line from which every channel is read back: an utterance is at
most ``max_utterance_seconds`` long (20 by default; see :func:`margin_for`), and voice detection and
the crosstalk check hold a finished one a few seconds at most before it joins the decoder's queue."""
GAP_MIN = 1.0
"""A stretch of lost audio shorter than this is the recorder's ordinary slack, not a gap."""
WINDOW = 20.0
"""Hearing seconds read back at a time: the decoder's queue stays short (it drops beyond 64)."""
SAMPLE_RATE = 16000
_CHUNK = SAMPLE_RATE
"""Audio is fed in one-second chunks, every channel in time order, as capture would deliver it."""

NOT_SAVED = "系统中断时最后一段录音未能写入 (audio not saved at the crash)"


def margin_for(max_utterance_seconds: float) -> float:
    """:data:`MARGIN` for a transcriber whose utterances last at most ``max_utterance_seconds``."""
    return max_utterance_seconds + 10.0


@dataclass(frozen=True)
class Stretch:
    """Recorded audio of one channel to transcribe: ``start``–``end`` on the hearing clock."""

    source: str
    start: float
    end: float


@dataclass(frozen=True)
class Gap:
    """A stretch of the hearing whose speech cannot be transcribed, and why."""

    start: float
    end: float
    sources: tuple[str, ...]
    reason: str

    def payload(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "sources": list(self.sources),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Backlog:
    stretches: tuple[Stretch, ...]
    gaps: tuple[Gap, ...]
    interrupted_at: float
    """Hearing seconds of the last thing recorded before the restart."""

    @property
    def start(self) -> float:
        return min((s.start for s in self.stretches), default=self.interrupted_at)

    @property
    def end(self) -> float:
        return max((s.end for s in self.stretches), default=self.interrupted_at)

    @property
    def sources(self) -> list[str]:
        return sorted({s.source for s in self.stretches})


def plan_backlog(
    events: Sequence[TimelineEvent],
    sources: Collection[str],
    restarted: TimelineEvent,
    *,
    margin: float = MARGIN,
    speakers: Collection[str] | None = None,
) -> Backlog:
    """What to read back of ``sources`` (the transcribed channels), from the timeline as it stands
    after ``restarted`` (the ``process.restarted`` event) and the recording's repair. Gaps are named
    for ``speakers`` only (default: every source): the microphone of an empty seat loses nobody's
    words."""
    before = [e for e in events if e.seq < restarted.seq]
    lines = [e.payload for e in before if e.type == EventType.UTTERANCE]
    segments = [
        e.payload
        for e in events
        if e.type == EventType.RECORDING_SEGMENT and float(e.payload["start"]) < restarted.t
    ]
    interrupted_at = max([e.t for e in before] + [float(p["end"]) for p in segments], default=0.0)
    safe = max((float(p["end"]) for p in lines), default=float("-inf")) - margin
    last_line: dict[str, float] = {}
    for p in lines:
        last_line[str(p["source"])] = max(last_line.get(str(p["source"]), float("-inf")), float(p["end"]))
    recorded: dict[str, list[tuple[float, float]]] = {}
    for p in segments:
        source, start, end = str(p["source"]), float(p["start"]), float(p["end"])
        if source in sources and p.get("media", "audio") == "audio" and end > start:
            recorded.setdefault(source, []).append((start, end))

    stretches = []
    for source, spans in sorted(recorded.items()):
        start = max(last_line.get(source, safe), safe, min(a for a, _ in spans))
        end = max(b for _, b in spans)
        if end - start >= 0.2:
            stretches.append(Stretch(source, start, end))

    # The channels the crash cut off while recording: their open segment was repaired just now.
    cut_off = {
        str(e.payload["source"])
        for e in events
        if e.seq > restarted.seq
        and e.type == EventType.RECORDING_SEGMENT
        and e.payload["status"] == "defective"
    }
    lost = {
        source: max((b for _, b in recorded.get(source, [])), default=None)
        for source in sorted(cut_off & set(sources if speakers is None else speakers))
    }
    tails = {s: end for s, end in lost.items() if end is not None and interrupted_at - end >= GAP_MIN}
    return Backlog(tuple(stretches), tuple(_tail_gaps(tails, interrupted_at)), interrupted_at)


_TOGETHER = 2.0
"""Channels whose saved audio ends within this many seconds of each other share one gap."""


def _tail_gaps(tails: dict[str, float], interrupted_at: float) -> list[Gap]:
    """One gap for the channels whose saved audio ends about together (the recorder writes them
    side by side), so the 笔录 neither repeats one stop per microphone nor claims a channel lost
    from an earlier time than it was."""
    gaps: list[Gap] = []
    group: list[tuple[float, str]] = []
    for end, source in sorted((end, source) for source, end in tails.items()):
        if group and end - group[0][0] > _TOGETHER:
            gaps.append(Gap(group[0][0], interrupted_at, tuple(sorted(s for _, s in group)), NOT_SAVED))
            group = []
        group.append((end, source))
    if group:
        gaps.append(Gap(group[0][0], interrupted_at, tuple(sorted(s for _, s in group)), NOT_SAVED))
    return gaps


AudioReader = Callable[[str, float, float], Samples]
"""16 kHz mono samples of one channel between two hearing times; raises when they cannot be read."""


def recorded_audio(sessions: sessionmaker[Session], hearing_id: int) -> AudioReader:
    """Read a channel back from the hearing's recorded segments; a listed segment whose file is gone
    is an error (:func:`audio_between` alone would play it as silence)."""
    root = load_hearing(sessions, hearing_id).recording_root

    def read(source: str, start: float, end: float) -> Samples:
        with sessions() as session:
            files = session.scalars(
                select(RecordingSegment.file).where(
                    RecordingSegment.hearing_id == hearing_id,
                    RecordingSegment.source == source,
                    RecordingSegment.end > start,
                    RecordingSegment.start < end,
                )
            ).all()
        missing = [f for f in files if root is None or not _exists(Path(root), f)]
        if missing:
            raise FileNotFoundError(f"录音文件缺失 (missing): {', '.join(missing)}")
        return audio_between(sessions, hearing_id, source, start, end, sample_rate=SAMPLE_RATE, pad=0.0)

    return read


def _exists(root: Path, relpath: str) -> bool:
    path = safe_join(root, relpath)
    return path is not None and path.is_file()


@dataclass
class BacklogResult:
    utterances: list[Utterance] = field(default_factory=list)
    """In order of their start."""
    rejected: list[Rejected] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    """Stretches that could not be read back."""
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0


class CatchUpCancelled(Exception):
    """The hearing's process is stopping while the backlog was being transcribed."""


TranscriberFactory = Callable[[Callable[[Utterance], None], Callable[[Rejected], None]], LiveTranscriber]


def transcribe_backlog(
    backlog: Backlog,
    read: AudioReader,
    transcriber: TranscriberFactory,
    *,
    cancelled: Callable[[], bool] = lambda: False,
    window: float = WINDOW,
    timeout: float = 600.0,
) -> BacklogResult:
    """Transcribe ``backlog`` through a transcriber of its own (the live one's options, crosstalk
    check and speaker splitters), feeding every channel in time order a window at a time."""
    result = BacklogResult()
    live = transcriber(result.utterances.append, result.rejected.append)
    try:
        t = backlog.start
        while t < backlog.end:
            if cancelled():
                raise CatchUpCancelled
            until = min(t + window, backlog.end)
            chunks: list[tuple[float, str, Samples]] = []
            for stretch in backlog.stretches:
                a, b = max(t, stretch.start), min(until, stretch.end)
                if b - a < 0.01:
                    continue
                try:
                    samples = np.asarray(read(stretch.source, a, b), dtype=np.float32)
                except Exception as exc:  # one unreadable stretch must not cost the rest
                    result.gaps.append(
                        Gap(a, b, (stretch.source,), f"录音无法读取 ({type(exc).__name__}: {exc})")
                    )
                    continue
                chunks += [
                    (a + k / SAMPLE_RATE, stretch.source, samples[k : k + _CHUNK])
                    for k in range(0, len(samples), _CHUNK)
                ]
            for start, source, chunk in sorted(chunks, key=lambda c: (c[0], c[1])):
                live.feed(source, chunk, SAMPLE_RATE, start)
            _wait(live.wait_idle, cancelled, timeout, f"decoding the recording from {t:.1f} s")
            t = until
        _wait(live.flush, cancelled, timeout, "decoding the last recovered utterances")
    finally:
        live.close(0.0 if cancelled() else timeout)
    result.utterances.sort(key=lambda u: (u.start, u.source))
    result.audio_seconds = live.decoded_audio
    result.decode_seconds = live.decode_seconds
    return result


def _wait(step: Callable[[float], bool], cancelled: Callable[[], bool], timeout: float, what: str) -> None:
    """``step`` (wait for the transcriber) in short turns, so a stop is heard within a second."""
    deadline = time.monotonic() + timeout
    while not step(1.0):
        if cancelled():
            raise CatchUpCancelled
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} took over {timeout:.0f} s")


def merge_gaps(gaps: Sequence[Gap]) -> list[Gap]:
    """One gap per stretch and reason: the pieces of one window lost on several channels together."""
    merged: list[Gap] = []
    for gap in sorted(gaps, key=lambda g: (g.reason, g.start)):
        last = merged[-1] if merged else None
        if last is not None and last.reason == gap.reason and gap.start <= last.end + GAP_MIN:
            merged[-1] = Gap(
                last.start, max(last.end, gap.end), tuple(sorted({*last.sources, *gap.sources})), last.reason
            )
        else:
            merged.append(gap)
    return sorted(merged, key=lambda g: g.start)
