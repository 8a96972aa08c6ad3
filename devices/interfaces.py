"""The small interfaces every courtroom device implements, real or simulated.

Each device reports its own readiness with :meth:`Device.check` and raises :class:`DeviceFault` with a
message a clerk can act on when it breaks mid-hearing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from devices.media import AudioChunk, Image, Samples, VideoFrame


class DeviceKind(StrEnum):
    CAMERA = "camera"
    MICROPHONE = "microphone"
    FACE_TERMINAL = "face_terminal"
    DISPLAY = "display"
    SPEAKER = "speaker"
    RECORDER = "recorder"


class DeviceFault(Exception):
    """A device cannot do its job; the message says which device and what is wrong."""

    def __init__(self, device_id: str, problem: str) -> None:
        super().__init__(f"{device_id}: {problem}")
        self.device_id = device_id
        self.problem = problem


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    device_id: str
    kind: DeviceKind
    ready: bool
    detail: str = ""
    """What was checked, or the fault in words a clerk can act on."""


@runtime_checkable
class Device(Protocol):
    @property
    def device_id(self) -> str: ...

    @property
    def kind(self) -> DeviceKind: ...

    def check(self) -> DeviceStatus:
        """Probe the device without side effects on the hearing; never raises."""
        ...

    def close(self) -> None: ...


class Camera(Device, Protocol):
    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def fps(self) -> float: ...

    def read(self) -> VideoFrame:
        """Block until the next frame; raise :class:`DeviceFault` when no frame can come."""
        ...


class Microphone(Device, Protocol):
    @property
    def sample_rate(self) -> int: ...

    def read(self, seconds: float) -> AudioChunk:
        """Block until ``seconds`` of audio are captured; raise :class:`DeviceFault` on failure."""
        ...


@dataclass(frozen=True, slots=True)
class DisplayContent:
    """What the room display shows: a title line, body text and optionally a picture."""

    title: str
    text: str = ""
    image: Image | None = field(default=None, compare=False)


class Display(Device, Protocol):
    def show(self, content: DisplayContent) -> None: ...


class Playback(Protocol):
    @property
    def started_at(self) -> float:
        """Hearing-clock seconds when the first sample went out."""
        ...

    @property
    def duration(self) -> float: ...

    def wait(self) -> None:
        """Block until the audio has been played out."""
        ...


class Speaker(Device, Protocol):
    def play(self, samples: Samples, sample_rate: int) -> Playback:
        """Start playing and return at once; the audio goes out in the background."""
        ...
