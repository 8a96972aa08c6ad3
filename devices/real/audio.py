"""Real audio through PortAudio (the ``sounddevice`` package): seat microphones as channels of the
room's multichannel audio interface, and the announcement loudspeaker.

Each seat's microphone is one channel of one interface (e.g. a Behringer UMC1820: 8 mic inputs,
channels 1–8). All seats on an interface share **one** input stream that captures every channel;
a callback splits the block into per-channel buffers that each :class:`SoundDeviceMicrophone`
reads. ``sounddevice`` is imported lazily: on a machine without PortAudio (``libportaudio2``) the
devices still construct, ``check()`` says what is missing, and reads raise :class:`DeviceFault`.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from devices.base import DeviceBase
from devices.clock import Clock
from devices.interfaces import DeviceFault, DeviceKind, DeviceStatus
from devices.media import AudioChunk, Samples
from devices.resample import resample

PORTAUDIO_APT = "apt-get install -y --no-install-recommends libportaudio2"

_import_module = importlib.import_module


class AudioUnavailable(RuntimeError):
    """PortAudio, the sounddevice package, or the named device is not there."""


def import_sounddevice() -> Any:
    """The ``sounddevice`` module, or :class:`AudioUnavailable` saying what to install."""
    try:
        return _import_module("sounddevice")
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise AudioUnavailable(
            f"PortAudio 音频库未安装 (PortAudio library not found: {exc}); install it: `{PORTAUDIO_APT}`"
        ) from exc
    except ImportError as exc:
        raise AudioUnavailable(
            "未安装 sounddevice (Python package sounddevice missing): pip install sounddevice"
        ) from exc


def find_device(
    sd: Any, device: str | int | None, direction: Literal["input", "output"]
) -> tuple[int, Mapping[str, Any]]:
    """The PortAudio index and info of ``device``: an index, a (case-insensitive) part of its name,
    or ``None`` for the system default."""
    key = f"max_{direction}_channels"
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device.strip())
    try:
        if device is None:
            index = sd.default.device[0 if direction == "input" else 1]
            if index is None or int(index) < 0:
                zh = "输入" if direction == "input" else "输出"
                raise AudioUnavailable(f"没有默认{zh}设备 (no default {direction} device)")
            index = int(index)
        elif isinstance(device, int):
            index = device
        else:
            all_devices = list(sd.query_devices())
            matches = [
                i
                for i, d in enumerate(all_devices)
                if device.lower() in str(d["name"]).lower() and int(d[key]) > 0
            ]
            if not matches:
                names = ", ".join(f"{i}: {d['name']}" for i, d in enumerate(all_devices) if int(d[key]) > 0)
                raise AudioUnavailable(
                    f"未找到音频设备 {device!r} (no {direction} device matching {device!r}; "
                    f"available: {names or 'none'})"
                )
            index = matches[0]
        info = sd.query_devices(index)
    except AudioUnavailable:
        raise
    except Exception as exc:  # PortAudioError, IndexError, ValueError
        raise AudioUnavailable(
            f"音频设备 {device!r} 不可用 (audio device {device!r} unavailable: {exc})"
        ) from exc
    if int(info[key]) <= 0:
        raise AudioUnavailable(
            f"设备 {info['name']!r} 没有{direction}通道 (device has no {direction} channels)"
        )
    return index, info


class _ChannelBuffer:
    """One channel's captured audio, waiting to be read; bounded (oldest dropped first)."""

    def __init__(self, sample_rate: int, max_seconds: float) -> None:
        self.sample_rate = sample_rate
        self.max_samples = max(1, int(max_seconds * sample_rate))
        self.cond = threading.Condition()
        self.chunks: deque[tuple[float, Samples]] = deque()
        self.count = 0
        self.dropped = 0

    def push(self, t: float, data: Samples) -> None:
        with self.cond:
            self.chunks.append((t, data))
            self.count += len(data)
            while self.count > self.max_samples and self.chunks:
                _, old = self.chunks.popleft()
                self.count -= len(old)
                self.dropped += len(old)
            self.cond.notify_all()

    def take(self, n: int, timeout: float) -> tuple[float, Samples] | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.count < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)
            first_t = self.chunks[0][0]
            pieces: list[Samples] = []
            need = n
            while need:
                t, data = self.chunks[0]
                if len(data) <= need:
                    self.chunks.popleft()
                    pieces.append(data)
                    need -= len(data)
                else:
                    pieces.append(data[:need])
                    self.chunks[0] = (t + need / self.sample_rate, data[need:])
                    need = 0
            self.count -= n
        return first_t, np.concatenate(pieces).astype(np.float32, copy=False)


