"""Checking who is present (办案规则 Art. 41): the sources of arrivals the one-click start waits for.

Until the face check lands, the clerk confirms presence; both write the same ``attendance.`` events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from court.cases import ParticipantInfo


@dataclass(frozen=True, slots=True)
class Arrival:
    participant_id: int
    method: str
    """``clerk`` (confirmed by the clerk) or ``face`` (passed the face check)."""
    similarity: float | None = None
    note: str = ""


class AttendanceCheck(Protocol):
    def arrivals(self, expected: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        """Yield each expected participant found present; return when the check is over."""
        ...


class ClerkConfirmation:
    """The clerk ticks who is present on the console (or on the command line)."""

    def __init__(self, present: Iterable[int], note: str = "书记员核对身份") -> None:
        self._present = list(present)
        self._note = note

    def arrivals(self, expected: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        known = {p.id for p in expected}
        for participant_id in self._present:
            if participant_id not in known:
                raise ValueError(f"participant {participant_id} is not expected at this hearing")
            yield Arrival(participant_id, method="clerk", note=self._note)
