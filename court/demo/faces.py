"""The face check in ``court demo``: enrol each party-side participant's ID photo (real photos from
packages, see :mod:`court.demo.face_material`) and send them, as another photo or a degraded view of
themselves, to the simulated door terminal, where :class:`~court.attendance.face_check.FaceAttendance`
recognises them.

The simulated terminal composites still photos, which a liveness check rightly refuses as a printed
picture: liveness is therefore off here (it is tested on its own, see ``tests/devices/face``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from court.attendance.arrivals import Arrival
from court.attendance.enrolment import enrol_participant, load_templates
from court.attendance.face_check import FaceAttendance, FaceCheckSettings
from court.core.cases import HearingInfo, ParticipantInfo
from court.demo.face_material import (
    ALL_FILES,
    FaceMaterialMissing,
    encode_jpeg,
    ensure_material,
    material_folder,
    portrait,
)
from court.demo.script import HearingScript, ScriptParticipant
from court.live.session import HearingSession
from devices.face import FaceAnalyzer, FaceModelsMissing, PhotoRejected, shared_analyzer
from devices.face.degrade import degrade
from devices.media import Image
from devices.simulated.face_terminal import SimulatedFaceTerminal

Progress = Callable[[str], None]


class FaceDemoUnavailable(Exception):
    """The demo cannot run the face check (no photos, no models, a bad photo); the message says why."""


@dataclass(frozen=True, eq=False)
class FaceDemo:
    analyzer: FaceAnalyzer
    doors: tuple[tuple[int, Image], ...]
    """(participant id, what the door camera shows) for each participant who comes, in order."""
    by_hand: tuple[int, ...]
    """Present participants without a face photo: the clerk confirms them."""

    def door_check(
        self,
        session: HearingSession,
        terminal: SimulatedFaceTerminal,
        *,
        speed: float,
        progress: Progress,
        settings: FaceCheckSettings | None = None,
    ) -> DoorVisits:
        return DoorVisits(self, session, terminal, speed=speed, progress=progress, settings=settings)


def prepare_face_demo(
    sessions: sessionmaker[Session],
    hearing: HearingInfo,
    script: HearingScript,
    script_path: Path | None,
    cache_dir: Path,
    progress: Progress,
) -> FaceDemo:
    """Fetch the photos, enrol the ID photos; raises :class:`FaceDemoUnavailable` saying why not."""
    base = script_path.resolve().parent if script_path else Path.cwd()
    folder = material_folder(cache_dir)
    specs = [p for p in script.participants if p.role.is_party_side]
    wanted = {name for p in specs for name in (p.photo, p.door_photo) if name and name in ALL_FILES}
    try:
        if wanted:
            progress(f"人脸素材：{folder}")
            ensure_material(folder, sorted(wanted))
        analyzer = shared_analyzer()
        doors: list[tuple[int, Image]] = []
        by_hand: list[int] = []
        for spec in specs:
            participant = _participant(hearing, spec)
            if spec.photo:
                photo = _picture(spec.photo, folder, base, zoom=2.4)
                enrol_participant(sessions, participant.id, encode_jpeg(photo), analyzer, actor="demo")
            if spec.absent:
                continue
            if spec.photo and spec.door_photo:
                door = _picture(spec.door_photo, folder, base, zoom=2.1, offset=(0.08, -0.05))
                doors.append((participant.id, degrade(door, spec.door_view) if spec.door_view else door))
            else:
                by_hand.append(participant.id)
    except (FaceMaterialMissing, FaceModelsMissing, PhotoRejected, FileNotFoundError) as exc:
        raise FaceDemoUnavailable(str(exc)) from exc
    return FaceDemo(analyzer, tuple(doors), tuple(by_hand))


def _participant(hearing: HearingInfo, spec: ScriptParticipant) -> ParticipantInfo:
    for p in hearing.participants:
        if p.name == spec.name and p.role == spec.role and p.seat_id == spec.seat:
            return p
    raise FaceDemoUnavailable(f"participant {spec.name} is not in the case")


def _picture(
    name: str, folder: Path, base: Path, *, zoom: float, offset: tuple[float, float] = (0, 0)
) -> Image:
    if name in ALL_FILES:
        return portrait(folder, name, zoom=zoom, offset=offset)
    path = Path(name) if Path(name).is_absolute() else base / name
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"人像文件不存在或无法读取 (cannot read photo): {path}")
    return np.asarray(image, dtype=np.uint8)


class DoorVisits:
    """The attendance check of the demo: when the check starts, the participants step up to the
    simulated door one after another; the face check (never the script) decides who is present."""

    def __init__(
        self,
        demo: FaceDemo,
        session: HearingSession,
        terminal: SimulatedFaceTerminal,
        *,
        speed: float,
        progress: Progress,
        settings: FaceCheckSettings | None = None,
    ) -> None:
        self.demo = demo
        self.terminal = terminal
        self.progress = progress
        self.clock = session.clock
        # On two shared cores a frame takes 0.1–0.3 s of wall time: a visit lasts long enough in
        # wall time for several frames, whatever the simulation speed.
        self.visit_seconds = max(8.0, 4.0 * speed)
        self.spacing = self.visit_seconds + 3.0
        timeout = 2.0 + self.spacing * len(demo.doors) + 2.0
        ids = [p.id for p in session.hearing.participants if p.role.is_party_side]
        self.check = FaceAttendance(
            terminal,
            load_templates(session.sessions, ids),
            session.clock,
            analyzer=demo.analyzer,
            settings=dataclasses.replace(settings or FaceCheckSettings(), timeout=timeout),
            report=session.record_attendance_issue,
        )
        self._labels = {p.id: p.label for p in session.hearing.participants}

    def arrivals(self, expected: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        start = self.clock.now() + 2.0
        for k, (_, door) in enumerate(self.demo.doors):
            self.terminal.arrive(door, start + k * self.spacing, self.visit_seconds)
        for pid in self.demo.by_hand:
            self.check.confirm(pid, "未提供人脸照片，书记员当面核对身份")
        for arrival in self.check.arrivals(expected):
            how = (
                f"人脸核验通过，相似度 {arrival.similarity:.2f}" if arrival.method == "face" else arrival.note
            )
            self.progress(
                f"  到庭：{self._labels.get(arrival.participant_id, arrival.participant_id)}（{how}）"
            )
            yield arrival
