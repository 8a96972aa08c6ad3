"""Drawing the simulated courtroom: a static background rendered once per camera, and a cheap
per-frame overlay (the speaking seat's highlight and moving mouth, sensor noise, a time stamp).

Seats are simple figures at a desk, each with a Chinese name card (role label + name) drawn with
Pillow and a CJK font (:mod:`devices.fonts`). Everything scales with the frame width, so the same scene
renders at 640×360 and 1280×720 (or 1920×1080).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from devices.fonts import draw_text, load_font
from devices.media import Image

BGR = tuple[int, int, int]


class CameraView(StrEnum):
    """The four standard views of the room."""

    BENCH = "bench"
    """仲裁员席: presiding arbitrator, arbitrators, clerk."""
    APPLICANT = "applicant"
    """申请人席: applicant and agents."""
    RESPONDENT = "respondent"
    """被申请人席: respondent and agents."""
    WIDE = "wide"
    """全景: the whole room."""


VIEW_LABELS: dict[CameraView, str] = {
    CameraView.BENCH: "仲裁员席",
    CameraView.APPLICANT: "申请人席",
    CameraView.RESPONDENT: "被申请人席",
    CameraView.WIDE: "全景",
}


@dataclass(frozen=True, slots=True)
class SceneSeat:
    """A seat as a camera draws it. ``side`` is where in the room the seat is (which close-up view
    covers it); the wide view uses it to place the seat."""

    seat_id: str
    role_label: str
    name: str
    side: CameraView = CameraView.WIDE


@dataclass(frozen=True, slots=True)
class Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """``image[box.slices]`` is the box's pixels."""
        return (slice(self.y0, self.y1), slice(self.x0, self.x1))

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass(frozen=True, slots=True)
class SeatLayout:
    """Where one seat is drawn in one view."""

    seat_id: str
    box: Box
    """The figure, desk and card: the region that changes when the seat speaks."""
    card: Box
    """The name card."""
    head: tuple[int, int, int]
    """Head centre x, y and radius."""
    mouth: tuple[int, int, int]
    """Mouth centre x, y and half-width."""


_SKIN: BGR = (170, 200, 235)
_HAIR: BGR = (40, 35, 30)
_SUITS: tuple[BGR, ...] = (
    (90, 50, 30),
    (60, 60, 60),
    (40, 40, 40),
    (120, 90, 60),
    (70, 90, 110),
    (110, 70, 80),
)
_DESK_TOP: BGR = (70, 110, 150)
_DESK_FRONT: BGR = (45, 75, 110)
_WALL: BGR = (200, 218, 228)
_FLOOR: BGR = (110, 95, 80)
_HIGHLIGHT: BGR = (60, 220, 60)


def _digest(seat_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(seat_id.encode(), digest_size=4).digest(), "big")


def _is_bench_role(label: str) -> bool:
    return "仲裁" in label or "书记" in label


def fit_text(
    image: Image,
    text: str,
    center: tuple[int, int],
    max_width: int,
    max_size: int,
    color: tuple[int, int, int],
    font_path: str | os.PathLike[str] | None,
) -> None:
    """Draw ``text`` centred at ``center`` in the largest size ≤ ``max_size`` that fits ``max_width``."""
    size = max(6, max_size)
    while size > 6 and load_font(size, font_path).getlength(text) > max_width:
        size -= 1
    draw_text(image, text, center, size, color, font_path=font_path, anchor="mm")


