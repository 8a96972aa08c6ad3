"""The public livestream: the public (masked) program feed as HLS, released with a delay.

:class:`HlsPublisher` encodes the feed once, on its own thread, with PyAV (H.264 via libx264
``veryfast``/``zerolatency``, AAC when there is sound) into numbered MPEG-TS segments in ``out_dir``
and keeps a sliding-window live playlist, ``index.m3u8``. A segment is listed only once it has been
complete for ``delay_seconds``: the clerk's masks and kill switch act within that delay, before the
public sees anything. :meth:`HlsPublisher.kill` stops publishing at once and deletes every segment,
listed or not.

This module ties the parts together and owns the threads, the files and the kill switch: the
segments are written by :mod:`devices.broadcast.hls_segments`, the sound is cut to the picture tick
by :mod:`devices.broadcast.hls_audio`, and the delay, window and playlist are the rule of
:mod:`devices.broadcast.hls_window`. All time is the publisher's ``clock`` (the system clock unless
told otherwise), so the cadence and the delay can be driven by a manual clock.

Cadence. Pictures go out on a clock tick of ``1/fps`` with continuous timestamps: each tick takes
the newest frame the source delivered, repeats the last one when the source is late, and shows a
slate (直播信号中断) once it has been silent for ``stale_seconds``, so a stalled source never stalls
the segment cadence. If the encoder itself falls behind (an overloaded machine), the tick is
re-anchored rather than timestamps skipped, so every segment stays exactly ``segment_seconds`` long
and the playlist's target duration holds. Sound goes through a small jitter buffer and is cut into
exactly one tick's worth of samples per picture, with silence where none arrived. The tick waits in
the video source's ``get(timeout)``, whose timeout is in the clock's seconds.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from devices.broadcast.hls_audio import AudioJitter
from devices.broadcast.hls_segments import AUDIO_RATE, SEGMENT_RE, Segment, SegmentEncoder
from devices.broadcast.hls_window import PLAYLIST_NAME, ReleaseWindow
from devices.broadcast.program import render_slate
from devices.clock import Clock, WallClock
from devices.media import AudioChunk, Image, VideoFrame

log = logging.getLogger(__name__)

MAX_LAG_SECONDS = 1.0
"""When the encoder is this far behind its tick, the tick is re-anchored to now."""
SLATE_TITLE = "直播信号中断"
SLATE_SUBTITLE = "请稍候"

T_co = TypeVar("T_co", covariant=True)


class Source(Protocol[T_co]):
    """What a subscription factory returns, e.g. :class:`devices.broadcast.program.Subscription`."""

    def get(self, timeout: float | None = None) -> T_co | None: ...

    def close(self) -> None: ...


VideoSourceFactory = Callable[[], Source[VideoFrame]]
AudioSourceFactory = Callable[[], Source[AudioChunk]]


@dataclass
class _Run:
    """One start: its own segment names, media sequence and encoder thread."""

    token: str
    window: ReleaseWindow
    """Completed segments still on disk: the listed window and those still within the delay."""
    stop: threading.Event = field(default_factory=threading.Event)
    encoded: threading.Event = field(default_factory=threading.Event)
    """Set when the encoder has finished (stopped, killed or failed)."""
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
        clock: Clock | None = None,
    ) -> None:
        """
        :param video: called at each start for a source of public program frames (``get``/``close``).
        :param audio: likewise for the sound (float32 mono chunks, any rate), or None for no sound.
        :param out_dir: where segments and ``index.m3u8`` go; only files named like ours are touched.
        :param stale_seconds: after this long without a new frame a slate replaces the last frame.
        :param encoder_threads: libx264 threads (sliced, so they add no latency).
        :param clock: paces the picture tick and times the delay; the system clock when omitted.
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
        self._clock: Clock = clock if clock is not None else WallClock()
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
        window = ReleaseWindow(self.out_dir, self.delay_seconds, self.window_segments, self.target_duration)
        run = _Run(secrets.token_hex(4), window)
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
                run.window.clear()
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
            return run.window.playlist(self._clock.now(), run.finished)

    def segment_path(self, name: str) -> Path | None:
        """The file of segment ``name`` while the playlist lists it; None for anything else."""
        if not SEGMENT_RE.fullmatch(name):
            return None
        with self._lock:
            run = self._run
            if run is None or self._killed:
                return None
            if any(segment.name == name for segment in run.window.listed(self._clock.now())):
                return self.out_dir / name
        return None

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
                run.window.add(segment)
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
                clock=self._clock,
                threads=self.encoder_threads,
            )
            jitter = AudioJitter() if audio is not None else None
            t0 = self._clock.now()
            n = 0
            latest: VideoFrame | None = None
            last_new = t0
            while not run.stop.is_set():
                deadline = t0 + n / self.fps
                now = self._clock.now()
                if now < deadline:
                    frame = video.get(timeout=deadline - now)
                    if frame is not None:
                        latest, last_new = frame, self._clock.now()
                    elif self._clock.now() < deadline - 0.002:
                        # get() returned early with nothing: the source is closed. Keep the cadence,
                        # waiting on the stop event so a stop or kill is not held up.
                        run.stop.wait(deadline - self._clock.now())
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
                pending = run.window.pending(self._clock.now())
            self._write_playlist(run)
            if not pending:
                break
            self._clock.sleep_until(self._clock.now() + min(0.25, self.delay_seconds))
        with self._lock:
            killed = self._run is run and self._killed
        if killed:
            # kill() gave up waiting for this thread (or it wrote after the sweep): clean up its files.
            self._sweep(run.token)
