"""The simulated courtroom: every device of a room built from a plain description.

The lead's TOML loader maps ``[room]`` to :class:`RoomSpec`; :func:`default_room_spec` is the standard
room of the demo (four cameras, nine seats).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from devices.clock import Clock
from devices.interfaces import Device, DeviceStatus
from devices.media import Samples
from devices.simulated.acoustics import RoomAcoustics, reverberate
from devices.simulated.camera import SimulatedCamera
from devices.simulated.display import SimulatedDisplay
from devices.simulated.face_terminal import ImageSource, SimulatedFaceTerminal
from devices.simulated.microphone import ClipLike, SimulatedMicrophone, mix_crosstalk
from devices.simulated.scene import CameraView, SceneSeat
from devices.simulated.speaker import SimulatedSpeaker

ROLE_LABELS: dict[str, str] = {
    "presiding_arbitrator": "首席仲裁员",
    "arbitrator": "仲裁员",
    "clerk": "书记员",
    "applicant": "申请人",
    "applicant_agent": "申请人代理人",
    "respondent": "被申请人",
    "respondent_agent": "被申请人代理人",
    "third_party": "第三人",
    "witness": "证人",
}
"""Config role names → the Chinese label on the name card."""


@dataclass(frozen=True, slots=True)
class SeatSpec:
    seat_id: str
    role_label: str
    """The Chinese role on the name card, e.g. 首席仲裁员 (see :data:`ROLE_LABELS`)."""
    name: str
    """The person's name on the card ("" for a card with the role only)."""
    camera_id: str
    """The close-up camera that shows this seat."""
    channel: int | None = None
    """The seat's channel on the room's audio interface (informational in the simulation)."""


@dataclass(frozen=True, slots=True)
class CameraSpec:
    camera_id: str
    view: CameraView
    width: int = 640
    height: int = 360
    fps: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", CameraView(self.view))


@dataclass(frozen=True, slots=True)
class RoomSpec:
    name: str
    cameras: tuple[CameraSpec, ...]
    seats: tuple[SeatSpec, ...]
    face_terminal_id: str = "face-terminal"
    display_id: str = "display"
    speaker_id: str = "speaker"
    mic_sample_rate: int = 16000
    noise_dbfs: float | None = -60.0
    """Room-noise floor on every seat microphone (RMS dBFS), ``None`` for silence."""
    crosstalk_db: float | None = None
    """When set, each seat microphone also hears the other seats this much quieter."""
    acoustics: RoomAcoustics | None = None
    """When set, the room sounds like a real one (:mod:`devices.simulated.acoustics`): what a seat says
    through :meth:`SimulatedRoom.say` reverberates and leaks into every other seat microphone, and the
    noise floor is the acoustics' (``noise_dbfs`` is then ignored)."""
    face_terminal_size: tuple[int, int] = (640, 480)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "seats", tuple(self.seats))
        camera_ids = [c.camera_id for c in self.cameras]
        seat_ids = [s.seat_id for s in self.seats]
        for what, ids in (("camera", camera_ids), ("seat", seat_ids)):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {what} ids: {', '.join(dupes)}")
        for seat in self.seats:
            if seat.camera_id not in camera_ids:
                raise ValueError(f"seat {seat.seat_id!r} names unknown camera {seat.camera_id!r}")


def mic_id(seat_id: str) -> str:
    """The device id of a seat's microphone."""
    return f"mic-{seat_id}"


def default_room_spec(width: int = 640, height: int = 360, fps: float = 10.0) -> RoomSpec:
    """第一仲裁庭 with four cameras and nine seats, the seat ids and channels of ``court/default.toml``
    (the names are invented; in a hearing they come from the case)."""
    cams = (
        CameraSpec("cam-bench", CameraView.BENCH, width, height, fps),
        CameraSpec("cam-applicant", CameraView.APPLICANT, width, height, fps),
        CameraSpec("cam-respondent", CameraView.RESPONDENT, width, height, fps),
        CameraSpec("cam-wide", CameraView.WIDE, width, height, fps),
    )
    seats = (
        SeatSpec("arbitrator-left", ROLE_LABELS["arbitrator"], "李静", "cam-bench", 2),
        SeatSpec("presiding", ROLE_LABELS["presiding_arbitrator"], "王明华", "cam-bench", 1),
        SeatSpec("arbitrator-right", ROLE_LABELS["arbitrator"], "陈志强", "cam-bench", 3),
        SeatSpec("clerk", ROLE_LABELS["clerk"], "刘洋", "cam-bench", 4),
        SeatSpec("applicant", ROLE_LABELS["applicant"], "张伟", "cam-applicant", 5),
        SeatSpec("applicant-agent", ROLE_LABELS["applicant_agent"], "赵敏", "cam-applicant", 6),
        SeatSpec("respondent-agent", ROLE_LABELS["respondent_agent"], "孙磊", "cam-respondent", 8),
        SeatSpec("respondent", ROLE_LABELS["respondent"], "周婷", "cam-respondent", 7),
        SeatSpec("witness", ROLE_LABELS["witness"], "吴强", "cam-wide", 9),
    )
    return RoomSpec("第一仲裁庭", cams, seats)


