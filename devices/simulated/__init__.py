"""The simulated courtroom: every device of a room, generated, paced by a (possibly scaled) hearing
clock, with fault injection. Implements the Protocols in :mod:`devices.interfaces`.

Needs a CJK font for the Chinese name cards and display pages (:mod:`devices.fonts`).
"""

from devices.simulated.camera import SimulatedCamera, SpeakingFn
from devices.simulated.display import SimulatedDisplay
from devices.simulated.face_terminal import ImageSource, SimulatedFaceTerminal, Visit
from devices.simulated.microphone import (
    Clip,
    ClipLike,
    SimulatedMicrophone,
    mix_crosstalk,
    speech_spans,
)
from devices.simulated.room import (
    ROLE_LABELS,
    CameraSpec,
    RoomSpec,
    SeatSpec,
    SimulatedRoom,
    default_room_spec,
    mic_id,
)
from devices.simulated.scene import CameraView, SceneSeat
from devices.simulated.speaker import PlayedAudio, SimulatedPlayback, SimulatedSpeaker

__all__ = [
    "ROLE_LABELS",
    "CameraSpec",
    "CameraView",
    "Clip",
    "ClipLike",
    "ImageSource",
    "PlayedAudio",
    "RoomSpec",
    "SceneSeat",
    "SeatSpec",
    "SimulatedCamera",
    "SimulatedDisplay",
    "SimulatedFaceTerminal",
    "SimulatedMicrophone",
    "SimulatedPlayback",
    "SimulatedRoom",
    "SimulatedSpeaker",
    "SpeakingFn",
    "Visit",
    "default_room_spec",
    "mic_id",
    "mix_crosstalk",
    "speech_spans",
]
