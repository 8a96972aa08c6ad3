"""How much a clerk must change to turn recognized lines into the reference 笔录.

The measure is the character edit distance (Levenshtein: insertions, deletions, substitutions) from
each recognized line to its reference line, summed — the fewest characters the clerk has to touch.
Set against typing the reference from scratch, it turns "recording speed up 2×" into a number:
``typing_speedup = reference characters / characters changed`` (an upper bound: it leaves out the
time to read and listen, which :func:`clerk_effort` can add as seconds per line).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from transcripts.text import edit_distance


def normalize(text: str) -> str:
    """NFKC and no whitespace: a clerk does not retype full-width/half-width variants or spaces."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class Effort:
    lines: int
    reference_chars: int
    changed_chars: int
    """Characters the clerk must insert, delete or replace."""

    @property
    def change_rate(self) -> float:
        """Changed characters per reference character (the character error rate of the lines)."""
        return self.changed_chars / self.reference_chars if self.reference_chars else 0.0

    @property
    def typing_speedup(self) -> float:
        """Reference characters per changed character: how many times less typing than from scratch."""
        return self.reference_chars / self.changed_chars if self.changed_chars else float("inf")

    def clerk_minutes(self, chars_per_minute: float = 100.0, seconds_per_line: float = 0.0) -> float:
        """Minutes to correct at ``chars_per_minute`` typing, plus reading/listening per line."""
        return self.changed_chars / chars_per_minute + self.lines * seconds_per_line / 60.0


def clerk_effort(pairs: Iterable[tuple[str, str]]) -> Effort:
    """Sum over (recognized, reference) pairs."""
    lines = reference = changed = 0
    for recognized, expected in pairs:
        rec, ref = normalize(recognized), normalize(expected)
        lines += 1
        reference += len(ref)
        changed += edit_distance(rec, ref)
    return Effort(lines, reference, changed)