class _SharedInput:
    """One PortAudio input stream capturing all channels of an interface, split per channel."""

    def __init__(
        self, sd: Any, index: int, info: Mapping[str, Any], sample_rate: int, clock: Clock, blocksize: int
    ):
        self.index = index
        self.name = str(info["name"])
        self.channels = int(info["max_input_channels"])
        self.sample_rate = sample_rate
        self.clock = clock
        self.users = 0
        self.subscribers: dict[int, list[_ChannelBuffer]] = {}
        self.lock = threading.Lock()
        self.samples = 0
        self.t0: float | None = None
        self.overflows = 0
        self.last_callback = 0.0
        self.stream = sd.InputStream(
            device=index,
            channels=self.channels,
            samplerate=sample_rate,
            dtype="float32",
            blocksize=blocksize,
            callback=self._callback,
        )
        self.stream.start()

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status and getattr(status, "input_overflow", False):
            self.overflows += 1
        if self.t0 is None:
            latency = frames / self.sample_rate
            try:
                measured = float(time_info.currentTime) - float(time_info.inputBufferAdcTime)
                if 0.0 <= measured < 1.0:
                    latency = measured
            except (AttributeError, TypeError, ValueError):
                pass
            self.t0 = self.clock.now() - latency
        t = self.t0 + self.samples / self.sample_rate
        self.samples += frames
        self.last_callback = time.monotonic()
        block = np.asarray(indata, dtype=np.float32)
        with self.lock:
            subscribers = [(ch, list(bufs)) for ch, bufs in self.subscribers.items()]
        for channel, bufs in subscribers:
            data = np.ascontiguousarray(block[:, channel - 1])
            for buf in bufs:
                buf.push(t, data)

    def subscribe(self, channel: int, buf: _ChannelBuffer) -> None:
        with self.lock:
            self.subscribers.setdefault(channel, []).append(buf)

    def unsubscribe(self, channel: int, buf: _ChannelBuffer) -> None:
        with self.lock:
            bufs = self.subscribers.get(channel, [])
            if buf in bufs:
                bufs.remove(buf)

    def close(self) -> None:
        try:
            self.stream.stop()
        finally:
            self.stream.close()


_registry: dict[tuple[int, int], _SharedInput] = {}
_registry_lock = threading.Lock()


def _acquire(
    sd: Any, index: int, info: Mapping[str, Any], sample_rate: int, clock: Clock, blocksize: int
) -> _SharedInput:
    with _registry_lock:
        shared = _registry.get((index, sample_rate))
        if shared is None:
            shared = _SharedInput(sd, index, info, sample_rate, clock, blocksize)
            _registry[(index, sample_rate)] = shared
        shared.users += 1
        return shared


def _release(shared: _SharedInput) -> None:
    with _registry_lock:
        shared.users -= 1
        if shared.users > 0:
            return
        _registry.pop((shared.index, shared.sample_rate), None)
    shared.close()


class SoundDeviceMicrophone(DeviceBase):
    """One seat's microphone: ``channel`` (1-based, as labelled on the interface) of audio ``device``
    (a part of its name such as ``"UMC1820"``, a PortAudio index, or ``None`` for the default).

    Samples are delivered at ``sample_rate`` (48 kHz is what interfaces run natively; PortAudio may
    refuse other rates on a raw ``hw:`` device). The hearing-clock time of the first sample is taken
    at the first callback (minus PortAudio's input latency) and then advanced by sample count, so a
    seat's audio is gapless; the drift of the interface's crystal against the system clock (tens of
    ppm) is not corrected. Up to ``buffer_seconds`` of unread audio are kept, the oldest dropped first.
    """

    plain_errors = (AudioUnavailable,)

    def __init__(
        self,
        device_id: str,
        device: str | int | None,
        channel: int,
        clock: Clock,
        *,
        sample_rate: int = 48000,
        blocksize: int = 0,
        buffer_seconds: float = 30.0,
        timeout: float = 2.0,
    ) -> None:
        if channel < 1:
            raise ValueError(f"{device_id}: channel is 1-based, got {channel}")
        super().__init__(device_id, DeviceKind.MICROPHONE)
        self.device = device
        self.channel = channel
        self._clock = clock
        self._rate = int(sample_rate)
        self.blocksize = blocksize
        self.timeout = timeout
        self._buffer = _ChannelBuffer(self._rate, buffer_seconds)
        self._shared: _SharedInput | None = None
        self._lock = threading.Lock()

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def dropped_samples(self) -> int:
        """Samples lost because nobody read them within ``buffer_seconds``."""
        return self._buffer.dropped

    def _resolve(self) -> tuple[Any, int, Mapping[str, Any]]:
        sd = import_sounddevice()
        index, info = find_device(sd, self.device, "input")
        channels = int(info["max_input_channels"])
        if self.channel > channels:
            raise AudioUnavailable(
                f"通道 {self.channel} 超出范围 (channel {self.channel} out of range: "
                f"{info['name']!r} has {channels} input channels)"
            )
        return sd, index, info

    def start(self) -> None:
        """Open (or join) the interface's shared input stream; ``read()`` does it when needed."""
        with self._lock:
            self._ensure_open()
            if self._shared is not None:
                return
            try:
                sd, index, info = self._resolve()
                shared = _acquire(sd, index, info, self._rate, self._clock, self.blocksize)
            except AudioUnavailable as exc:
                raise self.fault(str(exc)) from exc
            except Exception as exc:  # PortAudioError opening the stream
                raise self.fault(f"无法打开音频输入 (cannot open audio input): {exc}") from exc
            shared.subscribe(self.channel, self._buffer)
            self._shared = shared

    def _probe(self) -> DeviceStatus:
        sd, index, info = self._resolve()
        shared = self._shared
        if shared is None:
            try:
                sd.check_input_settings(
                    device=index,
                    channels=int(info["max_input_channels"]),
                    samplerate=self._rate,
                    dtype="float32",
                )
            except Exception as exc:
                return self.status(
                    False, f"{info['name']}: 不支持 {self._rate} Hz (unsupported settings: {exc})"
                )
        elif shared.last_callback and time.monotonic() - shared.last_callback > max(1.0, self.timeout):
            age = time.monotonic() - shared.last_callback
            return self.status(False, f"{info['name']}: 音频中断 {age:.0f} s (no audio for {age:.0f} s)")
        detail = f"{info['name']} 通道 {self.channel}/{int(info['max_input_channels'])} @ {self._rate} Hz"
        if shared is not None and shared.overflows:
            detail += f", {shared.overflows} overflows"
        return self.status(True, detail)

    def read(self, seconds: float) -> AudioChunk:
        self.start()
        n = max(1, round(seconds * self._rate))
        got = self._buffer.take(n, timeout=seconds + self.timeout)
        if got is None:
            raise self.fault(
                f"麦克风无音频 (no audio within {seconds + self.timeout:g} s) "
                f"from {self.device!r} channel {self.channel}",
            )
        t, samples = got
        return AudioChunk(samples, self._rate, t)

    def close(self) -> None:
        with self._lock:
            super().close()
            shared, self._shared = self._shared, None
        if shared is not None:
            shared.unsubscribe(self.channel, self._buffer)
            _release(shared)


