"""Mirrors closed segments and the manifest to the backup location, on its own thread.

A slow or broken backup (a network share, a full disk) must never stall or stop the recording, so
copying happens here, in the background: each closed segment is copied under the same relative path,
read back and hashed; the manifest is mirrored by appending its new lines. A failure is written to the
manifest once as a ``backup_failed`` event and copying is retried; when the backup has caught up a
``backup_ok`` event says so. Segments listed in the manifest but missing from the backup (after a
crash, say) are queued again when the mirror starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from devices.recording.files import (
    MANIFEST_NAME,
    PARTIAL_SUFFIX,
    copy_durable,
    files_on_disk,
    safe_join,
    sha256_file,
)
from devices.recording.manifest import ALL_SOURCES, EventAction, Manifest, SegmentEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    file: str
    sha256: str
    source: str


class BackupMirror:
    def __init__(self, root: Path, backup: Path, manifest: Manifest, retry_seconds: float = 5.0) -> None:
        self.root = root
        self.backup = backup
        self._manifest = manifest
        self._retry = retry_seconds
        self._cond = threading.Condition()
        self._pending: OrderedDict[str, _Job] = OrderedDict()
        self._poked = False
        self._closing = False
        self._deadline = float("inf")
        self._failing: str | None = None
        self._late = 0
        self._synced: int | None = None
        """Bytes of the manifest known to be mirrored; None until the first full copy in this process."""
        self._thread = threading.Thread(target=self._run, name="recording-backup", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, entry: SegmentEntry) -> None:
        with self._cond:
            self._pending[entry.file] = _Job(entry.file, entry.sha256, entry.source)
            self._poked = True
            self._cond.notify()

    def notify(self) -> None:
        """The manifest grew: mirror it soon."""
        with self._cond:
            self._poked = True
            self._cond.notify()

    def close(self, timeout: float) -> list[str]:
        """Finish copying (retrying failures until ``timeout`` seconds have passed); returns the files
        still not in the backup."""
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout + 5.0)
        with self._cond:
            return list(self._pending)

    @property
    def failing(self) -> str | None:
        """What is wrong with the backup right now, or None when it is up to date or catching up."""
        with self._cond:
            return self._failing

    # -- worker thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:
            # The recording goes on without a backup rather than with a crashed thread; the files
            # left out are reported by close() and by the verifier's --backup check.
            log.exception("backup mirror to %s stopped", self.backup)

    def _loop(self) -> None:
        self._reconcile()
        while True:
            with self._cond:
                while not self._poked and not self._closing:
                    self._cond.wait(self._retry if self._failing else None)
                    if self._failing:
                        break
                self._poked = False
                jobs = list(self._pending.values())
                closing = self._closing
            ok = self._copy_all(jobs) and self._mirror_manifest()
            if ok and self._failing is not None:
                self._failing = None
                self._manifest.append_event(
                    source=ALL_SOURCES,
                    action=EventAction.BACKUP_OK,
                    reason=f"backup at {self.backup} caught up; {self._late} file(s) copied late",
                    t=self._last_t(),
                )
                self._late = 0
                ok = self._mirror_manifest()
            if closing:
                with self._cond:
                    done = ok and not self._pending and not self._poked
                    if done or time.monotonic() >= self._deadline:
                        return
                    if not ok:
                        self._cond.wait(max(0.0, min(self._retry, self._deadline - time.monotonic())))

    def _reconcile(self) -> None:
        """Queue every listed segment whose backup copy is missing or has the wrong size, and remove
        temporary copies a crash left behind (they would read as files added to the backup)."""
        for rel in files_on_disk(self.backup) if self.backup.is_dir() else []:
            name = rel.rsplit("/", 1)[-1]
            if name.startswith(".") and name.endswith(PARTIAL_SUFFIX):
                with contextlib.suppress(OSError):
                    (self.backup / rel).unlink()
        for entry in self._manifest.entries:
            if not isinstance(entry, SegmentEntry):
                continue
            dst = safe_join(self.backup, entry.file)
            try:
                present = dst is not None and dst.stat().st_size == entry.bytes
            except OSError:
                present = False
            if not present:
                with self._cond:
                    self._pending.setdefault(entry.file, _Job(entry.file, entry.sha256, entry.source))
        with self._cond:
            self._poked = True

    def _copy_all(self, jobs: list[_Job]) -> bool:
        for job in jobs:
            try:
                self._copy(job)
            except OSError as e:
                self._failed(job.source, f"{job.file}: {e.strerror or e}")
                return False
            except _Mismatch as e:
                self._failed(job.source, f"{job.file}: {e}")
                return False
            with self._cond:
                self._pending.pop(job.file, None)
            if self._failing is not None:
                self._late += 1
        return True

    def _copy(self, job: _Job) -> None:
        src = safe_join(self.root, job.file)
        dst = safe_join(self.backup, job.file)
        if src is None or dst is None:
            raise _Mismatch("not a path inside the recording folder")
        copy_durable(src, dst)
        # Read the copy back: a backup only counts once its bytes are known to be the recorded ones.
        digest, _size = sha256_file(dst)
        if digest != job.sha256:
            raise _Mismatch(f"copy reads back with SHA-256 {digest[:16]}…, expected {job.sha256[:16]}…")

    def _mirror_manifest(self) -> bool:
        try:
            self._mirror_manifest_once()
        except (OSError, _Mismatch) as e:
            self._failed(ALL_SOURCES, f"{MANIFEST_NAME}: {e}")
            return False
        return True

    def _mirror_manifest_once(self) -> None:
        src = self.root / MANIFEST_NAME
        dst = self.backup / MANIFEST_NAME
        data = src.read_bytes()
        # Only whole lines: a line being appended right now is mirrored next time.
        data = data[: data.rfind(b"\n") + 1]
        try:
            dst_size = dst.stat().st_size
        except FileNotFoundError:
            dst_size = -1
        if self._synced is None or dst_size != self._synced or len(data) < self._synced:
            # First sync in this process, or the mirror changed under us: rewrite it whole.
            self.backup.mkdir(parents=True, exist_ok=True)
            _write_whole(dst, data)
            if dst.read_bytes() != data:
                raise _Mismatch("manifest copy reads back different")
            self._synced = len(data)
            return
        tail = data[self._synced :]
        if not tail:
            return
        fd = os.open(dst, os.O_RDWR | os.O_APPEND)
        try:
            os.write(fd, tail)
            os.fsync(fd)
            back = os.pread(fd, len(tail), self._synced)
        finally:
            os.close(fd)
        if back != tail:
            self._synced = None
            raise _Mismatch("manifest lines read back different from the backup")
        self._synced = len(data)

    def _failed(self, source: str, what: str) -> None:
        log.warning("backup to %s failed: %s", self.backup, what)
        if self._failing is None:
            self._failing = what
            try:
                self._manifest.append_event(
                    source=source,
                    action=EventAction.BACKUP_FAILED,
                    reason=f"backup to {self.backup} failed: {what}; retrying every {self._retry:g} s",
                    t=self._last_t(),
                )
            except Exception:
                log.exception("could not record the backup failure in the manifest")

    def _last_t(self) -> float:
        """Backup events happen in wall time, not media time: stamp them with the latest media time."""
        last = self._manifest.last
        if last is None:
            return 0.0
        return last.end if isinstance(last, SegmentEntry) else last.t


class _Mismatch(Exception):
    pass


def _write_whole(dst: Path, data: bytes) -> None:
    tmp = dst.with_name(f".{dst.name}{PARTIAL_SUFFIX}")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dst)
