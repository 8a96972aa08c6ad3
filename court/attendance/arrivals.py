"""Checking who is present (办案规则 Art. 41): the sources of arrivals the one-click start waits for.

Until the face check lands, the clerk confirms presence; both write the same ``attendance.`` events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from court.core.cases import ParticipantInfo


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

    def __init__(
        self, present: Iterable[int], note: str = "书记员核对身份", reasons: Mapping[int, str] | None = None
    ) -> None:
        """``reasons`` gives the reason of a manual confirmation per participant (e.g. why the face
        check could not be used); it becomes that participant's attendance note."""
        self._present = list(present)
        self._note = note
        self._reasons = dict(reasons or {})
        for participant_id, reason in self._reasons.items():
            if not reason.strip():
                raise ValueError(f"participant {participant_id}: a manual confirmation needs a reason")

    def arrivals(self, expected: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        known = {p.id for p in expected}
        for participant_id in self._present:
            if participant_id not in known:
                raise ValueError(f"participant {participant_id} is not expected at this hearing")
            reason = self._reasons.get(participant_id)
            note = f"书记员人工核验：{reason.strip()}" if reason else self._note
            yield Arrival(participant_id, method="clerk", note=note)
