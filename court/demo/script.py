"""The scripted-hearing file that drives the simulated courtroom (``court demo --script``).

A script names the case, its participants and their seats, and who says what in which phase. It is
the simulation's input only: lines become synthesized speech on the seat's microphone, and whatever
the hearing records about them comes from the devices, never from this text.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from court.config import RoomConfig
from court.core.lifecycle import Phase
from court.core.roles import Role

DEFAULT_SCRIPT = Path(__file__).resolve().parent / "data" / "demo_hearing.toml"


class ScriptError(Exception):
    pass


@dataclass(frozen=True)
class ScriptParticipant:
    seat: str | None
    role: Role
    name: str
    organization: str = ""
    absent: bool = False
    """Summoned but does not come (the attendance check records the absence)."""
    photo: str | None = None
    """The ID photo enrolled with the case: a packaged face photo's name (see
    :mod:`court.demo.face_material`) or a file path relative to the script."""
    door_photo: str | None = None
    """What the simulated door camera shows when they arrive (another photo of the same person)."""
    door_view: str = ""
    """Degradations of the door picture, e.g. ``"dark+noise"`` (see :func:`devices.face.degrade.degrade`)."""


@dataclass(frozen=True)
class ScriptLine:
    phase: Phase
    seat: str
    text: str
    pause_after: float = 0.6


@dataclass(frozen=True)
class HearingScript:
    case_number: str
    cause: str
    livestream_allowed: bool
    participants: tuple[ScriptParticipant, ...]
    lines: tuple[ScriptLine, ...]
    recess_after_phase: Phase | None = None

    def phases(self) -> list[Phase]:
        seen: list[Phase] = []
        for line in self.lines:
            if line.phase not in seen:
                seen.append(line.phase)
        return seen


def load_script(path: Path | None, room: RoomConfig) -> HearingScript:
    source = path or DEFAULT_SCRIPT
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScriptError(f"script not found: {source}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScriptError(f"{source}: not valid TOML: {exc}") from None
    try:
        return _parse(raw, room)
    except (KeyError, ValueError, TypeError) as exc:
        raise ScriptError(f"{source}: {exc}") from None


def _parse(raw: Mapping[str, Any], room: RoomConfig) -> HearingScript:
    case = raw["case"]
    seats = {seat.id: seat for seat in room.seats}
    participants = []
    for i, item in enumerate(raw.get("participants", [])):
        seat = item.get("seat")
        role = Role(item["role"])
        if seat is not None:
            if seat not in seats:
                raise ValueError(f"participants[{i}]: seat {seat!r} is not in the room config")
            if seats[seat].role != role:
                raise ValueError(
                    f"participants[{i}]: seat {seat!r} is the {seats[seat].role.value} seat, not {role.value}"
                )
        participants.append(
            ScriptParticipant(
                seat=seat,
                role=role,
                name=str(item["name"]),
                organization=str(item.get("organization", "")),
                absent=bool(item.get("absent", False)),
                photo=_optional_str(item, "photo", i),
                door_photo=_optional_str(item, "door_photo", i),
                door_view=_door_view(item, i),
            )
        )
    seated = {p.seat for p in participants if p.seat and not p.absent}
    lines = []
    last_phase = Phase.OPENING
    for i, item in enumerate(raw.get("lines", [])):
        phase = Phase(item["phase"])
        if phase.order < last_phase.order:
            raise ValueError(f"lines[{i}]: phase {phase.value} comes after {last_phase.value}")
        last_phase = phase
        seat = str(item["seat"])
        if seat not in seated:
            raise ValueError(f"lines[{i}]: nobody present sits at seat {seat!r}")
        text = str(item["text"]).strip()
        if not text:
            raise ValueError(f"lines[{i}]: empty text")
        lines.append(ScriptLine(phase, seat, text, float(item.get("pause_after", 0.6))))
    if not lines:
        raise ValueError("the script has no lines")
    recess = raw.get("recess_after_phase")
    return HearingScript(
        case_number=str(case["number"]),
        cause=str(case["cause"]),
        livestream_allowed=bool(case.get("livestream_allowed", False)),
        participants=tuple(participants),
        lines=tuple(lines),
        recess_after_phase=Phase(recess) if recess else None,
    )


DOOR_VIEWS = frozenset({"jpeg", "blur", "dark", "noise", "rotate", "shrink"})


def _optional_str(item: Mapping[str, Any], key: str, i: int) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"participants[{i}].{key}: must be a photo name or path, got {value!r}")
    return value.strip()


def _door_view(item: Mapping[str, Any], i: int) -> str:
    value = item.get("door_view", "")
    if not isinstance(value, str):
        raise ValueError(f"participants[{i}].door_view: must be a string like 'dark+noise', got {value!r}")
    for step in filter(None, (v.strip() for v in value.split("+"))):
        if step not in DOOR_VIEWS:
            raise ValueError(
                f"participants[{i}].door_view: unknown step {step!r} "
                f"(one of: {', '.join(sorted(DOOR_VIEWS))})"
            )
    return value
