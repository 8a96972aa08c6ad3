"""The public livestream: the public (masked) program feed as HLS, released with a delay.

:class:`HlsPublisher` encodes the feed once, on its own thread, with PyAV (H.264 via libx264
``veryfast``/``zerolatency``, AAC when there is sound) into numbered MPEG-TS segments in ``out_dir``
and keeps a sliding-window live playlist, ``index.m3u8``. A segment is listed only once it has been
complete for ``delay_seconds``: the clerk's masks and kill switch act within that delay, before the
public sees anything. :meth:`HlsPublisher.kill` stops publishing at once and deletes every segment,
listed or not.

Segmenting. Each segment is its own ``av.open(..., format="mpegts")`` container, fed packets from
one pair of encoders that lives for the whole run; the encoders are opened in a ``null`` container
and each segment gets its streams from them with ``add_stream_from_template`` (which also carries the
AAC extradata the MPEG-TS muxer needs for its ADTS headers). FFmpeg's ``hls`` muxer would cut the
segments itself, but it keeps its own playlist and deletes files on its own schedule and tells the
caller nothing about when a segment is complete; the delay needs exactly that moment, and the kill
switch needs to own every file. One encoder across segment files (not one per file) keeps the AAC
stream continuous: a fresh AAC encoder would insert its priming silence at every boundary.

Cadence. Pictures go out on a wall-clock tick of ``1/fps`` with continuous timestamps: each tick
takes the newest frame the source delivered, repeats the last one when the source is late, and shows
a slate (直播信号中断) once it has been silent for ``stale_seconds``, so a stalled source never
stalls the segment cadence. If the encoder itself falls behind (an overloaded machine), the tick is
re-anchored rather than timestamps skipped, so every segment stays exactly ``segment_seconds`` long
and the playlist's target duration holds. Sound goes through a small jitter buffer and is cut into
exactly one tick's worth of samples per picture, with silence where none arrived.

CPU (``bench/bench_hls.py``: the 1280×720 @ 25 fps program of the simulated courtroom at 1.5 Mbit/s
plus mono AAC, on this project's shared two-core machine): about 0.40 CPU seconds per media second
with one libx264 thread (the default), encoding at about 2x real time on one core; two threads cost
about the same (0.38) and run faster, so one is kept to leave the recording its core. A quiet
synthetic picture costs about 0.2. Output is about 1.75 Mbit/s including MPEG-TS overhead.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol, TypeVar

import av
import cv2
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.frame import PictureType
from av.video.stream import VideoStream

from devices.broadcast.program import render_slate
from devices.media import AudioChunk, Image, Samples, VideoFrame

log = logging.getLogger(__name__)

PLAYLIST_NAME = "index.m3u8"
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
MAX_LAG_SECONDS = 1.0
"""When the encoder is this far behind its tick, the tick is re-anchored to now."""
AUDIO_PREROLL_SECONDS = 0.12
AUDIO_MAX_BUFFER_SECONDS = 0.5
SLATE_TITLE = "直播信号中断"
SLATE_SUBTITLE = "请稍候"

T_co = TypeVar("T_co", covariant=True)


class Source(Protocol[T_co]):
    """What a subscription factory returns, e.g. :class:`devices.broadcast.program.Subscription`."""

    def get(self, timeout: float | None = None) -> T_co | None: ...

    def close(self) -> None: ...


VideoSourceFactory = Callable[[], Source[VideoFrame]]
AudioSourceFactory = Callable[[], Source[AudioChunk]]


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    sequence: int
    """Media sequence number within its run, from 0."""
    duration: float
    """Seconds of media."""
    completed_at: float
    """``time.monotonic()`` when its last picture was written and the file closed."""


class SegmentEncoder:
    """Encodes one run of pictures (and sound) into numbered MPEG-TS files in ``out_dir``.

    Not thread-safe: one owner thread. ``on_segment`` is called on that thread with each finished
    segment, after its file is closed.
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
            Segment(segment_name(self.token, self._sequence), self._sequence, duration, time.monotonic())
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


def segment_name(token: str, sequence: int) -> str:
    return f"live-{token}-{sequence:06d}.ts"


