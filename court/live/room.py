"""Building the room's devices from the config: each camera, seat microphone, the door terminal, the
display and the speakers is either simulated (``"sim"``) or the real device the config names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from court.config import Config
from court.live.session import RoomDevices
from devices.clock import Clock
from devices.interfaces import Camera, DeviceKind, Display, Microphone, Speaker
from devices.simulated.acoustics import RoomAcoustics
from devices.simulated.microphone import ClipLike
from devices.simulated.room import CameraSpec, RoomSpec, SeatSpec, SimulatedRoom
from devices.simulated.scene import CameraView


@dataclass(frozen=True)
class SimulationInputs:
    """What the simulated devices play: names on the name cards and each seat's speech."""

    names: Mapping[str, str]
    """Seat id → the name on its name card."""
    schedules: Mapping[str, Sequence[ClipLike]] | None = None
    face_visits: Sequence[tuple[float, str | Path]] = ()
    display_out_dir: Path | None = None
    acoustics: RoomAcoustics | None = None
    """How the simulated room sounds (crosstalk between seats, reverberation, noise); None: each seat
    microphone hears only its own speaker over a -60 dBFS floor."""


def build_room(
    config: Config, clock: Clock, simulation: SimulationInputs | None = None
) -> tuple[RoomDevices, SimulatedRoom | None]:
    """The room's devices; the simulated room (if any part is simulated) is returned too, so a
    scripted hearing can place speech on its microphones."""
    room = config.room
    sim_inputs = simulation or SimulationInputs(names={})
    needs_sim = (
        any(c.simulated for c in room.cameras)
        or any(s.microphone.simulated for s in room.seats)
        or "sim" in (room.face_terminal, room.display, room.speakers)
    )
    simulated: SimulatedRoom | None = None
    if needs_sim:
        spec = RoomSpec(
            name=room.name,
            cameras=tuple(
                CameraSpec(c.id, CameraView(c.view), c.width, c.height, c.fps) for c in room.cameras
            ),
            seats=tuple(
                SeatSpec(s.id, s.role.label, sim_inputs.names.get(s.id, ""), s.camera, s.microphone.channel)
                for s in room.seats
            ),
            acoustics=sim_inputs.acoustics,
        )
        simulated = SimulatedRoom(
            spec,
            clock,
            sim_inputs.schedules,
            face_visits=sim_inputs.face_visits,
            display_out_dir=sim_inputs.display_out_dir,
        )

    cameras: dict[str, Camera] = {}
    for cam in room.cameras:
        if cam.simulated:
            assert simulated is not None
            cameras[cam.id] = simulated.camera(cam.id)
        else:
            from devices.real.camera import OpenCVCamera

            cameras[cam.id] = OpenCVCamera(
                cam.id, cam.source, clock, width=cam.width, height=cam.height, fps=cam.fps
            )

    microphones: dict[str, Microphone] = {}
    for seat in room.seats:
        if seat.microphone.simulated:
            assert simulated is not None
            microphones[seat.id] = simulated.microphone(seat.id)
        else:
            from devices.real.audio import SoundDeviceMicrophone

            microphones[seat.id] = SoundDeviceMicrophone(
                f"mic-{seat.id}",
                seat.microphone.device,
                seat.microphone.channel,
                clock,
                sample_rate=seat.microphone.sample_rate,
            )

    face_terminal: Camera
    if room.face_terminal == "sim":
        assert simulated is not None
        face_terminal = simulated.face_terminal
    else:
        from devices.real.camera import OpenCVCamera

        face_terminal = OpenCVCamera(
            "face-terminal", room.face_terminal, clock, kind=DeviceKind.FACE_TERMINAL
        )

    display: Display
    if room.display == "sim":
        assert simulated is not None
        display = simulated.display
    else:
        from devices.real.display import WindowDisplay

        display = WindowDisplay("display", clock, room.display)

    speaker: Speaker
    if room.speakers == "sim":
        assert simulated is not None
        speaker = simulated.speaker
    else:
        from devices.real.audio import SoundDeviceSpeaker

        speaker = SoundDeviceSpeaker("speaker", clock, room.speakers)

    return (
        RoomDevices(
            cameras=cameras,
            microphones=microphones,
            display=display,
            speaker=speaker,
            face_terminal=face_terminal,
        ),
        simulated,
    )
