"""The hearing lifecycle as an explicit state machine (办案规则 2017, Art. 41–43).

scheduled → preparing → in session (phases) ⇄ recess → closed → signing → archived.

The lifecycle is a projection of the hearing's timeline: :meth:`Lifecycle.apply` folds persisted
events into the state, and every command method first checks that the transition is allowed and
returns the event to persist. Nothing changes until the event is in the timeline, so the state after
a crash is exactly what the timeline says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from court.core.events import EventType


class HearingState(StrEnum):
    SCHEDULED = "scheduled"
    PREPARING = "preparing"
    IN_SESSION = "in_session"
    RECESS = "recess"
    CLOSED = "closed"
    SIGNING = "signing"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    HearingState.SCHEDULED: "待开庭",
    HearingState.PREPARING: "庭前准备",
    HearingState.IN_SESSION: "庭审中",
    HearingState.RECESS: "休庭",
    HearingState.CLOSED: "已闭庭",
    HearingState.SIGNING: "笔录签署中",
    HearingState.ARCHIVED: "已归档",
}


class Phase(StrEnum):
    """Phases of the session proper, in their legal order."""

    OPENING = "opening"
    INVESTIGATION = "investigation"
    EVIDENCE = "evidence"
    DEBATE = "debate"
    FINAL_STATEMENTS = "final_statements"
    MEDIATION = "mediation"

    @property
    def label(self) -> str:
        return _PHASE_LABELS[self]

    @property
    def order(self) -> int:
        return list(Phase).index(self)


_PHASE_LABELS = {
    Phase.OPENING: "开庭宣布",
    Phase.INVESTIGATION: "庭审调查",
    Phase.EVIDENCE: "举证质证",
    Phase.DEBATE: "辩论",
    Phase.FINAL_STATEMENTS: "最后陈述",
    Phase.MEDIATION: "调解",
}


class InvalidTransition(Exception):
    """A lifecycle command that the hearing's current state or the rules do not allow."""

    def __init__(self, action: str, state: HearingState, why: str) -> None:
        super().__init__(f"cannot {action} while the hearing is {state.value} ({state.label}): {why}")
        self.action = action
        self.state = state
        self.why = why


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event a command wants persisted: its type and payload."""

    type: EventType
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Lifecycle:
    state: HearingState = HearingState.SCHEDULED
    phase: Phase | None = None
    attendance_checked: bool = False
    rules_announced: bool = False
    recess_count: int = 0

    @classmethod
    def replay(cls, events: Iterable[tuple[EventType, Mapping[str, Any]]]) -> Lifecycle:
        lifecycle = cls()
        for event_type, payload in events:
            lifecycle.apply(event_type, payload)
        return lifecycle

    # -- commands: check, then return the event to persist ------------------------------------

    def prepare(self) -> PendingEvent:
        # Again while still in preparation: a start that failed (no camera) or was cut off (a crash)
        # is run again from the beginning, each step on the record in order.
        self._require(
            "start preparing",
            {HearingState.SCHEDULED, HearingState.PREPARING},
            "only a hearing not yet opened can be started",
        )
        return PendingEvent(EventType.HEARING_PREPARING)

    def check_attendance(self, present: list[str], absent: list[str]) -> PendingEvent:
        self._require(
            "conclude the attendance check",
            {HearingState.PREPARING},
            "attendance is checked during preparation (Art. 41)",
        )
        return PendingEvent(EventType.ATTENDANCE_CHECKED, {"present": present, "absent": absent})

    def announce_rules(self, started_at: float, duration: float) -> PendingEvent:
        self._require(
            "announce the tribunal discipline",
            {HearingState.PREPARING},
            "the discipline is announced before the opening (Art. 41)",
        )
        if not self.attendance_checked:
            raise InvalidTransition(
                "announce the tribunal discipline",
                self.state,
                "the recorder checks who is present before announcing the discipline (Art. 41)",
            )
        return PendingEvent(EventType.RULES_PLAYED, {"started_at": started_at, "duration": duration})

    def open(self, override_reason: str | None = None) -> PendingEvent:
        self._require("open the hearing", {HearingState.PREPARING}, "only a hearing in preparation can open")
        missing = []
        if not self.attendance_checked:
            missing.append("attendance has not been checked")
        if not self.rules_announced:
            missing.append("the tribunal discipline has not been announced")
        if missing and not (override_reason and override_reason.strip()):
            raise InvalidTransition(
                "open the hearing",
                self.state,
                "; ".join(missing) + " (Art. 41) — the clerk may open anyway only by recording why",
            )
        payload: dict[str, Any] = {"phase": Phase.OPENING.value}
        if missing:
            payload["override_reason"] = override_reason
            payload["skipped"] = missing
        return PendingEvent(EventType.HEARING_OPENED, payload)

    def change_phase(self, phase: Phase, reason: str | None = None) -> PendingEvent:
        self._require("change phase", {HearingState.IN_SESSION}, "phases change only while in session")
        assert self.phase is not None
        if phase == self.phase:
            raise InvalidTransition("change phase", self.state, f"the hearing is already in {phase.label}")
        if phase == Phase.OPENING:
            raise InvalidTransition("change phase", self.state, "the hearing has already been opened")
        if phase.order < self.phase.order and not (reason and reason.strip()):
            raise InvalidTransition(
                "change phase",
                self.state,
                f"going back from {self.phase.label} to {phase.label} needs a recorded reason",
            )
        payload: dict[str, Any] = {"phase": phase.value, "from": self.phase.value}
        if reason:
            payload["reason"] = reason
        return PendingEvent(EventType.HEARING_PHASE, payload)

    def recess(self, reason: str) -> PendingEvent:
        self._require("recess", {HearingState.IN_SESSION}, "only a hearing in session can recess")
        if not reason.strip():
            raise InvalidTransition("recess", self.state, "a recess needs a reason for the record")
        return PendingEvent(EventType.HEARING_RECESSED, {"reason": reason})

    def resume(self) -> PendingEvent:
        self._require("resume", {HearingState.RECESS}, "only a hearing in recess can resume")
        return PendingEvent(EventType.HEARING_RESUMED, {"phase": self.phase.value if self.phase else None})

    def close(self) -> PendingEvent:
        self._require("close the hearing", {HearingState.IN_SESSION}, "only a hearing in session can close")
        return PendingEvent(EventType.HEARING_CLOSED)

    def send_for_signing(self) -> PendingEvent:
        self._require("send the 笔录 for signing", {HearingState.CLOSED}, "the hearing must be closed first")
        return PendingEvent(EventType.HEARING_SIGNING)

    def archive(self) -> PendingEvent:
        self._require("archive", {HearingState.SIGNING}, "the 笔录 must have gone through signing")
        return PendingEvent(EventType.HEARING_ARCHIVED)

    # -- projection ------------------------------------------------------------------------------

    def apply(self, event_type: EventType, payload: Mapping[str, Any]) -> None:
        """Fold one persisted event into the state (events of other types are ignored)."""
        match event_type:
            case EventType.HEARING_PREPARING:
                # A new start: its attendance check and discipline are still to come.
                self.state = HearingState.PREPARING
                self.attendance_checked = False
                self.rules_announced = False
            case EventType.ATTENDANCE_CHECKED:
                self.attendance_checked = True
            case EventType.RULES_PLAYED:
                self.rules_announced = True
            case EventType.HEARING_OPENED:
                self.state = HearingState.IN_SESSION
                self.phase = Phase.OPENING
            case EventType.HEARING_PHASE:
                self.phase = Phase(payload["phase"])
            case EventType.HEARING_RECESSED:
                self.state = HearingState.RECESS
                self.recess_count += 1
            case EventType.HEARING_RESUMED:
                self.state = HearingState.IN_SESSION
            case EventType.HEARING_CLOSED:
                self.state = HearingState.CLOSED
            case EventType.HEARING_SIGNING:
                self.state = HearingState.SIGNING
            case EventType.HEARING_ARCHIVED:
                self.state = HearingState.ARCHIVED
            case _:
                pass

    def _require(self, action: str, allowed: set[HearingState], why: str) -> None:
        if self.state not in allowed:
            raise InvalidTransition(action, self.state, why)