class AudioJitter:
    """Turns sound arriving in chunks of any size and rate into exactly so many samples per tick.

    It starts handing out sound once ``preroll`` seconds are buffered (silence until then) and goes
    back to buffering when it runs dry, so uneven delivery does not chop the sound; when more than
    ``max_buffer`` seconds pile up, the oldest are dropped so the sound cannot drift behind the picture.
    """

    def __init__(
        self,
        rate: int = AUDIO_RATE,
        preroll: float = AUDIO_PREROLL_SECONDS,
        max_buffer: float = AUDIO_MAX_BUFFER_SECONDS,
    ) -> None:
        self.rate = rate
        self.preroll = round(preroll * rate)
        self.max_buffer = max(self.preroll, round(max_buffer * rate))
        self._parts: deque[Samples] = deque()
        self._size = 0
        self._playing = False
        self._resampler: av.AudioResampler | None = None
        self._resampler_rate = 0
        self.dropped = 0
        """Samples (at ``rate``) dropped because too much was buffered."""

    def push(self, chunk: AudioChunk) -> None:
        samples = np.ascontiguousarray(chunk.samples, dtype=np.float32).reshape(-1)
        if len(samples) == 0:
            return
        if chunk.sample_rate != self.rate:
            samples = self._resample(samples, chunk.sample_rate)
        self._parts.append(samples)
        self._size += len(samples)
        excess = self._size - self.max_buffer
        if excess > 0:
            self._discard(excess)
            self.dropped += excess

    def _resample(self, samples: Samples, rate: int) -> Samples:
        if self._resampler is None or self._resampler_rate != rate:
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.rate)
            self._resampler_rate = rate
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        out = [
            np.asarray(f.to_ndarray(), dtype=np.float32).reshape(-1) for f in self._resampler.resample(frame)
        ]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def _discard(self, count: int) -> None:
        while count > 0 and self._parts:
            head = self._parts[0]
            if len(head) <= count:
                self._parts.popleft()
                count -= len(head)
                self._size -= len(head)
            else:
                self._parts[0] = head[count:]
                self._size -= count
                count = 0

    def take(self, count: int) -> Samples:
        """The next ``count`` samples, silence where there is no sound (yet)."""
        out = np.zeros(count, np.float32)
        if not self._playing:
            if self._size < self.preroll:
                return out
            self._playing = True
        filled = 0
        while filled < count and self._parts:
            head = self._parts[0]
            n = min(count - filled, len(head))
            out[filled : filled + n] = head[:n]
            filled += n
            self._size -= n
            if n == len(head):
                self._parts.popleft()
            else:
                self._parts[0] = head[n:]
        if filled < count:
            self._playing = False  # ran dry: build up the preroll again
        return out


@dataclass
class _Run:
    """One start: its own segment names, media sequence and encoder thread."""

    token: str
    stop: threading.Event = field(default_factory=threading.Event)
    encoded: threading.Event = field(default_factory=threading.Event)
    """Set when the encoder has finished (stopped, killed or failed)."""
    segments: deque[Segment] = field(default_factory=deque)
    """Completed segments still on disk: the listed window and those still within the delay."""
    finished: bool = False
    """The last segment has been written (a graceful stop): the playlist ends once all are listed."""
    error: str | None = None
    thread: threading.Thread | None = None
    written_playlist: str | None = None


