"""After the process running a hearing died under it (kill -9, power loss, a server restart): the one
way back, for the server's host and ``court demo --resume`` alike.

The timeline says where the hearing stood. A hearing that was running carries on from there: the
restart goes on the record with that state, the recording folder is repaired (segments left open
are kept, hashed and flagged defective) and recording starts again. A start that failed or was cut
off while preparing may instead be run again in full (:func:`retry_start`), each step on the record.
"""

from __future__ import annotations

from court.core.events import EventType
from court.core.lifecycle import HearingState
from court.live.session import HearingSession

RESUMABLE = frozenset({HearingState.IN_SESSION, HearingState.RECESS})
"""States a hearing can be in when the process stops under it and still carry on recording."""

CARRIES_ON = RESUMABLE | {HearingState.PREPARING}
"""States :func:`carry_on_after_restart` resumes recording in (preparing: opened on the clerk's word)."""


def carry_on_after_restart(session: HearingSession, reason: str, open_segments: str) -> HearingState:
    """Record the restart (``process.restarted`` with the recorded state and ``reason``) and, unless
    the hearing had not started or was over, repair the recording (``open_segments``: why segments
    were left open) and record again. Returns the state the hearing was in."""
    state = session.state
    session.timeline.append(EventType.PROCESS_RESTARTED, {"state": state.value, "reason": reason})
    if state in CARRIES_ON:
        session.carry_on(open_segments)
    return state


def retry_start(session: HearingSession, reason: str) -> None:
    """Before running a start again that failed or was cut off: say so on the record, and keep and
    flag the segments a crash left open before recording starts again."""
    session.timeline.append(EventType.STARTUP_RETRIED, {"reason": reason})
    session.recording.recover(session.timeline, "上次启动时未关闭的录制段 (left open)")
