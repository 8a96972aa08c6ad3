"""How usable a face picture is: size, sharpness, exposure, pose, completeness — measured on the
aligned chip so the figures do not depend on the photo's resolution — and the rules an enrolment
(ID) photo must pass, each failure named in words the clerk can act on."""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from devices.face.detect import Detection
from devices.media import Image


@dataclass(frozen=True, slots=True)
class FaceQuality:
    face_px: float
    """Width of the detected face box in source pixels."""
    sharpness: float
    """Variance of the Laplacian over the inner aligned chip: a sharp face scores 50–2000, a face
    blurred until it no longer embeds reliably about 10 or less."""
    brightness: float
    """Mean grey level (0–255) of the inner aligned chip."""
    yaw: float
    """Nose offset between the eyes, -1 … 1 (0 frontal); see :attr:`Detection.yaw_ratio`."""
    inside: float
    """Share of the face box that lies inside the picture (1 = the whole face is visible)."""
    score: float
    """The detector's confidence."""


def measure(image: Image, detection: Detection, chip: Image) -> FaceQuality:
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    inner = grey[h // 5 : h - h // 5, w // 5 : w - w // 5]
    sharpness = float(cv2.Laplacian(inner, cv2.CV_64F).var())
    left, top, right, bottom = detection.box
    ih, iw = image.shape[:2]
    area = max(1.0, (right - left) * (bottom - top))
    seen = max(0.0, min(right, iw) - max(left, 0)) * max(0.0, min(bottom, ih) - max(top, 0))
    return FaceQuality(
        face_px=detection.width,
        sharpness=sharpness,
        brightness=float(inner.mean()),
        yaw=detection.yaw_ratio,
        inside=float(seen / area),
        score=detection.score,
    )


@dataclass(frozen=True, slots=True)
class QualityRules:
    """What a picture must offer to be matched (an ID photo gets stricter rules than a door frame)."""

    min_face_px: float = 80.0
    min_sharpness: float = 15.0
    min_brightness: float = 40.0
    max_brightness: float = 225.0
    max_yaw: float = 0.45
    min_inside: float = 0.9
    min_score: float = 0.9

    def problems(self, q: FaceQuality) -> list[tuple[str, str]]:
        """(code, words) for each rule broken, the one to fix first first (a dark picture also
        measures unsharp: the light comes before the focus); empty when the face is usable."""
        found = []
        if q.face_px < self.min_face_px:
            found.append(
                (
                    "too_small",
                    f"人脸太小（{q.face_px:.0f} 像素，至少 {self.min_face_px:.0f}）(face too small)",
                )
            )
        if q.inside < self.min_inside:
            found.append(("cut_off", f"人脸不完整，部分在画面外（{q.inside:.0%} 可见）(face cut off)"))
        if q.brightness < self.min_brightness:
            found.append(("too_dark", f"光线太暗（亮度 {q.brightness:.0f}）(too dark)"))
        if q.brightness > self.max_brightness:
            found.append(("overexposed", f"曝光过度（亮度 {q.brightness:.0f}）(overexposed)"))
        if q.sharpness < self.min_sharpness:
            found.append(
                ("blurry", f"照片模糊（清晰度 {q.sharpness:.0f}，至少 {self.min_sharpness:.0f}）(too blurry)")
            )
        if abs(q.yaw) > self.max_yaw:
            found.append(("not_frontal", f"请使用正面照片（偏转 {q.yaw:+.2f}）(face not frontal)"))
        if q.score < self.min_score:
            found.append(("uncertain", f"人脸不清楚（检测置信度 {q.score:.2f}）(face unclear)"))
        return found


ENROLMENT_RULES = QualityRules()
"""An ID photo: large, sharp, frontal, well exposed."""

PROBE_RULES = QualityRules(
    min_face_px=60.0,
    min_sharpness=5.0,
    min_brightness=15.0,
    max_brightness=235.0,
    max_yaw=0.6,
    min_inside=0.8,
)
"""A frame at the door or from a remote camera: a frame failing these is skipped, not matched."""


def competing_faces(detections: list[Detection], *, min_score: float = 0.9, relative: float = 0.4) -> int:
    """How many faces could be the subject: confident ones at least ``relative`` × the largest.
    Small, far faces in the background (or detector noise on a tie) do not count."""
    confident = [d for d in detections if d.score >= min_score]
    if not confident:
        return 0
    largest = max(d.width for d in confident)
    return sum(1 for d in confident if d.width >= relative * largest)


def subject(detections: list[Detection]) -> Detection | None:
    """The face closest to the camera (the largest)."""
    return max(detections, key=lambda d: d.width * d.height, default=None)
