"""The mediation settlement (调解协议): drafted by the tribunal, signed by the parties like the 笔录.

The settlement's facts live only in the hearing's timeline — one source of truth:

- ``settlement.drafted`` {version, text, sha256, drafted_by, kind, phase}: the clerk or an arbitrator
  puts a text out for signature. A new draft supersedes every earlier version and its signatures.
- ``settlement.signed`` {version, sha256, participant_id, name, role, method, login, device,
  face_similarity, face_check_seq?}: a party agrees to exactly the text with that hash (the one they
  saw), having passed a face check in the session they sign from shortly before
  (:mod:`court.record.signer_identity`).
- ``settlement.sign_refused`` {version, sha256, participant_id, name, role, device, reason}.
- ``settlement.concluded`` {version, sha256}: every party-side signer who is present has signed.

Who signs: the parties, their agents and third parties of the hearing's case (witnesses are not
parties to an agreement). Who must have signed for it to conclude: those of them recorded present
(``attendance.present`` as their latest attendance event); when no attendance was taken at all,
every one of them. A settlement may be recorded in a hearing of any kind (one reached in the 调解
phase of an ordinary hearing, too); the drafted event says which kind it was.

:class:`Settlement` reads the state back from the events on every call; writes are serialized per
hearing in this process, so one party cannot sign one version twice.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import CaseError, HearingInfo, ParticipantInfo, load_hearing
from court.core.events import EventType
from court.core.lifecycle import Lifecycle
from court.core.roles import Role
from court.core.timeline import Timeline, TimelineEvent, read_events
from court.record.signer_identity import FaceCheckRequired, SignerFaceCheck, check_face

DRAFTED = EventType.SETTLEMENT_DRAFTED
SIGNED = EventType.SETTLEMENT_SIGNED
SIGN_REFUSED = EventType.SETTLEMENT_SIGN_REFUSED
CONCLUDED = EventType.SETTLEMENT_CONCLUDED
MAX_TEXT = 50_000
"""Characters: a settlement is a page or two, never a book."""


class SettlementError(Exception):
    """A settlement request refused; ``code`` for the API, the message (Chinese, English gloss) for
    people. Codes: no_hearing, empty_text, too_long, concluded, no_settlement, not_a_signer,
    stale_version, already_signed, reason_required, device_required, login_required,
    face_check_required."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class SettlementSignature:
    participant_id: int
    name: str
    role: str
    role_label: str
    refused: bool
    at: datetime
    device: str
    method: str = ""
    reason: str = ""
    face_similarity: float | None = None
    seq: int = 0


@dataclass(frozen=True)
class SettlementVersion:
    version: int
    text: str
    sha256: str
    drafted_at: datetime
    drafted_by: str
    kind: str
    """The hearing's kind when drafted: ``mediation`` or ``hearing`` (a settlement in its 调解 phase)."""
    signatures: tuple[SettlementSignature, ...]
    """Signatures and refusals of this version, in the order given."""
    required: tuple[int, ...]
    """The participants whose signature concludes it (present party-side signers)."""
    concluded: bool

    def signature_of(self, participant_id: int) -> SettlementSignature | None:
        return next((s for s in self.signatures if s.participant_id == participant_id), None)


def settlement_sha256(text: str) -> str:
    """The hash a signer confirms: SHA-256 of the NFC-normalized text in UTF-8."""
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()


def may_sign(participant: ParticipantInfo) -> bool:
    """Parties, their agents and third parties; not the tribunal, not witnesses."""
    return participant.role.is_party_side and participant.role is not Role.WITNESS


_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(hearing_id: int) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(hearing_id, threading.Lock())


