"""Playing back a stretch of the recording: the audio of one source between two hearing-clock
times, cut from the recorded segments (so the clerk hears exactly what a transcript line came from)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import load_hearing
from court.db.models import RecordingSegment
from devices.media import Samples
from devices.recording.files import safe_join
from devices.resample import resample

MAX_SECONDS = 120.0


class PlaybackError(Exception):
    """The stretch cannot be played: no such source, nothing recorded then, or too long."""


def audio_between(
    sessions: sessionmaker[Session],
    hearing_id: int,
    source: str,
    start: float,
    end: float,
    *,
    sample_rate: int = 16000,
    pad: float = 0.3,
) -> Samples:
    """Mono float32 samples of ``source`` from ``start - pad`` to ``end + pad`` (hearing clock); a
    gap in the recording is silence."""
    if end <= start:
        raise PlaybackError("结束时间须晚于开始时间 (end must be after start)")
    if end - start > MAX_SECONDS:
        raise PlaybackError(f"一次至多回放 {MAX_SECONDS:.0f} 秒 (at most {MAX_SECONDS:.0f} s at once)")
    hearing = load_hearing(sessions, hearing_id)
    if not hearing.recording_root:
        raise PlaybackError("本庭审没有录音 (nothing recorded)")
    root = Path(hearing.recording_root)
    lo, hi = max(0.0, start - pad), end + pad
    with sessions() as session:
        segments = list(
            session.scalars(
                select(RecordingSegment)
                .where(
                    RecordingSegment.hearing_id == hearing_id,
                    RecordingSegment.source == source,
                    RecordingSegment.end > lo,
                    RecordingSegment.start < hi,
                )
                .order_by(RecordingSegment.start)
            )
        )
    if not segments:
        raise PlaybackError(f"{source} 在该时段没有录音 (no recording of {source} then)")
    out = np.zeros(round((hi - lo) * sample_rate), dtype=np.float32)
    for segment in segments:
        path = safe_join(root, segment.file)
        if path is None or not path.exists():
            continue
        samples = _decode(path, sample_rate)
        offset = round((segment.start - lo) * sample_rate)
        a, b = max(0, offset), min(len(out), offset + len(samples))
        if b > a:
            out[a:b] = samples[a - offset : b - offset]
    return out


def _decode(path: Path, sample_rate: int) -> Samples:
    parts: list[Samples] = []
    rate = sample_rate
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise PlaybackError(f"{path.name} 不是音频 (not an audio segment)")
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            parts.append(_mono(frame))
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return resample(np.concatenate(parts), rate, sample_rate)


def _mono(frame: av.AudioFrame) -> Samples:
    """One decoded frame as float32 at its own rate, its channels averaged (segments are recorded mono;
    the average only matters for a file put there by other means)."""
    data: npt.NDArray[Any] = frame.to_ndarray()
    rows = data if frame.format.is_planar else data.reshape(-1, frame.layout.nb_channels).T
    if rows.dtype == np.uint8:
        rows = (rows - 128.0) / 128.0
    elif np.issubdtype(rows.dtype, np.signedinteger):
        rows = rows / 2.0 ** (8 * rows.dtype.itemsize - 1)
    return np.asarray(rows.mean(axis=0), dtype=np.float32)