class HlsPublisher:
    """The delayed public HLS stream of one hearing (see the module doc).

    ``start``/``stop``/``kill`` may be called from any thread, as may ``playlist`` and
    ``segment_path`` (the HTTP handlers).
    """

    def __init__(
        self,
        video: VideoSourceFactory,
        audio: AudioSourceFactory | None,
        out_dir: Path,
        *,
        segment_seconds: float = 2.0,
        delay_seconds: float = 6.0,
        window_segments: int = 6,
        width: int = 1280,
        height: int = 720,
        fps: float = 25.0,
        video_bitrate: int = 1_500_000,
        stale_seconds: float = 3.0,
        encoder_threads: int = 1,
    ) -> None:
        """
        :param video: called at each start for a source of public program frames (``get``/``close``).
        :param audio: likewise for the sound (float32 mono chunks, any rate), or None for no sound.
        :param out_dir: where segments and ``index.m3u8`` go; only files named like ours are touched.
        :param stale_seconds: after this long without a new frame a slate replaces the last frame.
        :param encoder_threads: libx264 threads (sliced, so they add no latency).
        """
        if width <= 0 or height <= 0 or width % 2 or height % 2 or fps <= 0:
            raise ValueError(f"bad stream format {width}x{height} @ {fps} fps (even sizes)")
        if segment_seconds <= 0 or delay_seconds < 0 or window_segments < 1 or video_bitrate <= 0:
            raise ValueError(
                f"bad HLS settings: segment {segment_seconds} s, delay {delay_seconds} s, "
                f"window {window_segments}, bitrate {video_bitrate}"
            )
        self._video_factory = video
        self._audio_factory = audio
        self.out_dir = Path(out_dir)
        self.delay_seconds = delay_seconds
        self.window_segments = window_segments
        self.width = width
        self.height = height
        self.fps = fps
        self.video_bitrate = video_bitrate
        self.stale_seconds = stale_seconds
        self.encoder_threads = encoder_threads
        self.frames_per_segment = max(1, round(segment_seconds * fps))
        self.segment_seconds = self.frames_per_segment / fps
        """The actual segment length: a whole number of frames."""
        # Every segment is exactly this long (the last one of a run may be shorter); the spec wants
        # EXT-X-TARGETDURATION >= each EXTINF and constant.
        self.target_duration = max(1, math.ceil(self.segment_seconds - 1e-9))
        self._lock = threading.Lock()
        self._run: _Run | None = None
        self._killed = False
        self._slate: Image | None = None

    # -- control -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Encoding now (started, not stopped, killed or failed)."""
        with self._lock:
            run = self._run
        return run is not None and not run.encoded.is_set()

    @property
    def killed(self) -> bool:
        with self._lock:
            return self._killed

    @property
    def error(self) -> str | None:
        """Why the current run's encoder stopped on its own, in Chinese; None while all is well."""
        with self._lock:
            return self._run.error if self._run is not None else None

    def start(self) -> None:
        """Start publishing afresh: new segment names, media sequence from 0, nothing from before.
        Does nothing while already encoding."""
        with self._lock:
            if self._run is not None and not self._run.encoded.is_set():
                return
            old = self._run
            self._run = None
        if old is not None:
            self._end_run(old)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._sweep()
        video = self._video_factory()
        try:
            audio = self._audio_factory() if self._audio_factory is not None else None
        except BaseException:
            video.close()
            raise
        run = _Run(secrets.token_hex(4))
        run.thread = threading.Thread(
            target=self._encode, args=(run, video, audio), name="hls-publisher", daemon=True
        )
        with self._lock:
            self._killed = False
            self._run = run
        run.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the broadcast gracefully: finish the current segment and return once it is written.
        The segments still within the delay are listed as their time comes, then the playlist gets
        ``#EXT-X-ENDLIST``. The files stay until the next start or a kill."""
        with self._lock:
            run = self._run
        if run is None:
            return
        run.stop.set()
        run.encoded.wait(timeout)

    def kill(self, reason: str) -> None:
        """The kill switch: from this call on there is no playlist, and every segment (listed or not
        yet) is deleted at once, so nothing the clerk cut reaches the public."""
        with self._lock:
            self._killed = True
            run = self._run
            if run is not None:
                run.stop.set()
                run.segments.clear()
        log.warning("public stream killed: %s", reason)
        # Files first, before waiting for the encoder: a request arriving meanwhile finds nothing.
        self._sweep()
        if run is not None:
            self._end_run(run)
        # The encoder may have opened one more file while it was stopping.
        self._sweep()

    def _end_run(self, run: _Run) -> None:
        run.stop.set()
        thread = run.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)

    def _sweep(self, token: str | None = None) -> None:
        """Delete files of ours in ``out_dir``: the segments of run ``token`` (of any run when None)
        and the playlist."""
        with contextlib.suppress(FileNotFoundError):
            for path in self.out_dir.iterdir():
                m = SEGMENT_RE.fullmatch(path.name)
                ours = m is not None and token in (None, m.group(1))
                if ours or path.name in (PLAYLIST_NAME, PLAYLIST_NAME + ".tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()

    # -- what the public gets ------------------------------------------------------------------------

    def playlist(self) -> str | None:
        """The live playlist of segments complete for at least ``delay_seconds``; None before the
        first one, after a kill, and when not started."""
        with self._lock:
            run = self._run
            if run is None or self._killed:
                return None
            listed = self._listed(run, time.monotonic())
            if not listed:
                return None
            ended = run.finished and len(listed) == len(run.segments)
            lines = [
                "#EXTM3U",
                "#EXT-X-VERSION:3",
                f"#EXT-X-TARGETDURATION:{self.target_duration}",
                f"#EXT-X-MEDIA-SEQUENCE:{listed[0].sequence}",
            ]
            for segment in listed:
                lines += [f"#EXTINF:{segment.duration:.3f},", segment.name]
            if ended:
                lines.append("#EXT-X-ENDLIST")
            return "\n".join(lines) + "\n"

    def segment_path(self, name: str) -> Path | None:
        """The file of segment ``name`` while the playlist lists it; None for anything else."""
        if not SEGMENT_RE.fullmatch(name):
            return None
        with self._lock:
            run = self._run
            if run is None or self._killed:
                return None
            if any(segment.name == name for segment in self._listed(run, time.monotonic())):
                return self.out_dir / name
        return None

    def _listed(self, run: _Run, now: float) -> list[Segment]:
        """The window of released segments; drops (and deletes) those that slid out. Under the lock."""
        released = [s for s in run.segments if now - s.completed_at >= self.delay_seconds]
        for old in released[: max(0, len(released) - self.window_segments)]:
            run.segments.remove(old)
            with contextlib.suppress(FileNotFoundError):
                (self.out_dir / old.name).unlink()
        return released[-self.window_segments :]

    def _write_playlist(self, run: _Run) -> None:
        """Mirror :meth:`playlist` into ``index.m3u8`` (atomically) for serving the folder as files."""
        text = self.playlist()
        if text == run.written_playlist:
            return
        path = self.out_dir / PLAYLIST_NAME
        with self._lock:
            # Checked under the lock that kill takes first, so a killed run never writes again.
            if self._run is not run or self._killed:
                return
            if text is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            else:
                tmp = path.with_name(PLAYLIST_NAME + ".tmp")
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, path)
            run.written_playlist = text

    # -- the encoder thread --------------------------------------------------------------------------

    def _segment_done(self, run: _Run, segment: Segment) -> None:
        with self._lock:
            if self._run is run and not self._killed:
                run.segments.append(segment)
                return
        # Finished after a kill (or a restart): it must not survive.
        with contextlib.suppress(FileNotFoundError):
            (self.out_dir / segment.name).unlink()

    def _picture(self, latest: VideoFrame | None, since_new: float) -> Image:
        if latest is not None and since_new < self.stale_seconds:
            return latest.image
        if self._slate is None:
            try:
                self._slate = render_slate(self.width, self.height, SLATE_TITLE, SLATE_SUBTITLE)
            except Exception:
                # No CJK font: a plain grey picture still keeps the cadence.
                log.warning("could not draw the live-stream slate", exc_info=True)
                self._slate = np.full((self.height, self.width, 3), 60, np.uint8)
        return self._slate

    def _encode(self, run: _Run, video: Source[VideoFrame], audio: Source[AudioChunk] | None) -> None:
        encoder: SegmentEncoder | None = None
        graceful = False
        try:
            encoder = SegmentEncoder(
                self.out_dir,
                run.token,
                width=self.width,
                height=self.height,
                fps=self.fps,
                frames_per_segment=self.frames_per_segment,
                video_bitrate=self.video_bitrate,
                audio=audio is not None,
                on_segment=lambda segment: self._segment_done(run, segment),
                threads=self.encoder_threads,
            )
            jitter = AudioJitter() if audio is not None else None
            t0 = time.monotonic()
            n = 0
            latest: VideoFrame | None = None
            last_new = t0
            while not run.stop.is_set():
                deadline = t0 + n / self.fps
                now = time.monotonic()
                if now < deadline:
                    frame = video.get(timeout=deadline - now)
                    if frame is not None:
                        latest, last_new = frame, time.monotonic()
                    elif time.monotonic() < deadline - 0.002:
                        # get() returned early with nothing: the source is closed. Keep the cadence.
                        run.stop.wait(deadline - time.monotonic())
                    continue
                if now - deadline > MAX_LAG_SECONDS:
                    # Too slow to keep up: give up the lost time rather than skip timestamps.
                    log.warning("live stream encoder %.1f s behind; re-anchoring", now - deadline)
                    t0 = now - n / self.fps
                for _ in range(4):  # whatever arrived while encoding the previous picture
                    frame = video.get(timeout=0)
                    if frame is None:
                        break
                    latest, last_new = frame, now
                encoder.write_video(self._picture(latest, now - last_new), n)
                if audio is not None and jitter is not None:
                    for _ in range(100):
                        chunk = audio.get(timeout=0)
                        if chunk is None:
                            break
                        jitter.push(chunk)
                    first = round(n * AUDIO_RATE / self.fps)
                    encoder.write_audio(jitter.take(round((n + 1) * AUDIO_RATE / self.fps) - first))
                n += 1
                self._write_playlist(run)
            if not self.killed:
                encoder.close()
                graceful = True
        except Exception as exc:
            log.exception("live stream encoder failed")
            run.error = f"直播编码出错：{exc}"
        finally:
            if encoder is not None and not graceful:
                current = encoder.current_path
                encoder.abort()
                if current is not None:
                    with contextlib.suppress(FileNotFoundError):
                        current.unlink()
            for source in (video, audio):
                if source is not None:
                    with contextlib.suppress(Exception):
                        source.close()
            with self._lock:
                run.finished = True
            run.encoded.set()
        # Keep the playlist file current while the last segments wait out their delay.
        while True:
            with self._lock:
                if self._run is not run or self._killed:
                    break
                pending = any(time.monotonic() - s.completed_at < self.delay_seconds for s in run.segments)
            self._write_playlist(run)
            if not pending:
                break
            time.sleep(min(0.25, self.delay_seconds))
        with self._lock:
            killed = self._run is run and self._killed
        if killed:
            # kill() gave up waiting for this thread (or it wrote after the sweep): clean up its files.
            self._sweep(run.token)
