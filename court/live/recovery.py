"""After the process running a hearing died under it (kill -9, power loss, a server restart): the one
way back, for the server's host and ``court demo --resume`` alike.

The timeline says where the hearing stood. A hearing that was running carries on from there: the
restart goes on the record with that state, the recording folder is repaired (segments left open
are kept, hashed and flagged defective; the ``recording.recovered`` event says how long, on the wall
clock, nothing was recorded) and recording starts again. The speech recorded before the stop that
has no line yet is then transcribed from the recording, ahead of the live lines
(:mod:`court.live.catch_up`); what cannot be read back is a gap in the 笔录. A start that failed or was
cut off while preparing may instead be run again in full (:func:`retry_start`), each step on the record.
"""

from __future__ import annotations

from collections.abc import Sequence

from court.core.events import EventType
from court.core.lifecycle import HearingState
from court.core.timeline import TimelineEvent
from court.live.catch_up import Backlog, margin_for, plan_backlog, recorded_audio
from court.live.recording import Outage, last_write
from court.live.session import HearingSession
from devices.clock import Clock

RESUMABLE = frozenset({HearingState.IN_SESSION, HearingState.RECESS})
"""States a hearing can be in when the process stops under it and still carry on recording."""

CARRIES_ON = RESUMABLE | {HearingState.PREPARING}
"""States :func:`carry_on_after_restart` resumes recording in (preparing: opened on the clerk's word)."""


def carry_on_after_restart(
    session: HearingSession, reason: str, open_segments: str, *, wall: Clock | None = None
) -> HearingState:
    """Record the restart (``process.restarted`` with the recorded state and ``reason``) and, unless
    the hearing had not started or was over, repair the recording (``open_segments``: why segments
    were left open), record again, and transcribe the backlog from the recording before the live
    lines. ``wall``: a clock whose :meth:`~devices.clock.Clock.wall` is the real time (the hearing
    clock's, by default; a demo's runs faster). Returns the state the hearing was in."""
    state = session.state
    events = session.timeline.events()
    # Before the repair: it writes the manifest, and the files' times are the last sign of life.
    outage = measure_outage(session, events, wall or session.clock)
    restarted = session.timeline.append(EventType.PROCESS_RESTARTED, {"state": state.value, "reason": reason})
    if state not in CARRIES_ON:
        return state
    transcription = session.transcription
    if transcription is not None:
        transcription.hold()  # the lines recovered from the recording go first
    session.recording.note_outage(outage)
    session.carry_on(open_segments)
    if transcription is not None:
        channels = transcription.channels
        backlog = plan_backlog(
            session.timeline.events(),
            list(channels),
            restarted,
            margin=margin_for(transcription.config.max_utterance_seconds),
            speakers=[s for s, c in channels.items() if c.participants] or None,
        )
        record_gaps(session, backlog)
        transcription.catch_up(
            backlog, recorded_audio(session.sessions, session.hearing.id), session.timeline
        )
    return state


def measure_outage(session: HearingSession, events: Sequence[TimelineEvent], wall: Clock) -> Outage:
    """From the recording's last write (the newest file in its folder; without one, the last event)
    to now, on ``wall``; ``interrupted_at`` is the hearing time of the last event."""
    now = wall.wall()
    last = events[-1] if events else None
    since = last_write(session.recording.root) or (last.wall if last is not None else now)
    return Outage(since=min(since, now), until=now, interrupted_at=max((e.t for e in events), default=0.0))


def record_gaps(session: HearingSession, backlog: Backlog) -> None:
    for gap in backlog.gaps:
        session.timeline.append(EventType.TRANSCRIPTION_GAP, gap.payload())


def retry_start(session: HearingSession, reason: str) -> None:
    """Before running a start again that failed or was cut off: say so on the record, and keep and
    flag the segments a crash left open before recording starts again."""
    session.timeline.append(EventType.STARTUP_RETRIED, {"reason": reason})
    session.recording.recover(session.timeline, "上次启动时未关闭的录制段 (left open)")
