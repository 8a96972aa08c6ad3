"""Synthetic motion of a real photo, for testing liveness where no packaged video of a real head
turning exists: a *3-D head turn* (each landmark moved by its depth on an average face, the picture
warped piecewise) and a *printed photo* moved, tilted and turned in front of the camera (one
homography per frame: what any flat picture undergoes).

These are stand-ins, stated as such: they test that the check tells depth from flatness, not how it
fares against real people and real attacks (to be measured on the terminal).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt
from scipy.spatial import Delaunay

from devices.media import Image

Landmarks = npt.NDArray[np.float64]

# Depth of each of the 68 iBUG points in face widths, in front of the ears' plane (an average face).
_DEPTH = np.array(
    [
        *[0.0, 0.04, 0.09, 0.15, 0.21, 0.26, 0.30, 0.33, 0.34, 0.33, 0.30, 0.26, 0.21, 0.15, 0.09, 0.04, 0.0],
        *[0.30, 0.36, 0.40, 0.42, 0.42, 0.42, 0.42, 0.40, 0.36, 0.30],  # brows
        *[0.44, 0.50, 0.56, 0.62],  # nose bridge to tip
        *[0.45, 0.48, 0.50, 0.48, 0.45],  # nostrils
        *[0.28, 0.33, 0.35, 0.34, 0.33, 0.32, 0.32, 0.33, 0.34, 0.35, 0.33, 0.28],  # eyes
        *[0.36, 0.40, 0.43, 0.44, 0.43, 0.40, 0.36, 0.39, 0.41, 0.42, 0.41, 0.39],  # outer lips
        *[0.37, 0.42, 0.43, 0.42, 0.37, 0.41, 0.42, 0.41],  # inner lips
    ],
    dtype=np.float64,
)


def turned_landmarks(points: Landmarks, degrees: float) -> Landmarks:
    """Where the 68 points go when the head turns by ``degrees`` about the vertical axis
    (positive: the person turns to their left, the nose moves to the right of the picture)."""
    if points.shape != (68, 2):
        raise ValueError(f"expected 68×2 landmarks, got {points.shape}")
    width = float(points[16, 0] - points[0, 0])
    cx = float(points[:17, 0].mean())
    z = (_DEPTH - _DEPTH.mean()) * width
    a = math.radians(degrees)
    out = points.copy()
    out[:, 0] = cx + (points[:, 0] - cx) * math.cos(a) + z * math.sin(a)
    return out


def head_turn(image: Image, points: Landmarks, degrees: float) -> Image:
    """The photo with the head turned by ``degrees``: the face warped piecewise-affinely so every
    landmark lands where :func:`turned_landmarks` puts it; the background stays still."""
    target = turned_landmarks(points, degrees)
    h, w = image.shape[:2]
    centre = points.mean(axis=0)
    # A fixed ring around the face and the picture's border keep the background where it is.
    ring = centre + (points[:17] - centre) * 1.6
    border = np.array(
        [
            [0, 0],
            [w - 1, 0],
            [0, h - 1],
            [w - 1, h - 1],
            [w // 2, 0],
            [w // 2, h - 1],
            [0, h // 2],
            [w - 1, h // 2],
        ],
        dtype=np.float64,
    )
    src = np.concatenate([points, np.clip(ring, 0, [w - 1, h - 1]), border])
    dst = np.concatenate([target, np.clip(ring, 0, [w - 1, h - 1]), border])
    out = image.copy()
    for tri in Delaunay(dst).simplices:
        _warp_triangle(image, out, src[tri], dst[tri])
    return out


def _warp_triangle(src_img: Image, out: Image, src: Landmarks, dst: Landmarks) -> None:
    x, y, bw, bh = cv2.boundingRect(dst.astype(np.float32))
    if bw <= 0 or bh <= 0:
        return
    m = cv2.getAffineTransform(dst.astype(np.float32), src.astype(np.float32))
    # Map each pixel of the destination box back into the source (inverse warp).
    shift = np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], np.float64)
    m = (np.vstack([m, [0, 0, 1]]) @ shift)[:2]
    patch = cv2.warpAffine(
        src_img,
        m,
        (bw, bh),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    mask = np.zeros((bh, bw), np.uint8)
    cv2.fillConvexPoly(mask, np.round(dst - [x, y]).astype(np.int32), 1, cv2.LINE_AA)
    region = out[y : y + bh, x : x + bw]
    keep = mask[: region.shape[0], : region.shape[1]].astype(bool)
    region[keep] = patch[: region.shape[0], : region.shape[1]][keep]


def printed_photo(
    image: Image,
    *,
    turn: float = 0.0,
    tilt: float = 0.0,
    shift: tuple[float, float] = (0, 0),
    scale: float = 1.0,
) -> Image:
    """The photo as a flat print held in front of the camera: turned about its vertical axis by
    ``turn`` degrees, tilted about its horizontal axis by ``tilt`` degrees, moved and scaled."""
    h, w = image.shape[:2]
    f = 1.2 * max(w, h)
    corners = np.array(
        [[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]], np.float64
    )
    a, b = math.radians(turn), math.radians(tilt)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    p = corners @ (rx @ ry).T
    p[:, 2] += f
    projected = np.stack([f * p[:, 0] / p[:, 2], f * p[:, 1] / p[:, 2]], axis=1) * scale
    projected += [w / 2 + shift[0], h / 2 + shift[1]]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(src, projected.astype(np.float32))
    warped = cv2.warpPerspective(image, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(90, 90, 90))
    return np.asarray(warped, dtype=np.uint8)