def _opt_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class Settlement:
    """The 调解协议 of one hearing. ``timeline`` is the hearing's (the host's while it runs)."""

    def __init__(self, sessions: sessionmaker[Session], hearing_id: int, timeline: Timeline) -> None:
        if timeline.hearing_id != hearing_id:
            raise ValueError(f"the timeline is of hearing {timeline.hearing_id}, not {hearing_id}")
        self.sessions = sessions
        self.hearing_id = hearing_id
        self.timeline = timeline
        try:
            self.hearing: HearingInfo = load_hearing(sessions, hearing_id)
        except CaseError:
            raise SettlementError(
                "no_hearing", f"没有编号为 {hearing_id} 的庭审 (no hearing with id {hearing_id})"
            ) from None

    # -- reading -----------------------------------------------------------------------------------

    def _events(self) -> list[TimelineEvent]:
        return [
            e
            for e in read_events(self.sessions, self.hearing_id)
            if e.type.family in ("settlement", "attendance", "hearing")
        ]

    def current(self) -> SettlementVersion | None:
        """The version out for signature (the latest draft), with its signatures; None before any."""
        return self._current(self._events())

    def versions(self) -> list[int]:
        """Every version drafted, oldest first (all but the last superseded)."""
        return [int(e.payload["version"]) for e in self._events() if e.type == DRAFTED]

    def signers(self) -> list[ParticipantInfo]:
        """Who may sign: the party-side participants of the case, witnesses excepted."""
        return [p for p in self.hearing.participants if may_sign(p)]

    def _current(self, events: Sequence[TimelineEvent]) -> SettlementVersion | None:
        drafts = [e for e in events if e.type == DRAFTED]
        if not drafts:
            return None
        draft = drafts[-1]
        p = draft.payload
        number = int(p["version"])
        sha = str(p["sha256"])
        signatures = tuple(
            _signature(e)
            for e in events
            if e.type in (SIGNED, SIGN_REFUSED)
            and e.seq > draft.seq
            and _opt_int(e.payload.get("version")) == number
            and e.payload.get("sha256") == sha
        )
        concluded = any(
            e.type == CONCLUDED and _opt_int(e.payload.get("version")) == number and e.seq > draft.seq
            for e in events
        )
        return SettlementVersion(
            version=number,
            text=str(p["text"]),
            sha256=sha,
            drafted_at=draft.wall,
            drafted_by=str(p.get("drafted_by", draft.actor)),
            kind=str(p.get("kind", self.hearing.kind)),
            signatures=signatures,
            required=tuple(sorted(self._required(events))),
            concluded=concluded,
        )

    def _required(self, events: Sequence[TimelineEvent]) -> set[int]:
        signers = {p.id for p in self.signers()}
        present: dict[int, bool] = {}
        for e in events:
            if e.type in (EventType.ATTENDANCE_PRESENT, EventType.ATTENDANCE_ABSENT):
                pid = _opt_int(e.payload.get("participant_id"))
                if pid in signers:
                    assert pid is not None
                    present[pid] = e.type == EventType.ATTENDANCE_PRESENT
        here = {pid for pid, yes in present.items() if yes}
        return here or signers

    # -- writing ------------------------------------------------------------------------------------

    def draft(self, text: str, *, actor: str) -> SettlementVersion:
        """Put a (new) text out for signature; it supersedes every earlier version and its
        signatures. Refused when empty, too long, or once a version has been concluded."""
        clean = unicodedata.normalize("NFC", text).strip()
        if not clean:
            raise SettlementError("empty_text", "调解协议内容不能为空 (the settlement text is empty)")
        if len(clean) > MAX_TEXT:
            raise SettlementError(
                "too_long", f"调解协议过长，至多 {MAX_TEXT} 字 (the text is over {MAX_TEXT} characters)"
            )
        with _lock(self.hearing_id):
            events = self._events()
            current = self._current(events)
            if current is not None and current.concluded:
                raise SettlementError(
                    "concluded",
                    f"第 {current.version} 版调解协议已经各方签署，不能再修改 "
                    "(the settlement has been signed by every party and concluded)",
                )
            phase = Lifecycle.replay((e.type, e.payload) for e in events).phase
            number = 1 if current is None else current.version + 1
            self.timeline.append(
                DRAFTED,
                {
                    "version": number,
                    "text": clean,
                    "sha256": settlement_sha256(clean),
                    "drafted_by": actor,
                    "kind": self.hearing.kind,
                    "phase": phase.value if phase else None,
                    **({"supersedes": current.version} if current is not None else {}),
                },
                actor=actor,
            )
            done = self._current(self._events())
        assert done is not None
        return done

    def sign(
        self,
        participant_id: int,
        sha256: str,
        *,
        device: str,
        login: str,
        face: SignerFaceCheck | None,
        session_id: int | None = None,
    ) -> SettlementSignature:
        """Agree to the version with hash ``sha256`` — the text the signer saw on ``device`` — by a
        confirmation tied to their ``login`` and ``face``, the face check they passed in login
        session ``session_id`` shortly before (``face_check_required`` without one). Appends
        ``settlement.concluded`` when it was the last signature needed."""
        if not login.strip():
            raise SettlementError("login_required", "签署须经登录确认 (signing needs a login)")

        def identity() -> dict[str, Any]:
            try:
                passed = check_face(face, now=self.timeline.clock.now(), session_id=session_id)
            except FaceCheckRequired as exc:
                raise SettlementError("face_check_required", exc.message) from None
            return {
                "face_similarity": round(float(passed.similarity), 4),
                **({"face_check_seq": passed.seq} if passed.seq is not None else {}),
            }

        payload: dict[str, Any] = {"method": "login,face", "login": login.strip()}
        return self._record(participant_id, sha256, SIGNED, device=device, extra=payload, identity=identity)

    def refuse(self, participant_id: int, sha256: str, *, reason: str, device: str) -> SettlementSignature:
        """Decline the version with hash ``sha256``, with the reason (recorded)."""
        if not reason.strip():
            raise SettlementError("reason_required", "不同意调解协议须写明理由 (a refusal needs its reason)")
        return self._record(
            participant_id, sha256, SIGN_REFUSED, device=device, extra={"reason": reason.strip()}
        )

    def _record(
        self,
        participant_id: int,
        sha256: str,
        kind: EventType,
        *,
        device: str,
        extra: dict[str, Any],
        identity: Callable[[], dict[str, Any]] | None = None,
    ) -> SettlementSignature:
        """``identity``: checks who signs and gives what the event records of it; asked last, so a
        stale or repeated signature is refused as such first."""
        signer = self._signer(participant_id)
        if not device.strip():
            raise SettlementError("device_required", "须记录签署设备 (the signing device must be named)")
        with _lock(self.hearing_id):
            current = self._current(self._events())
            if current is None:
                raise SettlementError(
                    "no_settlement", "尚无待签署的调解协议 (no settlement out for signature)"
                )
            if sha256 != current.sha256:
                raise SettlementError(
                    "stale_version",
                    f"您看到的不是当前版本的调解协议 (the text you saw, {sha256[:12]}…, is not the current "
                    f"version {current.version} {current.sha256[:12]}…)：请重新阅读后再签署",
                )
            done = current.signature_of(participant_id)
            if done is not None:
                raise SettlementError(
                    "already_signed",
                    f"{signer.label} 已经{'拒绝签署' if done.refused else '签署'}"
                    f"第 {current.version} 版调解协议 (already done for this version)",
                )
            if identity is not None:
                extra = {**extra, **identity()}
            event = self.timeline.append(
                kind,
                {
                    "version": current.version,
                    "sha256": current.sha256,
                    "participant_id": signer.id,
                    "name": signer.name,
                    "role": signer.role.value,
                    "role_label": signer.role.label,
                    "device": device.strip()[:300],
                    **extra,
                },
                actor=signer.label,
            )
            if kind == SIGNED:
                self._conclude_if_complete()
        return _signature(event)

    def _conclude_if_complete(self) -> None:
        events = self._events()
        current = self._current(events)
        if current is None or current.concluded:
            return
        agreed = {s.participant_id for s in current.signatures if not s.refused}
        if set(current.required) <= agreed:
            self.timeline.append(
                CONCLUDED,
                {
                    "version": current.version,
                    "sha256": current.sha256,
                    "signed_by": sorted(agreed),
                },
            )

    def _signer(self, participant_id: int) -> ParticipantInfo:
        participant = next((p for p in self.hearing.participants if p.id == participant_id), None)
        if participant is None:
            raise SettlementError(
                "not_a_signer",
                f"参与人 {participant_id} 不是本案当事人 (participant {participant_id} is not in this case)",
            )
        if not may_sign(participant):
            raise SettlementError(
                "not_a_signer",
                f"{participant.label} 不是调解协议的签署人：只有当事人及其代理人签署 "
                "(only the parties and their agents sign the settlement)",
            )
        return participant


def _signature(e: TimelineEvent) -> SettlementSignature:
    p = e.payload
    similarity = p.get("face_similarity")
    return SettlementSignature(
        participant_id=int(p["participant_id"]),
        name=str(p.get("name", "")),
        role=str(p.get("role", "")),
        role_label=str(p.get("role_label", "")),
        refused=e.type == SIGN_REFUSED,
        at=e.wall,
        device=str(p.get("device", "")),
        method=str(p.get("method", "")),
        reason=str(p.get("reason", "")),
        face_similarity=float(similarity) if similarity is not None else None,
        seq=e.seq,
    )
