"""One segment file each: H.264 in fragmented MP4 for pictures, FLAC for sound.

Both files carry the hearing-clock time of their first frame or sample in their ``comment`` metadata
(``hearing_t0=…``), written in the header, so recovery can place a segment cut off by a crash even
though its manifest line was never written.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import soundfile as sf
from av.container import OutputContainer
from av.video.stream import VideoStream

from devices.media import Image, Samples

TIME_BASE = Fraction(1, 90000)
"""The MPEG 90 kHz clock: fine enough to keep capture times as they came (variable frame rate)."""

MP4_OPTIONS = {
    # An MP4 normally gets its index at close; fragmented with an empty moov, every fragment is
    # self-describing, so a file cut off by a crash plays up to its last complete fragment.
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    # Hand each finished fragment to the OS at once instead of leaving it in a user-space buffer
    # that a kill -9 would lose.
    "flush_packets": "1",
}

DEFAULT_X264_OPTIONS: dict[str, str] = {"preset": "ultrafast", "tune": "zerolatency"}

_T0_RE = re.compile(r"hearing_t0=(-?[0-9]+(?:\.[0-9]+)?)")


def t0_comment(t0: float, source_id: str, index: int) -> str:
    return f"hearing_t0={t0:.6f};source={source_id};index={index}"


def parse_t0(comment: str | None) -> float | None:
    if not comment:
        return None
    m = _T0_RE.search(comment)
    return float(m.group(1)) if m else None


class VideoSegmentFile:
    """Encodes BGR pictures into one fragmented MP4. Not thread-safe: one owner thread."""

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: float,
        t0: float,
        comment: str,
        codec: str = "libx264",
        options: Mapping[str, str] | None = None,
        keyframe_seconds: float = 1.0,
        threads: int = 1,
    ) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"yuv420p needs even dimensions, got {width}x{height}")
        self.path = path
        self.t0 = t0
        self.frames = 0
        self.dropped = 0
        self.last_t = t0
        self._last_pts = -1
        self._container: OutputContainer = av.open(
            str(path), mode="w", format="mp4", options=dict(MP4_OPTIONS)
        )
        try:
            self._container.metadata["comment"] = comment
            rate = Fraction(fps).limit_denominator(1001)
            stream = self._container.add_stream(codec, rate=rate)
            if not isinstance(stream, VideoStream):
                raise ValueError(f"{codec} is not a video codec")
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.time_base = TIME_BASE
            ctx = stream.codec_context
            ctx.time_base = TIME_BASE
            # Keyframes bound what a crash loses: a fragment ends at each one.
            ctx.gop_size = max(1, round(fps * keyframe_seconds))
            ctx.thread_count = threads
            ctx.options = dict(DEFAULT_X264_OPTIONS if options is None else options)
            self._stream = stream
        except BaseException:
            self._container.close()
            raise

    def write(self, image: Image, t: float) -> bool:
        """Encode one picture taken at hearing-clock ``t``; False (and counted) when its timestamp does not
        advance, which players and muxers would otherwise reject or reorder."""
        pts = round((t - self.t0) / TIME_BASE)
        if pts <= self._last_pts:
            self.dropped += 1
            return False
        # cv2 converts BGR to I420 about 8x faster than PyAV's swscale path.
        yuv: npt.NDArray[np.uint8] = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts
        frame.time_base = TIME_BASE
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._last_pts = pts
        self.frames += 1
        self.last_t = t
        return True

    def close(self) -> None:
        """Flush the encoder and finish the file; raises on encoder or disk errors."""
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()

    def abort(self) -> None:
        """Close after an error, keeping whatever reached the file; never raises."""
        with contextlib.suppress(Exception):
            self._container.close()


def quantize_pcm24(samples: Samples) -> npt.NDArray[np.int32]:
    """Float samples as the 24-bit integers the FLAC file stores, left-aligned in int32 as libsndfile
    expects. Doing it here, not in libsndfile, makes the stored values exactly predictable."""
    clipped = np.clip(samples.astype(np.float64), -1.0, 1.0 - 2.0**-23)
    return (np.round(clipped * 2.0**23).astype(np.int32)) << 8


class AudioSegmentFile:
    """Writes mono samples into one FLAC file (24-bit, lossless). Not thread-safe: one owner thread."""

    def __init__(self, path: Path, *, sample_rate: int, t0: float, comment: str) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.t0 = t0
        self.samples = 0
        self._file = sf.SoundFile(
            str(path), mode="w", samplerate=sample_rate, channels=1, format="FLAC", subtype="PCM_24"
        )
        try:
            # libsndfile writes string metadata with the header, i.e. only before the first samples.
            self._file.comment = comment
        except BaseException:
            self._file.close()
            raise

    @property
    def end(self) -> float:
        return self.t0 + self.samples / self.sample_rate

    def write(self, samples: Samples) -> None:
        if len(samples):
            self._file.write(quantize_pcm24(samples))
            self.samples += len(samples)

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._file.close()