class Scene:
    """One camera's picture of the room.

    ``background`` is rendered once; :meth:`overlay` draws what changes per frame into a copy.
    """

    def __init__(
        self,
        view: CameraView,
        seats: Sequence[SceneSeat],
        width: int,
        height: int,
        *,
        label: str = "",
        font_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.view = view
        self.width = width
        self.height = height
        self.font_path = font_path
        self.scale = width / 640.0
        bg = np.empty((height, width, 3), np.uint8)
        self.layouts: dict[str, SeatLayout] = {}
        self._draw_room(bg)
        if view is CameraView.WIDE:
            groups: list[tuple[list[SceneSeat], float, float, float, float]] = [
                ([s for s in seats if s.side is CameraView.BENCH], 0.25, 0.75, 0.42, 0.05),
                ([s for s in seats if s.side is CameraView.APPLICANT], 0.02, 0.37, 0.72, 0.065),
                ([s for s in seats if s.side is CameraView.RESPONDENT], 0.63, 0.98, 0.72, 0.065),
                ([s for s in seats if s.side is CameraView.WIDE], 0.41, 0.59, 0.78, 0.06),
            ]
        else:
            groups = [(list(seats), 0.04, 0.96, 0.6, 0.08)]
        for group, x0, x1, desk_top, max_r in groups:
            if group:
                self._draw_group(bg, group, x0 * width, x1 * width, int(desk_top * height), max_r * height)
        self._draw_caption(bg, label)
        self.background = bg
        self._osd_scale = 0.4 * self.scale
        self._osd_thickness = max(1, round(self.scale))

    # --- static parts ---------------------------------------------------------------------------

    def _draw_room(self, bg: Image) -> None:
        w, h, s = self.width, self.height, self.scale
        wall_bottom = int(h * (0.34 if self.view is CameraView.WIDE else 0.55))
        bg[:wall_bottom] = _WALL
        bg[wall_bottom:] = _FLOOR
        # Wainscot line and a little perspective on the floor.
        cv2.line(bg, (0, wall_bottom), (w, wall_bottom), (150, 160, 170), max(1, int(3 * s)))
        for i in range(1, 8):
            y = wall_bottom + int((h - wall_bottom) * (i / 8) ** 1.6)
            cv2.line(bg, (0, y), (w, y), (100, 87, 73), 1)
        if self.view in (CameraView.BENCH, CameraView.WIDE):
            # The bench banner: 劳动人事争议仲裁庭 in gold on red.
            bw = int(w * (0.62 if self.view is CameraView.BENCH else 0.4))
            bh = int(h * (0.13 if self.view is CameraView.BENCH else 0.08))
            x0, y0 = (w - bw) // 2, int(h * 0.05)
            cv2.rectangle(bg, (x0, y0), (x0 + bw, y0 + bh), (40, 30, 180), -1)
            cv2.rectangle(bg, (x0, y0), (x0 + bw, y0 + bh), (60, 190, 230), max(1, int(2 * s)))
            fit_text(
                bg,
                "劳动人事争议仲裁庭",
                (w // 2, y0 + bh // 2),
                int(bw * 0.9),
                int(bh * 0.62),
                (255, 215, 90),
                self.font_path,
            )
        if self.view is CameraView.WIDE:
            # The raised bench platform at the back.
            cv2.rectangle(
                bg, (int(w * 0.22), int(h * 0.34)), (int(w * 0.78), int(h * 0.58)), (95, 80, 68), -1
            )
        else:
            # A window or door at the side for depth.
            x = int(w * 0.85)
            cv2.rectangle(bg, (x, int(h * 0.12)), (x + int(w * 0.1), int(h * 0.5)), (180, 200, 205), -1)
            cv2.rectangle(bg, (x, int(h * 0.12)), (x + int(w * 0.1), int(h * 0.5)), (120, 130, 140), 2)

    def _draw_group(
        self, bg: Image, seats: list[SceneSeat], x0: float, x1: float, desk_top: int, max_r: float
    ) -> None:
        n = len(seats)
        spacing = (x1 - x0) / n
        r = max(4.0, min(spacing * 0.17, max_r))
        card_w = int(min(spacing * 0.84, 5.6 * r))
        card_h = int(1.75 * r)
        desk_h = int(card_h + 1.0 * r)
        # Figures first (the desk covers their lower body), then the desk and the cards.
        centers = [int(x0 + spacing * (i + 0.5)) for i in range(n)]
        for seat, cx in zip(seats, centers, strict=True):
            self._draw_figure(bg, seat, cx, desk_top, r)
        dx0, dx1 = int(x0 + spacing * 0.06), int(x1 - spacing * 0.06)
        top_h = max(2, int(0.28 * r))
        cv2.rectangle(bg, (dx0, desk_top), (dx1, desk_top + top_h), _DESK_TOP, -1)
        cv2.rectangle(bg, (dx0, desk_top + top_h), (dx1, desk_top + desk_h), _DESK_FRONT, -1)
        for seat, cx in zip(seats, centers, strict=True):
            card = Box(
                cx - card_w // 2, desk_top + int(0.5 * r), cx + card_w // 2, desk_top + int(0.5 * r) + card_h
            )
            cv2.rectangle(bg, (card.x0, card.y0), (card.x1, card.y1), (250, 250, 250), -1)
            cv2.rectangle(bg, (card.x0, card.y0), (card.x1, card.y1), (30, 30, 160), max(1, int(r / 14)))
            inner = int(card_w * 0.9)
            if seat.name:
                role_at, role_size = (cx, card.y0 + int(card_h * 0.3)), int(card_h * 0.36)
                name_at = (cx, card.y0 + int(card_h * 0.72))
                fit_text(bg, seat.name, name_at, inner, int(card_h * 0.42), (0, 0, 0), self.font_path)
            else:
                role_at, role_size = (cx, card.y0 + card_h // 2), int(card_h * 0.5)
            fit_text(bg, seat.role_label, role_at, inner, role_size, (180, 20, 20), self.font_path)
            head_y = int(desk_top - 2.15 * r)
            box = Box(
                max(0, int(cx - spacing / 2) + 1),
                max(0, int(head_y - 1.35 * r)),
                min(self.width, int(cx + spacing / 2) - 1),
                min(self.height, card.y1 + max(2, int(0.25 * r))),
            )
            self.layouts[seat.seat_id] = SeatLayout(
                seat_id=seat.seat_id,
                box=box,
                card=card,
                head=(cx, head_y, int(r)),
                mouth=(cx, int(head_y + 0.5 * r), max(2, int(0.38 * r))),
            )

    def _draw_figure(self, bg: Image, seat: SceneSeat, cx: int, desk_top: int, r: float) -> None:
        d = _digest(seat.seat_id)
        suit = _SUITS[0] if _is_bench_role(seat.role_label) else _SUITS[1 + d % (len(_SUITS) - 1)]
        ri = int(r)
        head_y = int(desk_top - 2.15 * r)
        # Body and shoulders, shirt collar, tie or badge.
        cv2.ellipse(bg, (cx, int(desk_top - 0.1 * r)), (int(1.5 * r), int(1.45 * r)), 0, 180, 360, suit, -1)
        collar = np.array(
            [
                (cx - int(0.45 * r), int(desk_top - 1.5 * r)),
                (cx + int(0.45 * r), int(desk_top - 1.5 * r)),
                (cx, int(desk_top - 0.7 * r)),
            ],
            np.int32,
        )
        cv2.fillConvexPoly(bg, collar, (245, 245, 245))
        if _is_bench_role(seat.role_label):
            cv2.circle(
                bg, (cx - int(0.8 * r), int(desk_top - 1.0 * r)), max(1, int(0.16 * r)), (40, 40, 200), -1
            )
        else:
            tie = np.array(
                [
                    (cx, int(desk_top - 1.4 * r)),
                    (cx - int(0.12 * r), int(desk_top - 0.8 * r)),
                    (cx + int(0.12 * r), int(desk_top - 0.8 * r)),
                ],
                np.int32,
            )
            cv2.fillConvexPoly(bg, tie, (40, 40, 140 + d % 100))
        # Neck and head.
        cv2.rectangle(
            bg,
            (cx - int(0.3 * r), head_y + int(0.6 * r)),
            (cx + int(0.3 * r), int(desk_top - 1.45 * r)),
            _SKIN,
            -1,
        )
        cv2.circle(bg, (cx, head_y), ri, _SKIN, -1, cv2.LINE_AA)
        # Hair: short, or long down to the shoulders.
        if (d >> 8) % 3 == 0:
            top = head_y - int(0.15 * r)
            cv2.ellipse(bg, (cx, top), (int(1.12 * r), int(1.0 * r)), 0, 180, 360, _HAIR, -1)
            cv2.rectangle(
                bg, (cx - int(1.12 * r), top), (cx - int(0.78 * r), head_y + int(1.3 * r)), _HAIR, -1
            )
            cv2.rectangle(
                bg, (cx + int(0.78 * r), top), (cx + int(1.12 * r), head_y + int(1.3 * r)), _HAIR, -1
            )
        else:
            cv2.ellipse(
                bg, (cx, head_y - int(0.1 * r)), (int(1.04 * r), int(0.95 * r)), 0, 180, 360, _HAIR, -1
            )
        # Face: eyes and a closed mouth (the per-frame overlay opens it while the seat speaks).
        eye_r = max(1, int(0.1 * r))
        for ex in (cx - int(0.35 * r), cx + int(0.35 * r)):
            cv2.circle(bg, (ex, head_y + int(0.05 * r)), eye_r, (30, 30, 30), -1)
        mouth_y = int(head_y + 0.5 * r)
        cv2.line(
            bg,
            (cx - int(0.25 * r), mouth_y),
            (cx + int(0.25 * r), mouth_y),
            (60, 60, 140),
            max(1, int(r / 12)),
        )

    def _draw_caption(self, bg: Image, label: str) -> None:
        s = self.scale
        text = f"{VIEW_LABELS[self.view]}  {label}".strip()
        size = max(9, int(15 * s))
        length = int(load_font(size, self.font_path).getlength(text))
        pad = int(5 * s)
        cv2.rectangle(bg, (0, 0), (length + 2 * pad, size + 2 * pad), (20, 20, 20), -1)
        draw_text(bg, text, (pad, pad), size, (255, 255, 255), font_path=self.font_path)
        # A dark strip for the per-frame time stamp.
        cv2.rectangle(bg, (0, self.height - int(22 * s)), (int(230 * s), self.height), (20, 20, 20), -1)

    # --- per frame ------------------------------------------------------------------------------

    def overlay(self, frame: Image, t: float, speaking: Callable[[str], bool], stamp: str) -> None:
        """Draw what changes per frame into ``frame`` (a copy of the background)."""
        for layout in self.layouts.values():
            if speaking(layout.seat_id):
                self.draw_speaking(frame, layout, t)
        cv2.putText(
            frame,
            stamp,
            (int(5 * self.scale), self.height - int(7 * self.scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            self._osd_scale,
            (255, 255, 255),
            self._osd_thickness,
            cv2.LINE_AA,
        )

    def draw_speaking(self, frame: Image, layout: SeatLayout, t: float) -> None:
        b = layout.box
        thickness = max(2, layout.head[2] // 7)
        cv2.rectangle(frame, (b.x0 + 1, b.y0 + 1), (b.x1 - 2, b.y1 - 2), _HIGHLIGHT, thickness)
        mx, my, mw = layout.mouth
        phase = _digest(layout.seat_id) % 628 / 100.0
        opening = 0.25 + 0.75 * abs(math.sin(2 * math.pi * 2.7 * t + phase))
        cv2.ellipse(frame, (mx, my), (mw, max(1, int(mw * 0.9 * opening))), 0, 0, 360, (40, 30, 120), -1)
        # Sound marks beside the head.
        hx, hy, hr = layout.head
        for k in (1, 2):
            radius = int(hr * (1.2 + 0.35 * k))
            cv2.ellipse(frame, (hx, hy), (radius, radius), 0, -25, 25, _HIGHLIGHT, max(1, hr // 10))


def format_stamp(t: float) -> str:
    """The camera's on-screen time stamp: ``T+HH:MM:SS.cc``, hearing-clock time marked as time since
    the hearing's clock started (not a time of day: people read Beijing time, which the program feed
    and the recording's overlay show). No device id: nobody in the room reads those (ASCII only)."""
    cs = max(0, round(t * 100))
    h, rem = divmod(cs, 360000)
    m, rem = divmod(rem, 6000)
    sec, c = divmod(rem, 100)
    return f"T+{h:02d}:{m:02d}:{sec:02d}.{c:02d}"
