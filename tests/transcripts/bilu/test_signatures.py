from __future__ import annotations

import dataclasses

from tests.transcripts.bilu.samples import APPLICANT, sealed
from transcripts.bilu.seal import ServerKey, verify_seal
from transcripts.bilu.signatures import parse_signature_record, record_from_statement


def test_statement_binds_signer_version_and_time() -> None:
    key = ServerKey.generate()
    printable, _ = sealed(key)
    record = printable.signatures[0]
    assert verify_seal(key.public_key, record.statement(), record.seal)
    moved = dataclasses.replace(record, version=2)
    assert not verify_seal(key.public_key, moved.statement(), record.seal)
    other = dataclasses.replace(record, signer=dataclasses.replace(APPLICANT, name="李四"))
    assert not verify_seal(key.public_key, other.statement(), record.seal)
    assert record.image_matches()
    assert not dataclasses.replace(record, image=b"x").image_matches()
    back = record_from_statement(record.statement(), key_id=record.key_id, seal=record.seal)
    assert back == dataclasses.replace(record, image=None)


def test_printed_record_reads_back() -> None:
    printable, seal = sealed(ServerKey.generate())
    text = "\n".join(b.text for b in printable.record_blocks())
    version, sha, entries, leftover = parse_signature_record(text)
    assert (version, sha, leftover) == (1, seal.sha256, "")
    assert [(e.who, e.status) for e in entries] == [
        ("首席仲裁员王建国", "pending"),
        ("仲裁员陈静", "pending"),
        ("书记员赵敏", "pending"),
        ("申请人张伟", "signed"),
        ("被申请人代理人周强", "refused"),
    ]
    signed = entries[3]
    assert signed.seal_code == printable.signatures[0].seal[:16]
    assert signed.time == "2026-12-0109:15:00"
    assert "拒绝签名，2026-12-01 09:15:01，理由：对第三行有异议" in text