class SimulatedRoom:
    """All simulated devices of one room, wired together.

    ``schedules`` maps seat ids to their clips (``(start_t, samples, sample_rate)``); cameras animate
    the seats whose microphone schedule says they are speaking. More clips can be added later with
    ``room.microphone(seat_id).add_clips(...)``.
    """

    def __init__(
        self,
        spec: RoomSpec,
        clock: Clock,
        schedules: Mapping[str, Sequence[ClipLike]] | None = None,
        *,
        face_visits: Iterable[tuple[float, ImageSource]] = (),
        display_out_dir: str | os.PathLike[str] | None = None,
        speaker_feeds_microphones: bool = False,
        font_path: str | os.PathLike[str] | None = None,
        seed: int = 0,
        camera_noise: int = 2,
    ) -> None:
        self.spec = spec
        self.clock = clock
        schedules = dict(schedules or {})
        unknown = sorted(set(schedules) - {s.seat_id for s in spec.seats})
        if unknown:
            raise ValueError(f"schedules name unknown seats: {', '.join(unknown)}")
        if spec.crosstalk_db is not None:
            everyone = {seat.seat_id: schedules.get(seat.seat_id, ()) for seat in spec.seats}
            schedules = dict(mix_crosstalk(everyone, spec.crosstalk_db))
        self.microphones: dict[str, SimulatedMicrophone] = {
            seat.seat_id: SimulatedMicrophone(
                mic_id(seat.seat_id),
                clock,
                schedules.get(seat.seat_id, ()),
                sample_rate=spec.mic_sample_rate,
                noise_dbfs=spec.acoustics.noise_dbfs if spec.acoustics is not None else spec.noise_dbfs,
                seed=seed + i,
                seat_id=seat.seat_id,
            )
            for i, seat in enumerate(spec.seats)
        }
        views = {c.camera_id: c.view for c in spec.cameras}
        scene_seats = [SceneSeat(s.seat_id, s.role_label, s.name, views[s.camera_id]) for s in spec.seats]
        self.cameras: dict[str, SimulatedCamera] = {}
        for i, cam in enumerate(spec.cameras):
            shown = (
                scene_seats
                if cam.view is CameraView.WIDE
                else [
                    ss for ss, s in zip(scene_seats, spec.seats, strict=True) if s.camera_id == cam.camera_id
                ]
            )
            self.cameras[cam.camera_id] = SimulatedCamera(
                cam.camera_id,
                clock,
                cam.view,
                shown,
                is_speaking=self.is_speaking,
                width=cam.width,
                height=cam.height,
                fps=cam.fps,
                noise=camera_noise,
                seed=seed + 100 + i,
                font_path=font_path,
            )
        fw, fh = spec.face_terminal_size
        self.face_terminal = SimulatedFaceTerminal(
            spec.face_terminal_id,
            clock,
            face_visits,
            width=fw,
            height=fh,
            noise=camera_noise,
            seed=seed + 200,
            font_path=font_path,
            door_label=spec.name,
        )
        self.display = SimulatedDisplay(spec.display_id, clock, out_dir=display_out_dir, font_path=font_path)
        self.speaker = SimulatedSpeaker(
            spec.speaker_id,
            clock,
            microphones=list(self.microphones.values()),
            feed_microphones=speaker_feeds_microphones,
        )

    def say(self, seat_id: str, start: float, samples: Samples, sample_rate: int) -> None:
        """``seat_id``'s occupant speaks ``samples`` from hearing-clock ``start``: their microphone hears
        it, and with the room's acoustics so does every other seat microphone, quieter and later (as
        crosstalk: it does not make that seat "speaking")."""
        own = self.microphone(seat_id)
        acoustics = self.spec.acoustics
        if acoustics is None:
            own.add_clip(start, samples, sample_rate)
            return
        order = [s.seat_id for s in self.spec.seats]
        here = order.index(own.seat_id or seat_id)
        dry = np.asarray(samples, dtype=np.float32)
        own.add_clip(start, reverberate(dry, sample_rate, acoustics.rt60, acoustics.reverb_db), sample_rate)
        wet = reverberate(dry, sample_rate, acoustics.rt60, acoustics.leak_reverb_db, seed=1)
        for i, other in enumerate(order):
            if i == here:
                continue
            gain_db, delay = acoustics.leak(abs(i - here), len(order))
            leaked = (wet * np.float32(10 ** (gain_db / 20))).astype(np.float32)
            self.microphones[other].add_clip(start + delay, leaked, sample_rate, crosstalk=True)

    def is_speaking(self, seat_id: str, t: float) -> bool:
        """Whether the seat's own voice is heard at hearing-clock ``t``."""
        mic = self.microphones.get(seat_id)
        return mic is not None and mic.is_speaking(t)

    def speaking_seats(self, t: float) -> list[str]:
        return [seat_id for seat_id, mic in self.microphones.items() if mic.is_speaking(t)]

    def devices(self) -> list[Device]:
        """Every device: cameras, seat microphones, face terminal, display, speaker."""
        return [
            *self.cameras.values(),
            *self.microphones.values(),
            self.face_terminal,
            self.display,
            self.speaker,
        ]

    def device(self, device_id: str) -> Device:
        for d in self.devices():
            if d.device_id == device_id:
                return d
        raise KeyError(f"no device {device_id!r} in room {self.spec.name}")

    def camera(self, camera_id: str) -> SimulatedCamera:
        return self.cameras[camera_id]

    def microphone(self, seat_id: str) -> SimulatedMicrophone:
        """The microphone of a seat (by seat id, or by the microphone's device id)."""
        if seat_id in self.microphones:
            return self.microphones[seat_id]
        for mic in self.microphones.values():
            if mic.device_id == seat_id:
                return mic
        raise KeyError(f"no seat or microphone {seat_id!r} in room {self.spec.name}")

    def check(self) -> list[DeviceStatus]:
        return [d.check() for d in self.devices()]

    def close(self) -> None:
        for d in self.devices():
            d.close()
