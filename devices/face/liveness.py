"""A simple offline liveness check against a printed photo or a phone screen held up to the camera.

Two tests on dlib's 68 landmarks, tracked over the frames of one visit:

* **Head-turn challenge.** The terminal asks for a turn to a random side (``请向左转头``). The nose's
  position between the eyes (the yaw ratio) must move that way by ``min_turn``. A flat picture cannot
  do this: tilting, turning or bending a print moves every point by (nearly) the same affine map, and
  the ratio of two distances along one line is unchanged by any affine map.
* **Flatness.** The steady landmarks (nose, eye corners, mouth) of every frame are fitted to those of
  the first frame by a homography (the exact model of a plane seen by a camera). A picture, however
  it is held, fits to within landmark noise (about 0.01 eye distances; up to 0.03 for a print turned
  35° close to the lens); a real head turned 15–20° misfits by 0.03–0.06 (the nose tip stands out
  of the plane of the eyes and mouth). The margin is thin: this is a simple check, not a certified
  presentation-attack detector.

What it stops: a printed photo or a still shown on a screen, held still, moved, tilted or curled.
What it does not stop: a *video* of the person turning their head played on a screen, a 3-D mask,
or an accomplice: those need depth or infrared sensors, or a human look (the clerk watches the door).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Landmarks = npt.NDArray[np.float64]
"""68×2 iBUG points of one frame."""

LEFT_EYE = slice(36, 42)
"""The eye on the left of the picture (the person's right eye)."""
RIGHT_EYE = slice(42, 48)
NOSE_TIP = 30
RIGID = [27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45, 48, 51, 54, 57]
"""Nose, eye corners and mouth: the points dlib places most steadily. The jaw line and the brows
slide along the face's outline from frame to frame and would drown the depth signal."""

PROMPTS = {"left": "请向左转头", "right": "请向右转头"}


@dataclass(frozen=True, slots=True)
class LivenessSettings:
    min_turn: float = 0.25
    """Change of the yaw ratio (half eye distances) the challenge asks for: about 15° of head turn."""
    min_depth: float = 0.035
    """RMS misfit of the best homography, in eye distances, above which the face is not flat."""
    min_motion: float = 0.06
    """Non-similarity motion (foreshortening, in eye distances) above which a face that stayed flat
    is judged a picture that was moved, rather than a person who stood still."""
    frames: int = 12
    """Frames of the visit the check may use before it answers."""
    seconds: float = 6.0
    """Time the person gets to follow the prompt: when frames come with their times, a check that has
    not passed answers only after both ``frames`` frames and this many seconds since its first frame.
    (A frame budget alone shrinks with a faster analyzer: 12 frames were ~5 s of a door visit when an
    embedding took 150 ms, and ~2 s at 40 ms a frame, too short to read the prompt and turn.)"""
    challenge: bool = True
    """False: flatness alone (no prompt; the person must move a little by themselves)."""


@dataclass(frozen=True, slots=True)
class LivenessResult:
    live: bool | None
    """True: passed; False: behaved like a flat picture; None: not enough evidence either way."""
    reason: str
    turn: float
    """Largest yaw change in the asked direction."""
    depth: float
    """Largest homography misfit over the frames, in eye distances."""
    motion: float
    """Largest foreshortening over the frames, in eye distances."""


def yaw_ratio(points: Landmarks) -> float:
    """The nose tip's offset from the eyes' midpoint along the eye line, in half eye distances
    (positive: towards the right of the picture, i.e. the person turned to their left)."""
    left = points[LEFT_EYE].mean(axis=0)
    right = points[RIGHT_EYE].mean(axis=0)
    axis = right - left
    norm = float(axis @ axis)
    if norm <= 0:
        return 0.0
    return float(2 * (points[NOSE_TIP] - (left + right) / 2) @ axis / norm)


def _eye_distance(points: Landmarks) -> float:
    return float(np.linalg.norm(points[RIGHT_EYE].mean(axis=0) - points[LEFT_EYE].mean(axis=0)))


def flat_misfit(reference: Landmarks, points: Landmarks) -> float:
    """RMS distance, in eye distances, between the steady points of ``points`` and those of
    ``reference`` mapped by the best homography: ~0 for two views of one flat picture."""
    src, dst = reference[RIGID].astype(np.float32), points[RIGID].astype(np.float32)
    h, _ = cv2.findHomography(src, dst, 0)
    eye = _eye_distance(points)
    if h is None or eye <= 0:
        return 0.0
    mapped = cv2.perspectiveTransform(src.reshape(-1, 1, 2), h).reshape(-1, 2)
    return float(np.sqrt(np.mean(np.sum((mapped - dst) ** 2, axis=1))) / eye)


def foreshortening(reference: Landmarks, points: Landmarks) -> float:
    """How far the steady points moved beyond a shift, turn in the picture plane and zoom (in eye
    distances): a face or a picture turned away from the camera, rather than one standing still."""
    src, dst = reference[RIGID].astype(np.float32), points[RIGID].astype(np.float32)
    m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    eye = _eye_distance(points)
    if m is None or eye <= 0:
        return 0.0
    mapped = src @ m[:, :2].T.astype(np.float32) + m[:, 2].astype(np.float32)
    return float(np.sqrt(np.mean(np.sum((mapped - dst) ** 2, axis=1))) / eye)


class LivenessCheck:
    """One person's check: :attr:`prompt` tells them what to do, :meth:`add` takes each frame's
    landmarks and answers once it can."""

    def __init__(self, settings: LivenessSettings | None = None, *, rng: random.Random | None = None) -> None:
        self.settings = settings or LivenessSettings()
        self.direction = (rng or random.SystemRandom()).choice(("left", "right"))
        self._reference: Landmarks | None = None
        self._baseline = 0.0
        self._turn = 0.0
        self._depth = 0.0
        self._motion = 0.0
        self._frames = 0
        self._start: float | None = None
        self.result: LivenessResult | None = None

    @property
    def prompt(self) -> str:
        return PROMPTS[self.direction] if self.settings.challenge else "请正视摄像头并轻微转动头部"

    def add(self, points: Landmarks, t: float | None = None) -> LivenessResult | None:
        """One frame's landmarks, and its time (seconds, any clock) when known: see
        :attr:`LivenessSettings.seconds`."""
        if self.result is not None:
            return self.result
        if points.shape != (68, 2):
            raise ValueError(f"expected 68×2 landmarks, got {points.shape}")
        self._frames += 1
        if t is not None and self._start is None:
            self._start = t
        waited = t is None or self._start is None or t - self._start >= self.settings.seconds
        yaw = yaw_ratio(points)
        if self._reference is None:
            self._reference, self._baseline = points, yaw
        else:
            sign = 1.0 if self.direction == "left" else -1.0
            turn = (yaw - self._baseline) * sign if self.settings.challenge else abs(yaw - self._baseline)
            self._turn = max(self._turn, turn)
            self._depth = max(self._depth, flat_misfit(self._reference, points))
            self._motion = max(self._motion, foreshortening(self._reference, points))
        s = self.settings
        if self._turn >= s.min_turn and self._depth >= s.min_depth:
            self.result = self._result(True, "转头动作与立体结构均符合真人 (turned; not flat)")
        elif self._frames >= s.frames and waited:
            self.result = self.finish()
        return self.result

    def finish(self) -> LivenessResult:
        """The answer when no more frames come."""
        if self.result is not None:
            return self.result
        s = self.settings
        if self._turn >= s.min_turn and self._depth >= s.min_depth:
            return self._result(True, "转头动作与立体结构均符合真人 (turned; not flat)")
        if self._depth < s.min_depth and self._motion >= s.min_motion:
            return self._result(False, "人脸随动作保持平面，疑似照片或屏幕 (moved like a flat picture)")
        return self._result(None, "未完成转头动作，需书记员核对 (challenge not completed)")

    def _result(self, live: bool | None, reason: str) -> LivenessResult:
        return LivenessResult(
            live, reason, round(self._turn, 3), round(self._depth, 4), round(self._motion, 4)
        )
