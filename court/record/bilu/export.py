"""The 笔录 out of the store: the printable form of a version (or the draft), exports to files, and
verifying an exported file against the record.

Verification trusts only what the record holds — the stored version, its lock event, the signature
rows the timeline vouches for and the public keys — never what the file claims about itself."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import load_hearing
from court.db.bilu import BiluVersion
from court.record.bilu.common import BiluError
from court.record.bilu.context import RecordContext
from court.record.bilu.projection import Record
from court.record.bilu.signing import signature_records, signature_rows, signatures
from court.record.bilu.versions import LockedVersion, current_version, locked_version, public_keys, versions
from transcripts.bilu import write_export
from transcripts.bilu.layout import document_blocks
from transcripts.bilu.printable import Printable
from transcripts.bilu.verify import ExpectedVersion, VerifyReport, claimed_version, extract, verify_extracted


def printable(ctx: RecordContext, version: int | None) -> Printable:
    chosen: LockedVersion | None
    if version is not None:
        chosen = next((v for v in versions(ctx) if v.number == version), None)
        if chosen is None:
            raise BiluError(f"没有版本 {version} (no locked version {version})")
    else:
        chosen = current_version(ctx)
    if chosen is None:
        document = ctx.draft()
        return Printable(
            case_number=ctx.hearing.case_number,
            title=document.header.title,
            blocks=document_blocks(document),
            signers=document.signers,
            utc_offset_minutes=document.utc_offset_minutes,
            document=document,
        )
    key = public_keys(ctx.sessions).get(chosen.key_id)
    return Printable(
        case_number=ctx.hearing.case_number,
        title=chosen.document.header.title,
        blocks=chosen.blocks,
        signers=chosen.document.signers,
        version=chosen.number,
        sha256=chosen.sha256,
        signatures=tuple(signatures(ctx, chosen.number)),
        utc_offset_minutes=chosen.document.utc_offset_minutes,
        document=chosen.document,
        version_seal=chosen.version_seal(ctx.hearing.case_number),
        public_key=key,
    )


def export(ctx: RecordContext, fmt: str, path: Path, *, version: int | None) -> Printable:
    chosen = printable(ctx, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_export(chosen, fmt, path)
    return chosen


def verify_file(sessions: sessionmaker[Session], path: Path) -> VerifyReport:
    """Check an exported 笔录 against the record in ``sessions``' store.

    Raises :class:`~transcripts.bilu.verify.ExtractError` when the file cannot be read at all."""
    extracted = extract(path)
    number, sha = claimed_version(extracted)
    if sha is None:
        return VerifyReport(
            extracted.format,
            None,
            None,
            (
                "文件没有版本校验码：这是未锁定的草稿或页脚被改动 "
                "(the file carries no version hash: a draft, or its foot was altered)",
            ),
        )
    with sessions() as session:
        rows = session.scalars(select(BiluVersion).where(BiluVersion.sha256 == sha)).all()
    if not rows:
        return VerifyReport(
            extracted.format,
            number,
            sha,
            (f"记录中没有校验码为 {sha} 的锁定版本 (no locked version with this hash in the record)",),
        )
    row = rows[0]
    hearing = load_hearing(sessions, row.hearing_id)
    record = Record.read(sessions, hearing)
    lock = next((e for e in record.locks() if e.payload.get("sha256") == sha), None)
    version = locked_version(row, superseded=lock is not None and record.superseded_after(lock))
    all_rows = [
        r for r in signature_rows(sessions, row.hearing_id) if r.sha256 == sha or r.version == row.number
    ]
    counted = signature_records(sessions, row.hearing_id, record, None)
    counted_seals = {r.seal for r in counted}
    expected = ExpectedVersion(
        seal=version.version_seal(hearing.case_number),
        title=version.document.header.title,
        blocks=version.blocks,
        signers=version.document.signers,
        signatures=tuple(r for r in all_rows if r.seal in counted_seals),
        document=row.document,
        public_keys=public_keys(sessions),
        superseded=version.superseded,
    )
    report = verify_extracted(extracted, expected, version.document.utc_offset_minutes)
    problems = list(report.problems)
    notes = list(report.notes)
    if lock is None:
        problems.insert(0, "记录的时间线中没有该版本的锁定事件 (the timeline holds no lock of this version)")
    elif lock.payload.get("seal") != row.seal or int(lock.payload.get("version", -1)) != row.number:
        problems.insert(
            0, "版本记录与时间线中的锁定事件不符 (the stored version differs from its lock event)"
        )
    orphans = [r for r in all_rows if r.seal not in counted_seals]
    if orphans:
        notes.append(
            f"{len(orphans)} 条签名记录没有对应的时间线事件，未计入 "
            "(signature rows without a timeline event — an interrupted signing or an insertion — not counted)"
        )
    return VerifyReport(
        report.format, report.version, report.sha256, tuple(problems), report.signatures, tuple(notes)
    )
