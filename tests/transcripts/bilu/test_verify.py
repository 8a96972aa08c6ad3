from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.transcripts.bilu.helpers import alter_docx, alter_json, alter_txt, swap_first_pdf_glyphs
from tests.transcripts.bilu.samples import sealed
from transcripts.bilu import Printable, write_export
from transcripts.bilu.model import document_to_dict
from transcripts.bilu.seal import ServerKey
from transcripts.bilu.signatures import VersionSeal
from transcripts.bilu.verify import (
    ExpectedVersion,
    ExtractError,
    claimed_version,
    extract,
    public_key_map,
    verify_extracted,
)

FORMATS = ("txt", "docx", "pdf", "json")


@pytest.fixture(scope="module")
def signed() -> tuple[Printable, VersionSeal, ExpectedVersion]:
    key = ServerKey.generate()
    printable, seal = sealed(key)
    assert printable.document is not None
    expected = ExpectedVersion(
        seal=seal,
        title=printable.title,
        blocks=printable.blocks,
        signers=printable.signers,
        signatures=printable.signatures,
        document=document_to_dict(printable.document),
        public_keys=public_key_map([key.public_key]),
    )
    return printable, seal, expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unaltered_export_verifies(
    fmt: str, signed: tuple[Printable, VersionSeal, ExpectedVersion], tmp_path: Path
) -> None:
    printable, seal, expected = signed
    path = tmp_path / f"b.{fmt}"
    write_export(printable, fmt, path)
    extracted = extract(path)
    assert claimed_version(extracted) == (1, seal.sha256)
    report = verify_extracted(extracted, expected)
    assert report.ok, report.problems
    assert report.signatures == 2


ALTER: dict[str, Callable[[Path, str, str], None]] = {
    "txt": alter_txt,
    "docx": alter_docx,
    "json": alter_json,
}


@pytest.mark.parametrize("fmt", ["txt", "docx", "json"])
def test_an_edited_line_is_named(
    fmt: str, signed: tuple[Printable, VersionSeal, ExpectedVersion], tmp_path: Path
) -> None:
    printable, _, expected = signed
    path = tmp_path / f"b.{fmt}"
    write_export(printable, fmt, path)
    ALTER[fmt](path, "被申请人不同意。", "被申请人同意。")
    report = verify_extracted(extract(path), expected)
    assert not report.ok
    assert any(
        "被申请人代理人：被申请人不同意。〔异议〕" in p and "被申请人同意。" in p for p in report.problems
    )


def test_an_edited_pdf_is_named(
    signed: tuple[Printable, VersionSeal, ExpectedVersion], tmp_path: Path
) -> None:
    printable, _, expected = signed
    path = tmp_path / "b.pdf"
    write_export(printable, "pdf", path)
    swap_first_pdf_glyphs(path)
    report = verify_extracted(extract(path), expected)
    assert not report.ok
    (problem,) = report.problems
    assert "第 1 段" in problem and "示范市" in problem and "范示市" in problem


def test_a_changed_hash_on_a_page_is_named(
    signed: tuple[Printable, VersionSeal, ExpectedVersion], tmp_path: Path
) -> None:
    printable, seal, expected = signed
    path = tmp_path / "b.txt"
    write_export(printable, "txt", path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1].replace(seal.sha256, "0" * 64)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = verify_extracted(extract(path), expected)
    assert any("lacks this version's hash" in p for p in report.problems)


def test_a_forged_or_moved_signature_line_is_caught(
    signed: tuple[Printable, VersionSeal, ExpectedVersion], tmp_path: Path
) -> None:
    printable, _, expected = signed
    path = tmp_path / "b.txt"
    write_export(printable, "txt", path)
    code = printable.signatures[0].seal_code
    alter_txt(path, "申请人 张伟：已签名", "申请人代理人 孙丽：已签名")
    report = verify_extracted(extract(path), expected)
    assert any("moved or altered" in p and code in p for p in report.problems)

    write_export(printable, "txt", path)
    alter_txt(
        path,
        "仲裁员 陈静：待签名",
        f"仲裁员 陈静：已签名，2026-12-01 09:20:00，登录确认，设备：PC，签章 {'1' * 16}",
    )
    report = verify_extracted(extract(path), expected)
    assert any("forged" in p and "仲裁员陈静" in p for p in report.problems)


def test_a_forged_or_moved_signature_in_the_record_is_caught(
    signed: tuple[Printable, VersionSeal, ExpectedVersion], tmp_path: Path
) -> None:
    printable, _, expected = signed
    path = tmp_path / "b.txt"
    write_export(printable, "txt", path)
    extracted = extract(path)
    first, second = printable.signatures
    renamed = dataclasses.replace(first, signer=dataclasses.replace(first.signer, name="李四"))
    moved = dataclasses.replace(second, version=2)
    for bad, word in ((renamed, "forged or altered"), (moved, "moved")):
        changed = dataclasses.replace(expected, signatures=(bad, second) if bad is renamed else (first, bad))
        problems = verify_extracted(extracted, changed).problems
        assert any(word in p for p in problems), problems


def test_json_structure_edits_are_named(
    signed: tuple[Printable, VersionSeal, ExpectedVersion], tmp_path: Path
) -> None:
    printable, _, expected = signed
    path = tmp_path / "b.json"
    write_export(printable, "json", path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["document"]["header"]["cause"] = "确认劳动关系争议"
    data["signatures"][0]["statement"]["device"] = "别的设备"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    problems = verify_extracted(extract(path), expected).problems
    assert any("document.header.cause" in p and "确认劳动关系争议" in p for p in problems)
    assert any("a signature in the JSON" in p for p in problems)


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="no such file"):
        extract(tmp_path / "none.pdf")
    bad = tmp_path / "b.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(ExtractError, match="cannot read"):
        extract(bad)
    other = tmp_path / "x.json"
    other.write_text('{"format": "something-else"}')
    with pytest.raises(ExtractError, match="not a court-bilu"):
        extract(other)
