"""Putting a recording folder back in order after the recorder was killed (power cut, kill -9).

What a crash leaves: the segments that were open (on disk, never listed) and possibly a torn last
manifest line. Recovery keeps both facts in the record: open segments are hashed and listed as
``defective`` with what could still be decoded from them, a torn line is cut off and quoted in the
``recovered`` event. It changes nothing else; anything that does not look like a crash (an unreadable
line in the middle, say) is refused, because repairing it would destroy evidence of tampering.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import av

from devices.recording.encoders import parse_t0
from devices.recording.files import (
    MANIFEST_NAME,
    files_on_disk,
    fsync_file,
    parse_segment_relpath,
    sha256_file,
)
from devices.recording.manifest import (
    ALL_SOURCES,
    EventAction,
    Manifest,
    ManifestEntry,
    ManifestError,
    Media,
    SegmentEntry,
    SegmentStatus,
    read_manifest,
)


@dataclass(frozen=True, slots=True)
class Probe:
    """What could be decoded from a segment file."""

    count: int
    """Video frames or audio samples decoded."""
    start: float | None
    """Hearing-clock time of the first one (from the file's ``hearing_t0`` comment)."""
    end: float | None
    error: str = ""


def probe_segment(path: Path, media: Media) -> Probe:
    """Decode as much of ``path`` as possible; a truncated tail is expected after a crash."""
    try:
        container = av.open(str(path))
    except Exception as e:
        return Probe(0, None, None, f"cannot open: {e}")
    with container:
        t0 = parse_t0(container.metadata.get("comment"))
        count = 0
        last = 0.0
        error = ""
        try:
            if media is Media.VIDEO:
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                step = 1.0 / float(rate) if rate else 0.0
                for frame in container.decode(stream):
                    count += 1
                    last = (frame.time or 0.0) + step
            else:
                astream = container.streams.audio[0]
                for aframe in container.decode(astream):
                    count += aframe.samples
                last = count / astream.sample_rate if astream.sample_rate else 0.0
        except Exception as e:
            error = f"decoding stopped: {e}"
    if t0 is None:
        return Probe(count, None, None, error or "no hearing_t0 in the file")
    return Probe(count, t0, t0 + last, error)


def recover(root: Path, reason: str, *, t: float | None = None) -> list[ManifestEntry]:
    """Make ``root`` consistent after a crash; returns the entries appended (last: ``recovered``).

    A new :class:`~devices.recording.writer.SegmentedRecorder` on ``root`` then continues the numbering
    and the chain; if it has a backup, it also copies whatever the crash kept from the backup.
    """
    manifest_path = root / MANIFEST_NAME
    contents = read_manifest(manifest_path)
    if contents.bad_lines:
        lineno, why = contents.bad_lines[0]
        raise ManifestError(
            f"{manifest_path} line {lineno} is unreadable ({why}): not what a crash leaves; "
            "keep the folder as it is and run the verifier"
        )
    notes: list[str] = []
    if contents.torn is not None:
        quoted = contents.torn[:200].decode("utf-8", errors="replace")
        more = "…" if len(contents.torn) > 200 else ""
        notes.append(f"removed torn last manifest line ({len(contents.torn)} bytes): {quoted!r}{more}")
        with manifest_path.open("r+b") as f:
            f.truncate(contents.good_length)
            f.flush()
            os.fsync(f.fileno())

    appended: list[ManifestEntry] = []
    manifest = Manifest(root, on_append=appended.append)
    try:
        entries = manifest.entries
        listed = {e.file for e in entries if isinstance(e, SegmentEntry)}
        last_end: dict[str, float] = {}
        latest = 0.0
        for e in entries:
            end = e.end if isinstance(e, SegmentEntry) else e.t
            latest = max(latest, end)
            if isinstance(e, SegmentEntry):
                last_end[e.source] = max(last_end.get(e.source, 0.0), e.end)

        open_segments = []
        for rel in files_on_disk(root):
            name = parse_segment_relpath(rel)
            if name is not None and rel not in listed:
                open_segments.append((name.source, name.index, rel, name.ext))
        for source, index, rel, ext in sorted(open_segments):
            path = root / rel
            media = Media.VIDEO if ext == "mp4" else Media.AUDIO
            with contextlib.suppress(OSError):
                fsync_file(path)
            digest, size = sha256_file(path)
            probe = probe_segment(path, media)
            unit = "frame(s)" if media is Media.VIDEO else "sample(s)"
            why = f"{reason}: segment was open at the crash; {probe.count} {unit} decodable"
            if probe.error:
                why += f" ({probe.error})"
            start = probe.start if probe.start is not None else last_end.get(source, latest)
            end = probe.end if probe.end is not None else start
            manifest.append_segment(
                source=source,
                index=index,
                file=rel,
                media=media,
                start=start,
                end=max(start, end),
                count=probe.count,
                size=size,
                sha256=digest,
                status=SegmentStatus.DEFECTIVE,
                reason=why,
            )
            latest = max(latest, end)
        notes.insert(0, f"{len(open_segments)} open segment(s) listed as defective")
        manifest.append_event(
            source=ALL_SOURCES,
            action=EventAction.RECOVERED,
            reason=f"{reason}: " + "; ".join(notes),
            t=latest if t is None else t,
        )
    finally:
        manifest.close()
    return appended
