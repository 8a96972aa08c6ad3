"""Signing the locked 笔录 and refusing to sign it (Art. 43), the signatures on record, and archiving
once every signer is done.

A signature is a sealed ``signatures`` row plus a ``bilu.signed`` / ``bilu.sign_refused`` event; only
rows whose seal an event carries count, so an interrupted signing or an inserted row is never shown.
A party (anyone but the tribunal) signs only after a recent face check in the session they sign from
(:mod:`court.record.signer_identity`); its similarity and its event are sealed with the signature."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.lifecycle import HearingState, InvalidTransition
from court.core.timeline import TimelineEvent
from court.core.timeutil import as_utc
from court.db.models import Signature
from court.record.bilu.common import SIGN_REFUSED, SIGNED, BiluError, role_label
from court.record.bilu.context import RecordContext
from court.record.bilu.projection import Record
from court.record.bilu.versions import LockedVersion, current_version, server_key
from court.record.signer_identity import FaceCheckRequired, SignerFaceCheck, check_face, needs_face_check
from transcripts.bilu.model import Person, person_from_dict
from transcripts.bilu.signatures import SIGN_METHODS, SignatureRecord

MAX_SIGNATURE_IMAGE_BYTES = 2_000_000


class SignerNotVerified(BiluError):
    """A party tried to sign without a recent face check in their session (the web answers 403)."""


def check_image(image: bytes) -> None:
    if len(image) > MAX_SIGNATURE_IMAGE_BYTES:
        raise BiluError(f"签名图像过大 (the signature image is over {MAX_SIGNATURE_IMAGE_BYTES} bytes)")
    try:
        with Image.open(io.BytesIO(image)) as picture:
            picture.verify()
            kind = picture.format
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BiluError(
            f"签名图像无法识别 (the handwritten signature is not a PNG/JPEG image): {exc}"
        ) from exc
    if kind not in ("PNG", "JPEG"):
        raise BiluError(f"签名图像须为 PNG 或 JPEG (got {kind})")


def row_record(row: Signature) -> SignatureRecord:
    """A signature as the row says it is: the seal over its statement then proves it unchanged."""
    statement = row.statement or {}
    signer_raw = statement.get("signer") or {}
    try:
        sealed_signer = person_from_dict(signer_raw)
    except (KeyError, TypeError, ValueError):
        sealed_signer = Person(row.signer_role, role_label(row.signer_role), row.signer_name)
    similarity = statement.get("face_similarity")
    check = statement.get("face_check_seq")
    return SignatureRecord(
        hearing_id=row.hearing_id,
        case_number=str(statement.get("case_number", "")),
        version=row.document_version,
        sha256=row.document_sha256,
        signer=Person(
            row.signer_role,
            sealed_signer.role_label,
            row.signer_name,
            sealed_signer.organization,
            row.participant_id,
        ),
        refused=row.refused,
        at=as_utc(row.signed_at),
        device=row.device,
        methods=tuple(m for m in row.method.split(",") if m),
        login=str(statement.get("login", "")),
        face_similarity=float(similarity) if similarity is not None else None,
        reason=row.refusal_reason,
        image_sha256=str(statement.get("image_sha256", "")),
        key_id=row.key_id,
        seal=row.seal,
        image=row.image,
        face_check_seq=int(check) if check is not None else None,
    )


def signature_rows(sessions: sessionmaker[Session], hearing_id: int) -> list[SignatureRecord]:
    with sessions() as session:
        rows = session.scalars(
            select(Signature).where(Signature.hearing_id == hearing_id).order_by(Signature.id)
        ).all()
        for row in rows:
            _ = row.image  # deferred column: load it while the session is open
        return [row_record(row) for row in rows]


def signature_records(
    sessions: sessionmaker[Session], hearing_id: int, record: Record, version: int | None
) -> list[SignatureRecord]:
    sealed = {str(e.payload.get("seal")) for e in record.events if e.type in (SIGNED, SIGN_REFUSED)}
    return [
        r
        for r in signature_rows(sessions, hearing_id)
        if r.seal in sealed and (version is None or r.version == version)
    ]


def signatures(ctx: RecordContext, version: int | None) -> list[SignatureRecord]:
    record = ctx.read_record()
    return signature_records(ctx.sessions, ctx.hearing_id, record, version)


def _signable(ctx: RecordContext, participant_id: int, sha256: str) -> tuple[Record, LockedVersion, Person]:
    record = ctx.read_record()
    if record.lifecycle.state is not HearingState.SIGNING:
        raise BiluError(f"笔录未在签署中 (the 笔录 is not out for signature: {record.lifecycle.state.value})")
    current = current_version(ctx)
    if current is None:
        raise BiluError("笔录已更正，须先锁定新版本再签署 (corrected since: lock a new version first)")
    if sha256 != current.sha256:
        raise BiluError(
            f"您审阅的不是当前版本 (the version you reviewed, {sha256[:12]}…, is not the current "
            f"version {current.number} {current.sha256[:12]}…): 请重新审阅"
        )
    signer = next((p for p in current.document.signers if p.participant_id == participant_id), None)
    if signer is None:
        raise BiluError(f"参与人 {participant_id} 不是本笔录的签名人 (not a signer of this 笔录)")
    done = [
        e
        for e in record.events
        if e.type in (SIGNED, SIGN_REFUSED)
        and e.payload.get("version") == current.number
        and e.payload.get("participant_id") == participant_id
    ]
    if done:
        raise BiluError(
            f"{signer.label} 已经{'签名' if done[0].type == SIGNED else '拒绝签名'} (already done)"
        )
    return record, current, signer


def sign(
    ctx: RecordContext,
    participant_id: int,
    sha256: str,
    *,
    device: str,
    image: bytes | None,
    login: str,
    face: SignerFaceCheck | None,
    session_id: int | None = None,
) -> SignatureRecord:
    """``face``: the signer's latest passed face check in the login session ``session_id`` they sign
    from (required of a party, optional for the tribunal)."""
    _, current, signer = _signable(ctx, participant_id, sha256)
    if not device.strip():
        raise BiluError("签名须记录设备 (the signing device must be named)")
    methods = []
    if image is not None:
        check_image(image)
        methods.append("handwritten")
    if login.strip():
        methods.append("login")
    if face is not None or needs_face_check(signer.role):
        try:
            face = check_face(face, now=ctx.timeline.clock.now(), session_id=session_id)
        except FaceCheckRequired as exc:
            raise SignerNotVerified(f"{signer.label}：{exc.message}") from None
        methods.append("face")
    if not methods:
        raise BiluError("需要手写签名或登录确认 (a handwritten signature or a login confirmation is needed)")
    assert all(m in SIGN_METHODS for m in methods)
    return _record_signature(
        ctx, current, signer, refused=False, device=device.strip(), methods=tuple(methods),
        login=login.strip(), face=face, reason="", image=image,
    )  # fmt: skip


def refuse(
    ctx: RecordContext, participant_id: int, sha256: str, *, reason: str, device: str
) -> SignatureRecord:
    _, current, signer = _signable(ctx, participant_id, sha256)
    if not reason.strip():
        raise BiluError("拒绝签名须写明理由 (a refusal needs its reason)")
    if not device.strip():
        raise BiluError("须记录设备 (the device must be named)")
    return _record_signature(
        ctx, current, signer, refused=True, device=device.strip(), methods=(), login="", face=None,
        reason=reason.strip(), image=None,
    )  # fmt: skip


def _record_signature(
    ctx: RecordContext,
    current: LockedVersion,
    signer: Person,
    *,
    refused: bool,
    device: str,
    methods: tuple[str, ...],
    login: str,
    face: SignerFaceCheck | None,
    reason: str,
    image: bytes | None,
) -> SignatureRecord:
    key = server_key(ctx)
    t = ctx.timeline.clock.now()
    record = SignatureRecord(
        hearing_id=ctx.hearing_id,
        case_number=ctx.hearing.case_number,
        version=current.number,
        sha256=current.sha256,
        signer=signer,
        refused=refused,
        at=ctx.timeline.clock.wall(t),
        device=device,
        methods=methods,
        login=login,
        face_similarity=round(face.similarity, 4) if face is not None else None,
        reason=reason,
        image_sha256=hashlib.sha256(image).hexdigest() if image is not None else "",
        key_id=key.key_id,
        image=image,
        face_check_seq=face.seq if face is not None else None,
    )
    statement = record.statement()
    seal = key.seal(statement)
    with ctx.sessions.begin() as session:
        row = Signature(
            hearing_id=ctx.hearing_id,
            document_version=record.version,
            document_sha256=record.sha256,
            participant_id=signer.participant_id,
            signer_role=signer.role,
            signer_name=signer.name,
            refused=refused,
            refusal_reason=reason,
            method=",".join(methods),
            device=device,
            image=image,
            signed_at=record.at,
            statement=statement,
            key_id=key.key_id,
            seal=seal,
        )
        session.add(row)
        session.flush()
        signature_id = row.id
    ctx.timeline.append(
        SIGN_REFUSED if refused else SIGNED,
        {
            "version": record.version,
            "sha256": record.sha256,
            "participant_id": signer.participant_id,
            "signer": signer.label,
            "methods": list(methods),
            "device": device,
            **({"reason": reason} if refused else {}),
            **({"face_similarity": record.face_similarity} if record.face_similarity is not None else {}),
            **({"face_check_seq": face.seq} if face is not None and face.seq is not None else {}),
            "signature_id": signature_id,
            "seal": seal,
        },
        actor=signer.label,
        t=t,
    )
    return replace(record, seal=seal)


def archive(ctx: RecordContext, *, actor: str | None) -> TimelineEvent:
    record = ctx.read_record()
    current = current_version(ctx)
    if current is None:
        raise BiluError("没有待签署的当前版本 (no current version out for signature)")
    done = {s.signer.participant_id for s in signatures(ctx, current.number)}
    missing = [p.label for p in current.document.signers if p.participant_id not in done]
    if missing:
        raise BiluError("尚未签名：" + "、".join(missing) + " (not yet signed)")
    try:
        pending = record.lifecycle.archive()
    except InvalidTransition as exc:
        raise BiluError(str(exc)) from exc
    return ctx.timeline.append(pending.type, pending.payload, actor=actor or ctx.default_actor())
