from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from tests.transcripts.bilu.samples import sealed
from transcripts.bilu.json_form import bilu_json, write_json
from transcripts.bilu.model import document_from_dict
from transcripts.bilu.seal import ServerKey, verify_seal
from transcripts.bilu.signatures import version_statement


def test_json_export_checks_out_without_the_store(tmp_path: Path) -> None:
    key = ServerKey.generate()
    printable, seal = sealed(key)
    path = tmp_path / "b.json"
    write_json(printable, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "court-bilu" and data["format_version"] == 1
    canonical = "".join(item["text"] + "\n" for item in data["text"])
    assert hashlib.sha256(canonical.encode()).hexdigest() == data["version"]["sha256"] == seal.sha256
    public = bytes.fromhex(data["public_key"]["hex"])
    version = data["version"]
    statement = version_statement(
        version["hearing_id"],
        data["case_number"],
        version["number"],
        version["sha256"],
        seal.locked_at,
        version["locked_by"],
    )
    assert statement["locked_at"] == version["locked_at"]
    assert verify_seal(public, statement, version["seal"])
    assert all(verify_seal(public, s["statement"], s["seal"]) for s in data["signatures"])
    assert document_from_dict(data["document"]) == printable.document
    assert data["signature_record"][0].startswith("【签署记录】版本 1")


def test_a_draft_has_no_version() -> None:
    printable, _ = sealed(ServerKey.generate())
    draft = dataclasses.replace(printable, version=None, sha256=None, signatures=(), version_seal=None)
    data = bilu_json(draft)
    assert data["version"] is None
    assert data["signature_record"] == ["【签署记录】草稿未锁定，不能签署"]
