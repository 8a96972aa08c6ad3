"""Checking a recording against the hearing timeline.

The recording folder proves itself with its hash chain, except against someone who rewrites the
whole manifest and recomputes every hash. The timeline keeps each segment's hash and chain value
as it was closed, in the store, so comparing the two catches that too.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.db.models import RecordingSegment
from devices.recording import SegmentEntry
from devices.recording.files import MANIFEST_NAME
from devices.recording.manifest import read_manifest


def compare_with_timeline(
    root: Path, sessions: sessionmaker[Session], hearing_id: int
) -> tuple[list[str], list[str]]:
    """Return (problems, notes). A problem names the segment whose manifest entry differs from the
    timeline or is missing from the manifest; a note names a manifest entry the timeline has not
    got (what a crash between the two writes leaves), which is not by itself a sign of tampering."""
    listed = {
        entry.seq: entry
        for entry in read_manifest(root / MANIFEST_NAME).entries
        if isinstance(entry, SegmentEntry)
    }
    with sessions() as session:
        rows = session.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.hearing_id == hearing_id)
            .order_by(RecordingSegment.manifest_seq)
        ).all()
    problems: list[str] = []
    recorded: set[int] = set()
    for row in rows:
        recorded.add(row.manifest_seq)
        entry = listed.get(row.manifest_seq)
        if entry is None:
            problems.append(f"{row.file}: in the hearing timeline but missing from the manifest")
            continue
        differs = [
            name
            for name, ours, theirs in (
                ("file", entry.file, row.file),
                ("sha256", entry.sha256, row.sha256),
                ("chain", entry.chain, row.chain),
            )
            if ours != theirs
        ]
        if differs:
            problems.append(f"{row.file}: manifest {', '.join(differs)} differs from the hearing timeline")
    notes = [
        f"{entry.file}: in the manifest but not in the hearing timeline"
        for seq, entry in sorted(listed.items())
        if seq not in recorded
    ]
    return problems, notes
