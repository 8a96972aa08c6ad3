"""The 笔录 of a hearing, wired to its store and timeline: live corrections with their history, parties'
correction requests and the clerk's decisions (办案规则 Art. 42), locking a version for signature,
signing and refusing, exports, and verifying an exported file against the record.

Every step is a timeline event first (``utterance.corrected`` …, ``correction.requested``,
``correction.decided``, ``bilu.locked``, ``bilu.superseded``, ``bilu.signed``,
``bilu.sign_refused``); the document is rebuilt from the timeline each time, so the first recognized
text of a line is never lost and a correction can always be traced to who made it, when, from what
to what. A locked version's blocks (the exact text its hash covers) are stored in ``bilu_versions``;
versions and signatures are sealed with the server's Ed25519 key (:mod:`transcripts.bilu.seal`).

:class:`Bilu` is the facade callers use; the work is done by one module per job: :mod:`.projection`
and :mod:`.facts` (reading the record), :mod:`.editing` (live corrections), :mod:`.requests`
(Art. 42), :mod:`.versions` (locking), :mod:`.signing` and :mod:`.export` (printable, verify_file).

Event payloads (``actor`` is the event's actor):

- ``utterance.corrected`` {line, before, after, reason?, request_id?}
- ``utterance.role_changed`` {line, role, role_label, speaker, participant_id, before, after}
- ``utterance.merged`` {lines, before: [texts], after}
- ``utterance.split`` {line, offset, new_line, before, after: [first, second]}
- ``utterance.marked`` {line, mark, note} / ``utterance.unmarked`` {line, mark}
- ``utterance.added`` {line, role, role_label, speaker, participant_id, text, start}
- ``correction.requested`` {line, participant_id, requested_by, proposed_text, reason}
- ``correction.decided`` {request_id, decision: accepted|refused, reason}
- ``evidence.presented`` {evidence_id} or {title, sha256, submitted_by, filename?} (read here)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from court.core.roles import Role
from court.core.timeline import TimelineEvent
from court.record.bilu import editing as _editing
from court.record.bilu import export as _export
from court.record.bilu import requests as _requests
from court.record.bilu import signing as _signing
from court.record.bilu import versions as _versions
from court.record.bilu.common import (
    CONTENT_EVENTS,
    CORRECTION_EVENTS,
    KEY_FILE_NAME,
    SIGNING_KEY_ENV,
    BiluError,
    default_key_path,
    role_label,
)
from court.record.bilu.context import RecordContext
from court.record.bilu.export import verify_file
from court.record.bilu.projection import sync_projections
from court.record.bilu.signing import SignerNotVerified
from court.record.bilu.versions import LockedVersion, lock_if_closed
from court.record.signer_identity import SignerFaceCheck
from transcripts.bilu.printable import Printable
from transcripts.bilu.seal import ServerKey
from transcripts.bilu.signatures import SignatureRecord
from transcripts.bilu.verify import ExtractError


class Bilu(RecordContext):
    """The 笔录 of one hearing.

    Pass the hearing session's ``timeline`` while the hearing runs (so corrections and recognized
    lines append through one writer); afterwards one is made on the hearing clock, never dated
    before the record's last event. ``key_path`` is the server's private signing key (created on
    first use; default :func:`default_key_path`).

    Reading (``transcript``, ``lines``, ``draft``, ``default_actor``) comes from
    :class:`~.context.RecordContext`; every other method hands itself to its job module.
    """

    # -- corrections ----------------------------------------------------------------------------

    def edit_text(
        self,
        line_id: str,
        text: str,
        *,
        actor: str | None = None,
        reason: str = "",
        request_id: int | None = None,
    ) -> TimelineEvent:
        return _editing.edit_text(self, line_id, text, actor=actor, reason=reason, request_id=request_id)

    def change_role(
        self,
        line_id: str,
        role: Role | str,
        *,
        participant_id: int | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> TimelineEvent:
        return _editing.change_role(
            self, line_id, role, participant_id=participant_id, actor=actor, reason=reason
        )

    def merge(self, line_ids: Sequence[str], *, actor: str | None = None, reason: str = "") -> TimelineEvent:
        return _editing.merge(self, line_ids, actor=actor, reason=reason)

    def split(
        self, line_id: str, offset: int, *, actor: str | None = None, reason: str = ""
    ) -> TimelineEvent:
        return _editing.split(self, line_id, offset, actor=actor, reason=reason)

    def mark(self, line_id: str, mark: str, *, note: str = "", actor: str | None = None) -> TimelineEvent:
        return _editing.mark(self, line_id, mark, note=note, actor=actor)

    def unmark(self, line_id: str, mark: str, *, actor: str | None = None) -> TimelineEvent:
        return _editing.unmark(self, line_id, mark, actor=actor)

    def add_line(
        self,
        role: Role | str,
        text: str,
        start: float,
        *,
        participant_id: int | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> TimelineEvent:
        return _editing.add_line(
            self, role, text, start, participant_id=participant_id, actor=actor, reason=reason
        )

    # -- requests (Art. 42) --------------------------------------------------------------------------

    def request_correction(
        self, line_id: str, participant_id: int, proposed_text: str, *, reason: str = ""
    ) -> int:
        """A party asks for a line to be corrected; returns the request id (its event number)."""
        return _requests.request_correction(self, line_id, participant_id, proposed_text, reason=reason)

    def decide(
        self,
        request_id: int,
        *,
        accept: bool,
        reason: str = "",
        text: str | None = None,
        actor: str | None = None,
    ) -> TimelineEvent:
        """The clerk's decision. Accepting applies the correction (``text``, default the proposed
        one) as an ``utterance.corrected`` tied to the request; refusing needs a reason, and the
        refused request is printed in the 笔录 after its line."""
        return _requests.decide(self, request_id, accept=accept, reason=reason, text=text, actor=actor)

    # -- versions ---------------------------------------------------------------------------------

    def server_key(self) -> ServerKey:
        return _versions.server_key(self)

    def versions(self) -> list[LockedVersion]:
        return _versions.versions(self)

    def current_version(self) -> LockedVersion | None:
        """The version out for signature now (``None`` if none, or if corrected since)."""
        return _versions.current_version(self)

    def lock(self, *, actor: str | None = None) -> LockedVersion:
        """Send the 笔录 for signature: freeze the current text as a new version (sealed), moving a
        closed hearing to ``signing``. Locking again with nothing corrected returns that version."""
        return _versions.lock(self, actor=actor)

    # -- signing ----------------------------------------------------------------------------------

    def signatures(self, version: int | None = None) -> list[SignatureRecord]:
        """The completed signatures and refusals (those whose event is in the timeline)."""
        return _signing.signatures(self, version)

    def sign(
        self,
        participant_id: int,
        sha256: str,
        *,
        device: str,
        image: bytes | None = None,
        login: str = "",
        face: SignerFaceCheck | None = None,
        session_id: int | None = None,
    ) -> SignatureRecord:
        """Sign the version with hash ``sha256`` — the one the signer reviewed on ``device`` — by a
        handwritten signature (PNG/JPEG drawn on screen) and/or a confirmation tied to their login,
        with ``face``, the face check they passed in login session ``session_id`` shortly before (a
        party cannot sign without one: :class:`SignerNotVerified`)."""
        return _signing.sign(
            self, participant_id, sha256, device=device, image=image, login=login, face=face,
            session_id=session_id,
        )  # fmt: skip

    def refuse(self, participant_id: int, sha256: str, *, reason: str, device: str) -> SignatureRecord:
        """Record a refusal to sign, with its reason (noted in the record, Art. 43)."""
        return _signing.refuse(self, participant_id, sha256, reason=reason, device=device)

    def archive(self, *, actor: str | None = None) -> TimelineEvent:
        """Archive once every signer of the current version has signed or refused."""
        return _signing.archive(self, actor=actor)

    # -- exports ----------------------------------------------------------------------------------

    def printable(self, version: int | None = None) -> Printable:
        """A locked version (``version``, or the current one) with its signatures, else the draft."""
        return _export.printable(self, version)

    def export(self, fmt: str, path: Path, *, version: int | None = None) -> Printable:
        return _export.export(self, fmt, path, version=version)


__all__ = [
    "CONTENT_EVENTS",
    "CORRECTION_EVENTS",
    "KEY_FILE_NAME",
    "SIGNING_KEY_ENV",
    "Bilu",
    "BiluError",
    "ExtractError",
    "LockedVersion",
    "SignerNotVerified",
    "default_key_path",
    "lock_if_closed",
    "role_label",
    "sync_projections",
    "verify_file",
]
