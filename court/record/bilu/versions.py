"""Locked versions of the 笔录: freezing the text for signature, the versions on record, which one
is current, and the server key that seals them.

A version counts only when both its ``bilu_versions`` row and its ``bilu.locked`` event exist, and
any later content event supersedes it, so a crash between the two never yields a signable version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from court.core.lifecycle import HearingState, InvalidTransition, Lifecycle
from court.core.timeline import Timeline, read_events
from court.core.timeutil import as_utc
from court.db.bilu import BiluKey, BiluVersion
from court.record.bilu.common import LOCKED, BiluError, default_key_path
from court.record.bilu.context import RecordContext
from transcripts.bilu.layout import Block, blocks_from_json, blocks_to_json, content_sha256, document_blocks
from transcripts.bilu.model import BiluDocument, document_from_dict, document_to_dict
from transcripts.bilu.seal import ServerKey, load_or_create_key
from transcripts.bilu.signatures import VersionSeal, version_statement


@dataclass(frozen=True)
class LockedVersion:
    hearing_id: int
    number: int
    sha256: str
    locked_at: datetime
    locked_by: str
    key_id: str
    seal: str
    blocks: tuple[Block, ...]
    document: BiluDocument
    event_seq: int | None
    superseded: bool = False

    def version_seal(self, case_number: str) -> VersionSeal:
        return VersionSeal(
            self.hearing_id,
            case_number,
            self.number,
            self.sha256,
            self.locked_at,
            self.locked_by,
            self.key_id,
            self.seal,
        )


def locked_version(row: BiluVersion, *, superseded: bool) -> LockedVersion:
    return LockedVersion(
        hearing_id=row.hearing_id,
        number=row.number,
        sha256=row.sha256,
        locked_at=as_utc(row.locked_at),
        locked_by=row.locked_by,
        key_id=row.key_id,
        seal=row.seal,
        blocks=blocks_from_json(row.blocks),
        document=document_from_dict(row.document),
        event_seq=row.event_seq,
        superseded=superseded,
    )


def server_key(ctx: RecordContext) -> ServerKey:
    url = ctx.sessions.kw["bind"].url.render_as_string(hide_password=False)
    key = load_or_create_key(ctx.key_path or default_key_path(url))
    with ctx.sessions.begin() as session:
        if session.scalar(select(BiluKey.id).where(BiluKey.key_id == key.key_id)) is None:
            session.add(BiluKey(key_id=key.key_id, algorithm="ed25519", public_key=key.public_key))
    return key


def public_keys(sessions: sessionmaker[Session]) -> dict[str, bytes]:
    with sessions() as session:
        return {k.key_id: k.public_key for k in session.scalars(select(BiluKey))}


def versions(ctx: RecordContext) -> list[LockedVersion]:
    record = ctx.read_record()
    locks = {int(e.payload["version"]): e for e in record.locks()}
    with ctx.sessions() as session:
        rows = session.scalars(
            select(BiluVersion).where(BiluVersion.hearing_id == ctx.hearing_id).order_by(BiluVersion.number)
        ).all()
    out = []
    for row in rows:
        lock = locks.get(row.number)
        if lock is None or lock.payload.get("sha256") != row.sha256:
            continue  # written but never locked (a crash in between): not a version
        out.append(locked_version(row, superseded=record.superseded_after(lock)))
    return out


def current_version(ctx: RecordContext) -> LockedVersion | None:
    every = versions(ctx)
    if every and not every[-1].superseded:
        return every[-1]
    return None


def lock(ctx: RecordContext, *, actor: str | None) -> LockedVersion:
    record = ctx.read_record()
    lifecycle = record.lifecycle
    if lifecycle.state not in (HearingState.CLOSED, HearingState.SIGNING):
        try:
            lifecycle.send_for_signing()
        except InvalidTransition as exc:
            raise BiluError(f"笔录送签需先闭庭 (the hearing must be closed first): {exc}") from exc
    current = current_version(ctx)
    if current is not None and lifecycle.state is HearingState.SIGNING:
        return current
    transcript = record.transcript()
    pending = transcript.pending_requests()
    if pending:
        ids = ", ".join(str(o.request.request_id) for o in pending)
        raise BiluError(f"尚有更正申请未处理，不能送签 (correction requests {ids} await a decision)")
    actor = actor or ctx.default_actor()
    document = ctx.build_document(record, transcript)
    blocks = document_blocks(document)
    sha = content_sha256(blocks)
    number = len(record.locks()) + 1
    key = server_key(ctx)
    t = ctx.timeline.clock.now()
    locked_at = ctx.timeline.clock.wall(t)
    statement = version_statement(ctx.hearing_id, ctx.hearing.case_number, number, sha, locked_at, actor)
    seal = key.seal(statement)
    with ctx.sessions.begin() as session:
        # A row left by a lock that crashed before its event is not a version: replace it.
        session.execute(
            delete(BiluVersion).where(BiluVersion.hearing_id == ctx.hearing_id, BiluVersion.number == number)
        )
        row = BiluVersion(
            hearing_id=ctx.hearing_id,
            number=number,
            sha256=sha,
            blocks=blocks_to_json(blocks),
            document=document_to_dict(document),
            locked_at=locked_at,
            locked_by=actor,
            key_id=key.key_id,
            seal=seal,
        )
        session.add(row)
    if lifecycle.state is HearingState.CLOSED:
        pending_event = lifecycle.send_for_signing()
        ctx.timeline.append(pending_event.type, pending_event.payload, actor=actor, t=t)
    event = ctx.timeline.append(
        LOCKED, {"version": number, "sha256": sha, "key_id": key.key_id, "seal": seal}, actor=actor, t=t
    )
    with ctx.sessions.begin() as session:
        stored = session.scalar(
            select(BiluVersion).where(BiluVersion.hearing_id == ctx.hearing_id, BiluVersion.number == number)
        )
        assert stored is not None
        stored.event_seq = event.seq
        return locked_version(stored, superseded=False)


def lock_if_closed(
    sessions: sessionmaker[Session],
    hearing_id: int,
    *,
    key_path: Path | None = None,
    timeline: Timeline | None = None,
) -> LockedVersion | None:
    """Send a closed hearing's 笔录 for signature (the demo's last step); ``None`` if not closed.
    ``timeline``: the hearing's own, when a room holds it (its appends carry the room's claim)."""
    state = Lifecycle.replay((e.type, e.payload) for e in read_events(sessions, hearing_id)).state
    if state not in (HearingState.CLOSED, HearingState.SIGNING):
        return None
    return lock(RecordContext(sessions, hearing_id, timeline=timeline, key_path=key_path), actor=None)
