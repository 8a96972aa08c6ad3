"""Adapters for the real room's hardware, behind the Protocols in :mod:`devices.interfaces`.

See ``hardware.md`` for the equipment, wiring and configuration.
"""

from devices.real.audio import (
    PORTAUDIO_APT,
    AudioUnavailable,
    SoundDeviceMicrophone,
    SoundDevicePlayback,
    SoundDeviceSpeaker,
    find_device,
    import_sounddevice,
)
from devices.real.camera import OpenCVCamera, redact
from devices.real.display import WindowDisplay

__all__ = [
    "PORTAUDIO_APT",
    "AudioUnavailable",
    "OpenCVCamera",
    "SoundDeviceMicrophone",
    "SoundDevicePlayback",
    "SoundDeviceSpeaker",
    "WindowDisplay",
    "find_device",
    "import_sounddevice",
    "redact",
]
