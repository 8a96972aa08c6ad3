"""Checks that a recording folder is exactly what the recorder wrote, naming what is not.

Detects: an edited, removed, inserted or reordered manifest line (``seq`` and the hash chain); an
altered, truncated, removed, swapped or added segment file (SHA-256, size, per-source numbering and
start times, files not listed); optionally, a backup that differs from the recording.

Limit: someone able to rewrite the whole manifest and recompute every hash can forge a consistent
folder; comparing the last ``chain`` value with one kept elsewhere (the hearing timeline, the backup)
catches that.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devices.recording.files import (
    MANIFEST_NAME,
    files_on_disk,
    parse_segment_relpath,
    safe_join,
    sha256_file,
)
from devices.recording.manifest import (
    GENESIS,
    EventAction,
    EventEntry,
    Media,
    SegmentEntry,
    SegmentStatus,
    describe,
    expected_chain,
    read_manifest,
)


@dataclass(slots=True)
class VerifyReport:
    ok: bool
    problems: list[str]
    """One line per problem, each naming the segment file (or manifest line) and what is wrong."""
    segments_checked: int
    defective: list[str] = field(default_factory=list)
    """Segments the recorder itself flagged (kept as evidence; not a verification failure)."""
    events: int = 0
    last_chain: str = ""
    """The manifest's last ``chain``: compare it with the copy kept in the hearing timeline to detect a
    manifest rewritten from scratch."""


@dataclass(frozen=True, slots=True)
class _Listed:
    entry: SegmentEntry
    line: int


def verify_recording(root: Path, backup: Path | None = None) -> VerifyReport:
    problems: list[str] = []
    defective: list[str] = []
    manifest_path = root / MANIFEST_NAME
    if not root.is_dir():
        return VerifyReport(False, [f"{root}: not a folder"], 0)
    if not manifest_path.is_file():
        problems.append(f"{MANIFEST_NAME}: missing")
    contents = read_manifest(manifest_path)
    for lineno, why in contents.bad_lines:
        problems.append(f"{MANIFEST_NAME} line {lineno}: unreadable ({why}); the line was edited or damaged")
    if contents.torn is not None:
        problems.append(
            f"{MANIFEST_NAME}: last line is incomplete ({len(contents.torn)} bytes, a write cut off by a "
            "crash); run recovery"
        )

    # The chain: each line must carry the next seq, link to the line before it, and hash to its chain.
    prev_chain = GENESIS
    prev_seq = -1
    events = 0
    started: dict[str, int] = {}
    for entry, line in zip(contents.entries, contents.entry_lines, strict=True):
        where = f"{MANIFEST_NAME} line {line} ({describe(entry)})"
        if entry.seq != prev_seq + 1:
            problems.append(
                f"{where}: seq {entry.seq} where {prev_seq + 1} was expected; "
                "an entry was removed, inserted or reordered"
            )
        if entry.prev != prev_chain:
            problems.append(
                f"{where}: does not link to the entry before it; an entry was removed, inserted or reordered"
            )
        if expected_chain(entry) != entry.chain:
            problems.append(f"{where}: content does not match its chain hash; the line was edited")
        prev_chain = entry.chain
        prev_seq = entry.seq
        if isinstance(entry, EventEntry):
            events += 1
            if entry.action is EventAction.START:
                started[entry.source] = line
            elif entry.action is EventAction.STOP:
                started.pop(entry.source, None)
            elif entry.action is EventAction.RECOVERED:
                started.clear()
    # Cutting lines off the end leaves the chain intact, but a closed recording ends every source
    # with a stop (or a crash with the recovered event).
    for source, line in sorted(started.items()):
        problems.append(
            f"{MANIFEST_NAME}: source {source} started (line {line}) but never stopped; the recording "
            "is still running or was not closed, or the end of the manifest was removed"
        )

    listed: dict[str, _Listed] = {}
    by_hash: dict[str, _Listed] = {}
    segments = [
        _Listed(e, line)
        for e, line in zip(contents.entries, contents.entry_lines, strict=True)
        if isinstance(e, SegmentEntry)
    ]
    for item in segments:
        by_hash.setdefault(item.entry.sha256, item)

    last_of_source: dict[str, SegmentEntry] = {}
    for item in segments:
        e = item.entry
        if e.file in listed:
            problems.append(f"{e.file}: listed twice (manifest lines {listed[e.file].line} and {item.line})")
            continue
        listed[e.file] = item
        if e.status is SegmentStatus.DEFECTIVE:
            defective.append(f"{e.file}: {e.reason}")
        problems.extend(_check_name(item))
        prev = last_of_source.get(e.source)
        expected_index = prev.index + 1 if prev else 1
        if e.index != expected_index:
            problems.append(
                f"{e.file}: index {e.index} of source {e.source} where {expected_index} was expected; "
                "segment(s) missing from the manifest or reordered"
            )
        if prev is not None and e.start < prev.start:
            problems.append(
                f"{e.file}: starts at t={e.start:.3f}, before {prev.file} (t={prev.start:.3f}); "
                "segments reordered"
            )
        last_of_source[e.source] = e
        problems.extend(_check_file(root, item, by_hash))

    for rel in files_on_disk(root):
        if rel not in listed:
            problems.append(
                f"{rel}: on disk but not in the manifest; added, or left by a crash (run recovery)"
            )

    if backup is not None:
        problems.extend(_check_backup(root, backup, segments))

    return VerifyReport(not problems, problems, len(segments), defective, events, prev_chain)


def _check_name(item: _Listed) -> list[str]:
    e = item.entry
    name = parse_segment_relpath(e.file)
    ext = "mp4" if e.media is Media.VIDEO else "flac"
    if name is None or name.source != e.source or name.index != e.index or name.ext != ext:
        return [
            f"{e.file}: file name does not match source {e.source}, index {e.index} "
            f"(manifest line {item.line})"
        ]
    return []


def _check_file(root: Path, item: _Listed, by_hash: dict[str, _Listed]) -> list[str]:
    e = item.entry
    path = safe_join(root, e.file)
    if path is None:
        return [f"{e.file}: not a path inside the recording folder (manifest line {item.line})"]
    try:
        digest, size = sha256_file(path)
    except FileNotFoundError:
        return [f"{e.file}: listed in the manifest (line {item.line}) but missing; the segment was removed"]
    except OSError as err:
        return [f"{e.file}: cannot be read ({err.strerror or err})"]
    if digest == e.sha256 and size == e.bytes:
        return []
    other = by_hash.get(digest)
    if other is not None and other.entry.file != e.file:
        return [
            f"{e.file}: holds the content listed for {other.entry.file} (manifest line {other.line}); "
            "segment files swapped or reordered"
        ]
    if size != e.bytes:
        return [f"{e.file}: {size} bytes where the manifest says {e.bytes}; altered or truncated"]
    return [f"{e.file}: SHA-256 differs from the manifest; the segment was altered"]


def _check_backup(root: Path, backup: Path, segments: list[_Listed]) -> list[str]:
    problems: list[str] = []
    if not backup.is_dir():
        return [f"backup {backup}: not a folder"]
    try:
        mine = (root / MANIFEST_NAME).read_bytes()
    except OSError:
        mine = b""
    try:
        theirs = (backup / MANIFEST_NAME).read_bytes()
    except OSError:
        theirs = None
    if theirs is None:
        problems.append(f"backup: {MANIFEST_NAME} missing")
    elif theirs != mine:
        if mine.startswith(theirs):
            have, want = theirs.count(b"\n"), mine.count(b"\n")
            problems.append(f"backup: {MANIFEST_NAME} has {have} of {want} lines; backup incomplete")
        else:
            mine_lines, their_lines = mine.split(b"\n"), theirs.split(b"\n")
            first = next(
                (i for i, (a, b) in enumerate(zip(mine_lines, their_lines, strict=False)) if a != b),
                min(len(mine_lines), len(their_lines)),
            )
            problems.append(f"backup: {MANIFEST_NAME} differs from the recording's from line {first + 1}")
    listed = set()
    for item in segments:
        e = item.entry
        listed.add(e.file)
        path = safe_join(backup, e.file)
        if path is None:
            continue
        try:
            digest, size = sha256_file(path)
        except FileNotFoundError:
            problems.append(f"backup: {e.file} missing")
            continue
        except OSError as err:
            problems.append(f"backup: {e.file} cannot be read ({err.strerror or err})")
            continue
        if digest != e.sha256 or size != e.bytes:
            problems.append(f"backup: {e.file} differs from the manifest's SHA-256")
    for rel in files_on_disk(backup):
        if rel not in listed:
            problems.append(f"backup: {rel} is not in the manifest")
    return problems


def format_report(root: Path, report: VerifyReport) -> str:
    lines = []
    if report.ok:
        lines.append(
            f"Recording {root}: OK. {report.segments_checked} segment(s) and {report.events} event(s) "
            "checked; nothing altered, removed, reordered or added."
        )
    else:
        lines.append(
            f"Recording {root}: FAILED. {len(report.problems)} problem(s) found in "
            f"{report.segments_checked} segment(s) checked:"
        )
        lines.extend(f"  - {p}" for p in report.problems)
    lines.append(f"Manifest ends with chain {report.last_chain or '(empty)'}.")
    if report.defective:
        lines.append(
            f"{len(report.defective)} segment(s) flagged defective by the recorder (kept as recorded):"
        )
        lines.extend(f"  * {d}" for d in report.defective)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``court verify DIR [--backup DIR]``: print the report; 0 when intact, 1 when not, 2 on bad usage."""
    parser = argparse.ArgumentParser(
        prog="court verify", description="Check a hearing recording folder against its hash-chained manifest."
    )
    parser.add_argument("folder", type=Path, help="the recording folder (holds manifest.jsonl)")
    parser.add_argument("--backup", type=Path, default=None, help="also compare this backup copy")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"{args.folder}: no such folder", file=sys.stderr)
        return 2
    report = verify_recording(args.folder, args.backup)
    print(format_report(args.folder, report))
    return 0 if report.ok else 1
