"""Durable file helpers and the recording folder's naming rules, shared by writer, recovery and verifier.

A recording folder looks like::

    ROOT/manifest.jsonl
    ROOT/<source_id>/<source_id>-000001.mp4     (video segments)
    ROOT/<source_id>/<source_id>-000001.flac    (audio segments)
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "manifest.jsonl"
VIDEO_EXT = "mp4"
AUDIO_EXT = "flac"

_SOURCE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SEGMENT_RE = re.compile(
    r"(?P<source>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})-(?P<index>[0-9]{6,})\.(?P<ext>mp4|flac)"
)

PARTIAL_SUFFIX = ".partial"
"""Temporary copies are ``.<name>.partial`` until renamed into place."""

_CHUNK = 1 << 20


def check_source_id(source_id: str) -> str:
    """Source ids become folder and file names, so only a safe, portable alphabet is accepted."""
    if not _SOURCE_RE.fullmatch(source_id) or source_id.endswith("."):
        raise ValueError(
            f"source id {source_id!r} must be 1-64 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return source_id


def segment_relpath(source_id: str, index: int, ext: str) -> str:
    """The manifest's ``file`` field: always '/'-separated so a manifest reads the same on any OS."""
    return f"{source_id}/{source_id}-{index:06d}.{ext}"


@dataclass(frozen=True, slots=True)
class SegmentName:
    source: str
    index: int
    ext: str


def parse_segment_relpath(relpath: str) -> SegmentName | None:
    """Parse ``source/source-000001.ext``; None for anything that is not a segment file name."""
    parts = relpath.split("/")
    if len(parts) != 2:
        return None
    m = _SEGMENT_RE.fullmatch(parts[1])
    if m is None or m["source"] != parts[0]:
        return None
    return SegmentName(m["source"], int(m["index"]), m["ext"])


def files_on_disk(root: Path) -> list[str]:
    """Every regular file under ``root`` except the manifest, as sorted '/'-separated relative paths."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        for name in filenames:
            rel = (base / name).relative_to(root).as_posix()
            if rel != MANIFEST_NAME:
                found.append(rel)
    return sorted(found)


def safe_join(root: Path, relpath: str) -> Path | None:
    """Resolve a manifest path under ``root``; None when it would escape the folder (a forged manifest
    must not make the verifier read or the writer copy files elsewhere)."""
    if not relpath or relpath.startswith("/") or "\\" in relpath:
        return None
    parts = relpath.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return root.joinpath(*parts)


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of the bytes now on disk."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def fsync_file(path: Path) -> None:
    """fsync applies to the inode, so a fresh descriptor flushes what another handle wrote."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a new directory entry durable; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def copy_durable(src: Path, dst: Path) -> None:
    """Copy via a temporary name and rename, so a crash never leaves a half copy under the real name."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}{PARTIAL_SUFFIX}")
    with src.open("rb") as fin, tmp.open("wb") as fout:
        while block := fin.read(_CHUNK):
            fout.write(block)
        fout.flush()
        os.fsync(fout.fileno())
    os.replace(tmp, dst)
    fsync_dir(dst.parent)
