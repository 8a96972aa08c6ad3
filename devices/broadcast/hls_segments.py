"""The public stream's segment writer: one run of pictures and sound, encoded once, cut into MPEG-TS files.

It exists apart from the publisher (:mod:`devices.broadcast.hls`) because it is the one part that
knows about codecs and containers, and it knows nothing about threads, delays or playlists: it is
driven picture by picture, reports each segment the moment its file is closed (stamped with the
hearing clock it is given, which is where the release delay starts), and can be run on its own, as
``bench/bench_hls.py`` does to measure what the encoding costs.

Segmenting. Each segment is its own ``av.open(..., format="mpegts")`` container, fed packets from
one pair of encoders that lives for the whole run; the encoders are opened in a ``null`` container
and each segment gets its streams from them with ``add_stream_from_template`` (which also carries the
AAC extradata the MPEG-TS muxer needs for its ADTS headers). FFmpeg's ``hls`` muxer would cut the
segments itself, but it keeps its own playlist and deletes files on its own schedule and tells the
caller nothing about when a segment is complete; the delay needs exactly that moment, and the kill
switch needs to own every file. One encoder across segment files (not one per file) keeps the AAC
stream continuous: a fresh AAC encoder would insert its priming silence at every boundary.

CPU (``bench/bench_hls.py``: the 1280×720 @ 25 fps program of the simulated courtroom at 1.5 Mbit/s
plus mono AAC, on this project's shared two-core machine): about 0.40 CPU seconds per media second
with one libx264 thread (the default), encoding at about 2x real time on one core; two threads cost
about the same (0.38) and run faster, so one is kept to leave the recording its core. A quiet
synthetic picture costs about 0.2. Output is about 1.75 Mbit/s including MPEG-TS overhead.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.frame import PictureType
from av.video.stream import VideoStream

from devices.clock import Clock
from devices.media import Image, Samples

SEGMENT_RE = re.compile(r"^live-([0-9a-f]{8})-([0-9]{6})\.ts$")
"""Segment file names: ``live-<run token>-<sequence>.ts``. A fresh token per start means a restarted
stream never reuses a name a browser or proxy may still hold from the previous one."""

TS_CLOCK = 90_000
"""The MPEG-TS 90 kHz clock, used for picture timestamps."""
AUDIO_RATE = 48_000
PTS_ORIGIN_SECONDS = 10
"""Timestamps start here rather than at 0: AAC's priming puts the first sound packet before the first
picture, and a negative timestamp would make the muxer shift the first segment alone."""
X264_OPTIONS: dict[str, str] = {
    "preset": "veryfast",
    # No lookahead and no B-frames: a picture comes out of the encoder as it goes in, so a segment
    # is complete (and its delay starts) the moment its last picture has been encoded.
    "tune": "zerolatency",
    # A forced keyframe at a segment boundary must be an IDR frame, or a player joining at that
    # segment could not start decoding there.
    "forced-idr": "1",
}
AUDIO_BITRATE = 64_000
"""Mono speech."""


def segment_name(token: str, sequence: int) -> str:
    return f"live-{token}-{sequence:06d}.ts"


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    sequence: int
    """Media sequence number within its run, from 0."""
    duration: float
    """Seconds of media."""
    completed_at: float
    """Hearing-clock time (the encoder's ``clock``) when its last picture was written and the file closed."""


class SegmentEncoder:
    """Encodes one run of pictures (and sound) into numbered MPEG-TS files in ``out_dir``.

    Not thread-safe: one owner thread. ``on_segment`` is called on that thread with each finished
    segment, after its file is closed; ``clock`` stamps its completion.
    """

    def __init__(
        self,
        out_dir: Path,
        token: str,
        *,
        width: int,
        height: int,
        fps: float,
        frames_per_segment: int,
        video_bitrate: int,
        audio: bool,
        on_segment: Callable[[Segment], None],
        clock: Clock,
        threads: int = 1,
    ) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"yuv420p needs even positive dimensions, got {width}x{height}")
        self.out_dir = out_dir
        self.token = token
        self.width = width
        self.height = height
        self.fps = fps
        self.frames_per_segment = frames_per_segment
        self._on_segment = on_segment
        self._clock = clock
        self._sequence = -1
        self._segment: OutputContainer | None = None
        self._segment_video: VideoStream | None = None
        self._segment_audio: AudioStream | None = None
        self._segment_start_pts = 0
        self._last_video_pts: int | None = None
        self._boundaries: deque[int] = deque()
        """Timestamps of pictures forced to start a segment, not yet out of the encoder."""
        self._waiting_audio: list[av.Packet[AudioStream]] = []
        self._audio_written = 0
        # The encoders live in a container that writes nowhere; segments copy their parameters.
        self._encoders: OutputContainer = av.open(os.devnull, mode="w", format="null")
        try:
            video = self._encoders.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            video.width = width
            video.height = height
            video.pix_fmt = "yuv420p"
            video.time_base = Fraction(1, TS_CLOCK)
            ctx = video.codec_context
            ctx.time_base = Fraction(1, TS_CLOCK)
            ctx.bit_rate = video_bitrate
            # Keyframes come from the segment boundaries (forced); this only bounds a runaway GOP.
            ctx.gop_size = frames_per_segment * 4
            ctx.thread_count = threads
            kbps = max(1, video_bitrate // 1000)
            # A capped VBV keeps every segment near the nominal rate, so a viewer's buffer holds.
            ctx.options = {**X264_OPTIONS, "x264-params": f"vbv-maxrate={kbps}:vbv-bufsize={kbps}"}
            self._video = video
            self._audio: AudioStream | None = None
            if audio:
                sound = self._encoders.add_stream("aac", rate=AUDIO_RATE)
                sound.layout = "mono"
                sound.bit_rate = AUDIO_BITRATE
                sound.time_base = Fraction(1, AUDIO_RATE)
                sound.codec_context.time_base = Fraction(1, AUDIO_RATE)
                self._audio = sound
            # Open the encoders now so each segment's streams get complete parameters (extradata).
            self._encoders.start_encoding()
        except BaseException:
            self._encoders.close()
            raise

    @property
    def current_path(self) -> Path | None:
        """The segment file being written, if any."""
        return self._path(self._sequence) if self._segment is not None else None

    def _path(self, sequence: int) -> Path:
        return self.out_dir / segment_name(self.token, sequence)

    def write_video(self, image: Image, n: int) -> None:
        """Encode picture number ``n`` of the run (``n`` counts up by one; it sets the timestamp)."""
        if image.shape[:2] != (self.height, self.width):
            image = np.asarray(
                cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
        pts = PTS_ORIGIN_SECONDS * TS_CLOCK + round(n * TS_CLOCK / self.fps)
        # cv2 converts BGR to I420 several times faster than PyAV's swscale path.
        yuv: npt.NDArray[np.uint8] = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts
        frame.time_base = Fraction(1, TS_CLOCK)
        if n % self.frames_per_segment == 0:
            frame.pict_type = PictureType.I
            self._boundaries.append(pts)
        for packet in self._video.encode(frame):
            self._mux_video(packet)
        self._last_video_pts = pts

    def write_audio(self, samples: Samples) -> None:
        """Encode the next ``samples`` (mono, 48 kHz) of the run's continuous sound."""
        if self._audio is None or len(samples) == 0:
            return
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = AUDIO_RATE
        frame.pts = PTS_ORIGIN_SECONDS * AUDIO_RATE + self._audio_written
        frame.time_base = Fraction(1, AUDIO_RATE)
        self._audio_written += len(samples)
        for packet in self._audio.encode(frame):
            self._mux_audio(packet)

    def _mux_video(self, packet: av.Packet[VideoStream]) -> None:
        # Rotate on the packet, not on the picture handed in: whatever the encoder buffers, a
        # segment's file holds exactly its own pictures.
        if self._boundaries and packet.pts is not None and packet.pts >= self._boundaries[0]:
            self._rotate(self._boundaries.popleft())
        if self._segment is None or self._segment_video is None:
            return  # cannot happen: the first picture is a boundary
        packet.stream = self._segment_video
        self._segment.mux(packet)
        if self._waiting_audio:
            waiting, self._waiting_audio = self._waiting_audio, []
            for audio_packet in waiting:
                self._mux_audio(audio_packet)

    def _mux_audio(self, packet: av.Packet[AudioStream]) -> None:
        if self._segment is None or self._segment_audio is None:
            self._waiting_audio.append(packet)
            return
        packet.stream = self._segment_audio
        self._segment.mux(packet)

    def _rotate(self, start_pts: int) -> None:
        self._finish_segment(start_pts)
        self._sequence += 1
        container = av.open(str(self._path(self._sequence)), mode="w", format="mpegts")
        try:
            self._segment_video = container.add_stream_from_template(self._video)
            self._segment_audio = (
                container.add_stream_from_template(self._audio) if self._audio is not None else None
            )
        except BaseException:
            container.close()
            raise
        self._segment = container
        self._segment_start_pts = start_pts

    def _finish_segment(self, end_pts: int) -> None:
        if self._segment is None:
            return
        container, self._segment = self._segment, None
        container.close()
        duration = (end_pts - self._segment_start_pts) / TS_CLOCK
        self._on_segment(
            Segment(segment_name(self.token, self._sequence), self._sequence, duration, self._clock.now())
        )

    def close(self) -> None:
        """Flush the encoders, finish the last segment and release everything; raises on errors."""
        try:
            for packet in self._video.encode(None):
                self._mux_video(packet)
            if self._audio is not None:
                for packet in self._audio.encode(None):
                    self._mux_audio(packet)
            if self._last_video_pts is not None:
                self._finish_segment(self._last_video_pts + round(TS_CLOCK / self.fps))
        finally:
            self.abort()

    def abort(self) -> None:
        """Release everything without finishing the open segment (its file stays); never raises."""
        if self._segment is not None:
            with contextlib.suppress(Exception):
                self._segment.close()
            self._segment = None
        with contextlib.suppress(Exception):
            self._encoders.close()
