"""Deciding who a face is from several frames, against the enrolled templates of the people expected.

A single frame can mislead (motion blur, a half turn, a bad crop); a decision needs ``min_frames``
frames that agree. Between the accept and the reject distance lies a band where the answer is
*undecided*: the clerk decides, the system never silently admits.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from devices.face.embed import Embedding, similarity


@dataclass(frozen=True, slots=True)
class FaceTemplate:
    key: Hashable
    """Whose face: the participant id, or any key the caller uses."""
    embedding: Embedding = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class VerifierSettings:
    accept_distance: float = 0.5
    """At most this far from an enrolled photo counts as the same person. Two photos of one person
    taken years apart lie at 0.3–0.45 on dlib's ResNet; different people at 0.65 and beyond."""
    reject_distance: float = 0.6
    """Beyond this from every enrolled photo is someone else; in between is undecided."""
    margin: float = 0.08
    """The best candidate must be this much nearer than the second best, else the frame is ambiguous."""
    min_frames: int = 3
    """Agreeing frames needed for a decision."""
    max_frames: int = 8
    """Usable frames after which, still without a decision, the answer is undecided."""

    def __post_init__(self) -> None:
        if not 0 < self.accept_distance <= self.reject_distance:
            raise ValueError(
                f"need 0 < accept_distance ({self.accept_distance}) "
                f"<= reject_distance ({self.reject_distance})"
            )
        if self.min_frames < 1 or self.max_frames < self.min_frames:
            raise ValueError(f"need 1 <= min_frames ({self.min_frames}) <= max_frames ({self.max_frames})")
        if self.margin < 0:
            raise ValueError(f"margin must not be negative, got {self.margin}")


@dataclass(frozen=True, slots=True)
class Decision:
    match: bool | None
    """True: recognised as ``key``; False: none of the expected people; None: undecided (clerk)."""
    key: Hashable | None
    """The recognised person, or the nearest candidate when undecided."""
    distance: float | None
    """Median distance over the frames to ``key`` (or to the nearest template when no match)."""
    frames: int
    reason: str

    @property
    def similarity(self) -> float | None:
        return None if self.distance is None else round(similarity(self.distance), 4)


@dataclass(frozen=True, slots=True)
class FrameMatch:
    """One frame's ranking: the nearest person and how sure."""

    best: Hashable
    distance: float
    second: float
    """Distance to the nearest other person (inf when only one is expected)."""


def rank(embedding: Embedding, templates: Sequence[FaceTemplate]) -> dict[Hashable, float]:
    """Distance to each person: the nearest of their templates."""
    if not templates:
        raise ValueError("no enrolled templates to compare with")
    stack = np.stack([np.asarray(t.embedding, np.float32) for t in templates])
    dists = np.linalg.norm(stack - np.asarray(embedding, np.float32)[None, :], axis=1)
    nearest: dict[Hashable, float] = {}
    for template, d in zip(templates, dists, strict=True):
        value = float(d)
        if template.key not in nearest or value < nearest[template.key]:
            nearest[template.key] = value
    return nearest


class MultiFrameVerifier:
    """Feed it one embedding per usable frame of one person; it answers once it can."""

    def __init__(self, templates: Sequence[FaceTemplate], settings: VerifierSettings | None = None) -> None:
        if not templates:
            raise ValueError("no enrolled templates to compare with")
        self.templates = tuple(templates)
        self.settings = settings or VerifierSettings()
        self._frames: list[dict[Hashable, float]] = []
        self.decision: Decision | None = None

    @property
    def frames(self) -> int:
        return len(self._frames)

    def add(self, embedding: Embedding) -> Decision | None:
        """Take one frame; return the decision once made (and the same one after)."""
        if self.decision is not None:
            return self.decision
        self._frames.append(rank(embedding, self.templates))
        self.decision = self._decide(final=False)
        return self.decision

    def finish(self) -> Decision:
        """The answer when no more frames will come (the person left, the time ran out)."""
        if self.decision is None:
            self.decision = self._decide(final=True) or Decision(
                None, None, None, 0, "未获得可用的人脸画面 (no usable face frame)"
            )
        return self.decision

    def _decide(self, *, final: bool) -> Decision | None:
        s = self.settings
        n = len(self._frames)
        if n == 0:
            return None
        keys = list(self._frames[0])
        median = {k: statistics.median(f[k] for f in self._frames) for k in keys}
        matches = [self._frame_match(f) for f in self._frames]
        accepted: dict[Hashable, int] = {}
        for m in matches:
            if m.distance <= s.accept_distance and m.second - m.distance >= s.margin:
                accepted[m.best] = accepted.get(m.best, 0) + 1
        rejected = sum(1 for m in matches if m.distance > s.reject_distance)
        nearest = min(keys, key=lambda k: median[k])
        if len(accepted) == 1:
            ((key, count),) = accepted.items()
            if count >= s.min_frames and median[key] <= s.accept_distance:
                return Decision(True, key, median[key], n, f"{count}/{n} 帧一致 (frames agree)")
        elif len(accepted) > 1:
            if n >= s.max_frames or final:
                return Decision(
                    None,
                    nearest,
                    median[nearest],
                    n,
                    "多帧结果指向不同的人 (frames point at different people)",
                )
            return None
        if rejected >= s.min_frames and median[nearest] > s.reject_distance:
            return Decision(
                False, None, median[nearest], n, "与所有登记照片均不符 (matches no enrolled photo)"
            )
        if n >= s.max_frames or final:
            return Decision(
                None,
                nearest,
                median[nearest],
                n,
                f"相似度介于通过与拒绝之间，需书记员核对 (between thresholds after {n} frames)",
            )
        return None

    @staticmethod
    def _frame_match(frame: dict[Hashable, float]) -> FrameMatch:
        ordered = sorted(frame.items(), key=lambda kv: kv[1])
        best, d = ordered[0]
        second = ordered[1][1] if len(ordered) > 1 else float("inf")
        return FrameMatch(best, d, second)


def verify_once(
    embedding: Embedding, reference: Embedding, settings: VerifierSettings | None = None
) -> Decision:
    """One probe against one reference photo (the ``court face verify`` contract): a single
    comparison, so the frame count rule does not apply."""
    s = settings or VerifierSettings()
    verifier = MultiFrameVerifier(
        [FaceTemplate("reference", reference)],
        VerifierSettings(s.accept_distance, s.reject_distance, s.margin, 1, 1),
    )
    decision = verifier.add(embedding)
    assert decision is not None
    return decision
