from __future__ import annotations

import pytest

from court.core.events import EventType
from court.core.lifecycle import HearingState, InvalidTransition, Lifecycle, Phase


def _run(lifecycle: Lifecycle, pending: object) -> None:
    from court.core.lifecycle import PendingEvent

    assert isinstance(pending, PendingEvent)
    lifecycle.apply(pending.type, pending.payload)


def _prepared() -> Lifecycle:
    lc = Lifecycle()
    _run(lc, lc.prepare())
    return lc


def test_full_legal_order() -> None:
    lc = _prepared()
    _run(lc, lc.check_attendance(["申请人 张三"], []))
    _run(lc, lc.announce_rules(1.0, 30.0))
    _run(lc, lc.open())
    assert lc.state is HearingState.IN_SESSION and lc.phase is Phase.OPENING
    for phase in (Phase.INVESTIGATION, Phase.EVIDENCE, Phase.DEBATE, Phase.FINAL_STATEMENTS, Phase.MEDIATION):
        _run(lc, lc.change_phase(phase))
    _run(lc, lc.recess("当事人要求休息"))
    assert lc.state is HearingState.RECESS
    _run(lc, lc.resume())
    assert lc.phase is Phase.MEDIATION
    _run(lc, lc.close())
    _run(lc, lc.send_for_signing())
    _run(lc, lc.archive())
    assert lc.state is HearingState.ARCHIVED


def test_cannot_open_before_attendance_and_rules() -> None:
    lc = _prepared()
    with pytest.raises(InvalidTransition, match="attendance has not been checked"):
        lc.open()
    _run(lc, lc.check_attendance([], []))
    with pytest.raises(InvalidTransition, match="discipline has not been announced"):
        lc.open()


def test_rules_need_attendance_first() -> None:
    lc = _prepared()
    with pytest.raises(InvalidTransition, match="checks who is present"):
        lc.announce_rules(0.0, 1.0)


def test_clerk_can_open_with_a_recorded_reason() -> None:
    lc = _prepared()
    with pytest.raises(InvalidTransition):
        lc.open(override_reason="   ")
    pending = lc.open(override_reason="扬声器故障，书记员口头宣布纪律")
    assert pending.payload["override_reason"] == "扬声器故障，书记员口头宣布纪律"
    assert "the tribunal discipline has not been announced" in pending.payload["skipped"]


@pytest.mark.parametrize(
    ("action", "state"),
    [("open", HearingState.SCHEDULED), ("close", HearingState.PREPARING), ("resume", HearingState.SCHEDULED)],
)
def test_invalid_transitions_are_typed_errors(action: str, state: HearingState) -> None:
    lc = Lifecycle() if state is HearingState.SCHEDULED else _prepared()
    with pytest.raises(InvalidTransition) as info:
        getattr(lc, action)()
    assert info.value.state is state


def test_phase_rules() -> None:
    lc = _prepared()
    _run(lc, lc.check_attendance([], []))
    _run(lc, lc.announce_rules(0, 1))
    _run(lc, lc.open())
    _run(lc, lc.change_phase(Phase.DEBATE))
    with pytest.raises(InvalidTransition, match="needs a recorded reason"):
        lc.change_phase(Phase.EVIDENCE)
    _run(lc, lc.change_phase(Phase.EVIDENCE, reason="补充质证"))
    with pytest.raises(InvalidTransition, match="already"):
        lc.change_phase(Phase.EVIDENCE)
    with pytest.raises(InvalidTransition, match="already been opened"):
        lc.change_phase(Phase.OPENING)
    with pytest.raises(InvalidTransition, match="needs a reason"):
        lc.recess("")


def test_replay_rebuilds_the_state() -> None:
    events = [
        (EventType.HEARING_PREPARING.value, {}),
        (EventType.DEVICE_CHECKED, {"device": "cam-1"}),
        (EventType.ATTENDANCE_CHECKED.value, {}),
        (EventType.RULES_PLAYED.value, {}),
        (EventType.HEARING_OPENED.value, {"phase": "opening"}),
        (EventType.HEARING_PHASE.value, {"phase": "evidence"}),
        (EventType.HEARING_RECESSED.value, {"reason": "x"}),
    ]
    lc = Lifecycle.replay(events)
    assert (lc.state, lc.phase, lc.recess_count) == (HearingState.RECESS, Phase.EVIDENCE, 1)
