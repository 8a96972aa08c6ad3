"""The append-only, hash-chained manifest ``manifest.jsonl`` of a recording folder.

One JSON object per line. Every entry carries ``seq`` (0, 1, 2, … over the whole manifest), ``prev`` (the
previous entry's ``chain``; 64 zeros for the first) and ``chain`` = SHA-256 of ``prev`` followed by the
canonical JSON (sorted keys, no spaces, UTF-8) of the entry's other fields. Changing, removing,
inserting or reordering any line therefore breaks the chain from that line on, and each segment's own
SHA-256 ties the media file to its line.

Every line is written with one ``write`` and fsync'd before the append returns. A crash can still leave
a torn last line (no trailing newline); readers report it and only :func:`devices.recording.recovery.recover`
removes it, recording that it did.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from devices.recording.files import MANIFEST_NAME, fsync_dir

log = logging.getLogger(__name__)

GENESIS = "0" * 64


class Media(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"


class SegmentStatus(StrEnum):
    OK = "ok"
    DEFECTIVE = "defective"


class EventAction(StrEnum):
    START = "start"
    STOP = "stop"
    INTERRUPT = "interrupt"
    RESUME = "resume"
    RECOVERED = "recovered"
    BACKUP_FAILED = "backup_failed"
    """Copying to the backup location failed or the copy read back wrong; copying is retried."""
    BACKUP_OK = "backup_ok"
    """The backup caught up after a failure."""


ALL_SOURCES = "*"


@dataclass(frozen=True, slots=True)
class SegmentEntry:
    seq: int
    prev: str
    chain: str
    source: str
    index: int
    """1, 2, 3 … per source, continuing across restarts."""
    file: str
    """Path relative to the recording folder, '/'-separated."""
    media: Media
    start: float
    """Hearing-clock seconds of the first frame or sample."""
    end: float
    """Hearing-clock seconds just after the last frame or sample."""
    count: int
    """Video frames or audio samples in the file."""
    bytes: int
    sha256: str
    status: SegmentStatus
    reason: str = ""
    """Why the segment is defective, or a note on an ok one (frames dropped, gaps)."""

    kind: ClassVar[str] = "segment"


@dataclass(frozen=True, slots=True)
class EventEntry:
    seq: int
    prev: str
    chain: str
    source: str
    """A source id, or ``*`` for the whole recording."""
    action: EventAction
    reason: str
    t: float
    """Hearing-clock seconds the event applies to."""

    kind: ClassVar[str] = "event"


ManifestEntry = SegmentEntry | EventEntry


class ManifestError(Exception):
    """The manifest cannot be read or appended to as it is."""


class ManifestNeedsRecovery(ManifestError):
    """The manifest ends in a torn line or segment files are missing from it: run recovery first."""


def _body(entry: ManifestEntry) -> dict[str, Any]:
    """The fields the chain covers, i.e. all but ``prev`` and ``chain``, with the entry kind."""
    out: dict[str, Any] = {"kind": entry.kind}
    for name in entry.__dataclass_fields__:
        if name not in ("prev", "chain"):
            value = getattr(entry, name)
            out[name] = str(value) if isinstance(value, StrEnum) else value
    return out


def canonical_json(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def compute_chain(prev: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev + canonical_json(fields)).encode("utf-8")).hexdigest()


def expected_chain(entry: ManifestEntry) -> str:
    """The chain value the entry's content and ``prev`` call for (compare with ``entry.chain``)."""
    return compute_chain(entry.prev, _body(entry))


def entry_line(entry: ManifestEntry) -> str:
    """The manifest line for an entry, newline included; ``kind`` and ``seq`` first for human readers."""
    fields = _body(entry)
    fields["prev"] = entry.prev
    fields["chain"] = entry.chain
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"


def _get(obj: dict[str, Any], name: str, typ: type | tuple[type, ...]) -> Any:
    if name not in obj:
        raise ManifestError(f"field {name!r} missing")
    value = obj[name]
    # bool is an int subclass; a forged ``true`` must not pass as a number.
    if isinstance(value, bool) or not isinstance(value, typ):
        raise ManifestError(f"field {name!r} has the wrong type")
    return value


def _number(obj: dict[str, Any], name: str) -> float:
    value = float(_get(obj, name, (int, float)))
    if not math.isfinite(value):
        raise ManifestError(f"field {name!r} is not a finite number")
    return value


def parse_entry(obj: Any) -> ManifestEntry:
    """Build an entry from one decoded line, checking every field's presence and type."""
    if not isinstance(obj, dict):
        raise ManifestError("not a JSON object")
    kind = obj.get("kind")
    expected: set[str]
    entry: ManifestEntry
    try:
        if kind == SegmentEntry.kind:
            entry = SegmentEntry(
                seq=_get(obj, "seq", int),
                prev=_get(obj, "prev", str),
                chain=_get(obj, "chain", str),
                source=_get(obj, "source", str),
                index=_get(obj, "index", int),
                file=_get(obj, "file", str),
                media=Media(_get(obj, "media", str)),
                start=_number(obj, "start"),
                end=_number(obj, "end"),
                count=_get(obj, "count", int),
                bytes=_get(obj, "bytes", int),
                sha256=_get(obj, "sha256", str),
                status=SegmentStatus(_get(obj, "status", str)),
                reason=_get(obj, "reason", str),
            )
            expected = set(SegmentEntry.__dataclass_fields__) | {"kind"}
        elif kind == EventEntry.kind:
            entry = EventEntry(
                seq=_get(obj, "seq", int),
                prev=_get(obj, "prev", str),
                chain=_get(obj, "chain", str),
                source=_get(obj, "source", str),
                action=EventAction(_get(obj, "action", str)),
                reason=_get(obj, "reason", str),
                t=_number(obj, "t"),
            )
            expected = set(EventEntry.__dataclass_fields__) | {"kind"}
        else:
            raise ManifestError(f"unknown entry kind {kind!r}")
    except ValueError as e:  # an enum given a value it does not know
        raise ManifestError(str(e)) from e
    extra = set(obj) - expected
    if extra:
        # Unknown fields would sit outside what the typed entry re-hashes: refuse rather than ignore.
        raise ManifestError(f"unexpected fields {sorted(extra)}")
    return entry