class SoundDevicePlayback:
    def __init__(self, device_id: str, started_at: float, duration: float) -> None:
        self._device_id = device_id
        self._started_at = started_at
        self._duration = duration
        self._done = threading.Event()
        self.error: str | None = None

    @property
    def started_at(self) -> float:
        return self._started_at

    @property
    def duration(self) -> float:
        return self._duration

    def _finish(self, error: str | None = None) -> None:
        self.error = error
        self._done.set()

    def wait(self) -> None:
        """Block until played out; raises :class:`DeviceFault` when playing failed."""
        if not self._done.wait(timeout=self._duration + 10.0):
            raise DeviceFault(self._device_id, "播放超时 (playback did not finish)")
        if self.error:
            raise DeviceFault(self._device_id, self.error)


class SoundDeviceSpeaker(DeviceBase):
    """The announcement loudspeaker on an audio output (``device`` as for the microphone).

    Each :meth:`play` opens its own output stream in a background thread; mono audio goes to
    ``channels`` outputs (default: up to 2). When the device refuses the clip's rate, it is resampled
    to the device's default rate.
    """

    plain_errors = (AudioUnavailable,)

    def __init__(
        self, device_id: str, clock: Clock, device: str | int | None = None, *, channels: int | None = None
    ) -> None:
        super().__init__(device_id, DeviceKind.SPEAKER)
        self._clock = clock
        self.device = device
        self.channels = channels
        self._threads: list[threading.Thread] = []

    def _probe(self) -> DeviceStatus:
        sd = import_sounddevice()
        _, info = find_device(sd, self.device, "output")
        return self.status(
            True,
            f"{info['name']}: {int(info['max_output_channels'])} outputs, "
            f"{float(info['default_samplerate']):g} Hz",
        )

    def play(self, samples: Samples, sample_rate: int) -> SoundDevicePlayback:
        from devices.simulated.microphone import to_mono_float32

        self._ensure_open()
        try:
            sd = import_sounddevice()
            index, info = find_device(sd, self.device, "output")
        except AudioUnavailable as exc:
            raise self.fault(str(exc)) from exc
        channels = self.channels or min(2, int(info["max_output_channels"]))
        mono = to_mono_float32(samples)
        rate = int(sample_rate)
        try:
            sd.check_output_settings(device=index, channels=channels, samplerate=rate, dtype="float32")
        except Exception:
            target = int(info["default_samplerate"])
            mono, rate = resample(mono, rate, target), target
        data = np.ascontiguousarray(np.repeat(mono[:, None], channels, axis=1))
        playback = SoundDevicePlayback(self._id, self._clock.now(), len(mono) / rate)

        def run() -> None:
            try:
                with sd.OutputStream(
                    device=index, samplerate=rate, channels=channels, dtype="float32"
                ) as stream:
                    stream.write(data)
                playback._finish()
            except Exception as exc:
                playback._finish(f"播放失败 (playback failed): {exc}")

        thread = threading.Thread(target=run, name=f"speaker-{self._id}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return playback

    def close(self) -> None:
        super().close()
        for thread in self._threads:
            thread.join(timeout=1.0)
