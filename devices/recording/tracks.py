"""How pictures and sound are cut into segments: the media-specific half of a source's worker
(:class:`~devices.recording.worker.SourceWorker` has the queue, the thread and the segment life cycle).

A segment holds hearing-clock window ``[k·S, (k+1)·S)``. Video also starts a new segment when the
picture size changes; audio when the sample rate changes or the microphone's timestamps stop matching
its sample count by more than ``audio_tolerance`` (the next segment then starts at the microphone's own
time again).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from devices.media import AudioChunk, Image, VideoFrame
from devices.recording.encoders import AudioSegmentFile, VideoSegmentFile, t0_comment
from devices.recording.files import AUDIO_EXT, VIDEO_EXT
from devices.recording.manifest import Media
from devices.recording.overlay import draw_timestamp
from devices.recording.worker import SourceWorker

if TYPE_CHECKING:
    from devices.recording.writer import SegmentedRecorder


def _even(image: Image) -> Image:
    """yuv420p needs even sizes; replicate the last row/column instead of dropping picture."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    padded = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    return np.asarray(padded, dtype=np.uint8)


class VideoWorker(SourceWorker[VideoSegmentFile]):
    media = Media.VIDEO
    ext = VIDEO_EXT

    def __init__(
        self, recorder: SegmentedRecorder, source_id: str, width: int, height: int, fps: float
    ) -> None:
        super().__init__(recorder, source_id)
        self.width = width
        self.height = height
        self.fps = fps
        self._seg_window = 0
        self._seg_size = (0, 0)

    def handle(self, item: VideoFrame | AudioChunk) -> None:
        assert isinstance(item, VideoFrame)
        frame = item
        # Copy before drawing: the caller's picture may also go to the director or the livestream.
        image = _even(frame.image.copy())
        size = (image.shape[1], image.shape[0])
        if self._seg is not None and (self._window(frame.t) != self._seg_window or size != self._seg_size):
            resized = size != self._seg_size
            self.close_segment()
            if resized:
                self._note(f"picture size changed to {size[0]}x{size[1]}")
        if self._seg is None and not self._open(frame.t, size):
            return
        assert self._seg is not None
        draw_timestamp(image, self.recorder.timestamp_text(frame.t))
        try:
            self._seg.write(image, frame.t)
        except Exception as e:
            self._encoder_failed(e, frame.t)

    def _open(self, t: float, size: tuple[int, int]) -> bool:
        recorder = self.recorder

        def create(index: int, path: Path) -> VideoSegmentFile:
            return VideoSegmentFile(
                path,
                width=size[0],
                height=size[1],
                fps=self.fps,
                t0=t,
                comment=t0_comment(t, self.source_id, index),
                codec=recorder.video_codec,
                options=recorder.video_options,
                keyframe_seconds=recorder.keyframe_seconds,
                threads=recorder.video_threads,
            )

        description = f"video {size[0]}x{size[1]} @ {self.fps:g} fps, {recorder.video_codec}"
        if self._open_segment(t, description, create) is None:
            return False
        self._seg_window = self._window(t)
        self._seg_size = size
        self._after_open(t)
        return True

    def _extent(self, seg: VideoSegmentFile) -> tuple[float, int]:
        return (seg.last_t + 1.0 / self.fps if seg.frames else seg.t0), seg.frames

    def _closing(self, seg: VideoSegmentFile) -> None:
        if seg.dropped:
            self._note(f"{seg.dropped} frame(s) with non-increasing timestamps dropped")


class AudioWorker(SourceWorker[AudioSegmentFile]):
    media = Media.AUDIO
    ext = AUDIO_EXT

    def __init__(self, recorder: SegmentedRecorder, source_id: str, sample_rate: int) -> None:
        super().__init__(recorder, source_id)
        self.sample_rate = sample_rate
        self._seg_limit = 0
        """Samples the open segment may hold before its window ends."""
        self._last_chunk_t = -math.inf

    def handle(self, item: VideoFrame | AudioChunk) -> None:
        assert isinstance(item, AudioChunk)
        chunk = item
        if chunk.t <= self._last_chunk_t:
            self._note(f"chunk at t={chunk.t:.3f} with non-increasing timestamp dropped")
            return
        self._last_chunk_t = chunk.t
        samples = chunk.samples
        sr = chunk.sample_rate
        t = chunk.t
        seg = self._seg
        if seg is not None:
            drift = t - seg.end
            if sr != seg.sample_rate:
                self.close_segment()
                self._note(f"sample rate changed to {sr}")
            elif abs(drift) > self.recorder.audio_tolerance:
                # Restart the segment at the microphone's own time rather than shift its samples.
                self.close_segment()
                self._note(f"starts {abs(drift):.3f} s {'after' if drift > 0 else 'before'} the previous end")
        while len(samples):
            if self._seg is not None and self._seg.samples >= self._seg_limit:
                self.close_segment()
            if self._seg is None and not self._open(t, sr):
                return
            assert self._seg is not None
            room = self._seg_limit - self._seg.samples
            piece, samples = samples[:room], samples[room:]
            try:
                self._seg.write(piece)
            except Exception as e:
                self._encoder_failed(e, t)
                return
            t = self._seg.end

    def _open(self, t: float, sr: int) -> bool:
        def create(index: int, path: Path) -> AudioSegmentFile:
            return AudioSegmentFile(path, sample_rate=sr, t0=t, comment=t0_comment(t, self.source_id, index))

        if self._open_segment(t, f"audio {sr} Hz mono, FLAC 24-bit", create) is None:
            return False
        boundary = (self._window(t, 0.5 / sr) + 1) * self.recorder.segment_seconds
        # Counting the window in whole samples from the segment start makes cuts exact and unaffected
        # by float rounding of running times.
        self._seg_limit = max(1, math.ceil((boundary - t) * sr - 1e-6))
        self._after_open(t)
        return True

    def _extent(self, seg: AudioSegmentFile) -> tuple[float, int]:
        return seg.end, seg.samples