def describe(entry: ManifestEntry) -> str:
    """A short name for messages: the segment file, or the event."""
    if isinstance(entry, SegmentEntry):
        return entry.file
    return f"event {entry.action} ({entry.source})"


@dataclass(slots=True)
class ManifestContents:
    entries: list[ManifestEntry] = field(default_factory=list)
    entry_lines: list[int] = field(default_factory=list)
    """1-based line number of each entry, in step with ``entries``."""
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    """(1-based line number, what is wrong) for complete lines that do not parse."""
    torn: bytes | None = None
    """The bytes after the last newline, when the file does not end with one (an interrupted write)."""
    good_length: int = 0
    """Byte length up to and including the last newline."""

    @property
    def clean(self) -> bool:
        return not self.bad_lines and self.torn is None


def read_manifest(path: Path) -> ManifestContents:
    """Read a manifest without judging the chain (see :mod:`devices.recording.verify` for that).

    A missing file reads as empty.
    """
    out = ManifestContents()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return out
    cut = data.rfind(b"\n") + 1
    out.good_length = cut
    if cut < len(data):
        out.torn = data[cut:]
    # Split on LF only: JSON escapes every control character, so a raw CR is damage, not a line end.
    for lineno, raw in enumerate(data[:cut].split(b"\n")[:-1], start=1):
        try:
            out.entries.append(parse_entry(json.loads(raw.decode("utf-8"))))
            out.entry_lines.append(lineno)
        except (UnicodeDecodeError, json.JSONDecodeError, ManifestError) as e:
            out.bad_lines.append((lineno, str(e)))
    return out


class Manifest:
    """Appends chained entries to ``root/manifest.jsonl``; safe to call from several threads.

    Opening an existing manifest continues its ``seq`` and chain. A manifest with a torn or unreadable
    line is refused with :class:`ManifestNeedsRecovery`: appending after it would bury the damage.
    ``on_append`` is called with every new entry while the manifest lock is held, so callers see entries
    in manifest order; it must be quick and must not append itself.
    """

    def __init__(self, root: Path, on_append: Callable[[ManifestEntry], None] | None = None) -> None:
        self.path = root / MANIFEST_NAME
        contents = read_manifest(self.path)
        if contents.torn is not None:
            raise ManifestNeedsRecovery(
                f"{self.path}: last line is torn ({len(contents.torn)} bytes without a newline); run recovery"
            )
        if contents.bad_lines:
            lineno, why = contents.bad_lines[0]
            raise ManifestNeedsRecovery(f"{self.path} line {lineno}: {why}")
        self._entries = contents.entries
        self._on_append = on_append
        self._lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if created:
            fsync_dir(root)

    @property
    def entries(self) -> list[ManifestEntry]:
        with self._lock:
            return list(self._entries)

    @property
    def last(self) -> ManifestEntry | None:
        with self._lock:
            return self._entries[-1] if self._entries else None

    def _append(self, build: Callable[[int, str], ManifestEntry]) -> ManifestEntry:
        with self._lock:
            if self._fd < 0:
                raise ManifestError(f"{self.path}: manifest is closed")
            last = self._entries[-1] if self._entries else None
            seq = last.seq + 1 if last else 0
            prev = last.chain if last else GENESIS
            entry = build(seq, prev)
            data = entry_line(entry).encode("utf-8")
            # One write of the whole line: a crash tears at most this line, never an earlier one.
            written = os.write(self._fd, data)
            if written != len(data):
                raise ManifestError(f"{self.path}: short write ({written} of {len(data)} bytes)")
            os.fsync(self._fd)
            self._entries.append(entry)
            if self._on_append is not None:
                try:
                    self._on_append(entry)
                except Exception:
                    # A listener's bug must not stop the recording; the entry is on disk already.
                    log.exception("manifest listener failed on entry %d", entry.seq)
            return entry

    def append_segment(
        self,
        *,
        source: str,
        index: int,
        file: str,
        media: Media,
        start: float,
        end: float,
        count: int,
        size: int,
        sha256: str,
        status: SegmentStatus,
        reason: str = "",
    ) -> SegmentEntry:
        def build(seq: int, prev: str) -> SegmentEntry:
            draft = SegmentEntry(
                seq,
                prev,
                "",
                source,
                index,
                file,
                media,
                _t(start),
                _t(end),
                count,
                size,
                sha256,
                status,
                reason,
            )
            return _with_chain(draft)

        entry = self._append(build)
        assert isinstance(entry, SegmentEntry)
        return entry

    def append_event(self, *, source: str, action: EventAction, reason: str, t: float) -> EventEntry:
        def build(seq: int, prev: str) -> EventEntry:
            return _with_chain(EventEntry(seq, prev, "", source, action, reason, _t(t)))

        entry = self._append(build)
        assert isinstance(entry, EventEntry)
        return entry

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _t(value: float) -> float:
    """Microsecond resolution keeps lines short and makes the JSON text of a time predictable."""
    if not math.isfinite(value):
        raise ValueError(f"time must be finite, got {value}")
    return round(float(value), 6)


_E = TypeVar("_E", SegmentEntry, EventEntry)


def _with_chain(draft: _E) -> _E:
    return dataclasses.replace(draft, chain=expected_chain(draft))
