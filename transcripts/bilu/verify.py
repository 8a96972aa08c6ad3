"""Checking an exported 笔录 against the hearing's record.

:func:`extract` reads the text back out of a PDF, DOCX, TXT or JSON export — the page bands (head
and foot) apart from the body — and :func:`verify_extracted` compares it with the locked version the
record holds: the version's hash on every page, the body block by block, and each printed signature
against the record's sealed signatures. :func:`check_record` checks the record itself: that the
version's blocks hash to its hash, and that the version and every signature carry a valid seal by
the server key — a signature moved to another version or signer, or forged, fails here.

PDF text comes back with its lines broken where they wrapped, so a PDF body is compared with all
whitespace removed; TXT, DOCX and JSON are compared paragraph by paragraph, exactly.
"""

from __future__ import annotations

import difflib
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transcripts.bilu.layout import (
    SIGNATURE_RECORD_MARK,
    Block,
    content_sha256,
    page_label,
    running_head,
    version_line,
)
from transcripts.bilu.model import Person
from transcripts.bilu.seal import key_id_of, verify_seal
from transcripts.bilu.signatures import (
    PrintedSignature,
    SignatureRecord,
    VersionSeal,
    parse_signature_record,
    squeeze,
)

FORMATS = ("pdf", "docx", "txt", "json")
MAX_REPORTED = 8
"""Differences listed before the rest are only counted."""


class ExtractError(Exception):
    """The file cannot be read as an exported 笔录."""


@dataclass(frozen=True)
class Extracted:
    format: str
    bands: tuple[str, ...]
    """Per page, the text of its head and foot (TXT: its head and foot lines; DOCX: per section)."""
    body: tuple[str, ...]
    """Paragraphs (TXT, DOCX, JSON) or text runs in reading order (PDF)."""
    data: Mapping[str, Any] | None = None
    """The parsed JSON export."""

    @property
    def exact(self) -> bool:
        return self.format != "pdf"

    def split(self) -> tuple[list[str], list[str]]:
        """(the hashed text, the signature record)."""
        body = list(self.body)
        if not self.exact:
            # PDF runs do not start at paragraph boundaries: cut the stream at the mark itself.
            stream = "".join(body)
            cut = stream.rfind(SIGNATURE_RECORD_MARK)
            return ([stream], []) if cut < 0 else ([stream[:cut]], [stream[cut:]])
        for index in range(len(body) - 1, -1, -1):
            if body[index].strip().startswith(SIGNATURE_RECORD_MARK):
                return body[:index], body[index:]
        return body, []


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    head = path.read_bytes()[:8]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK"):
        return "docx"
    if head.lstrip().startswith(b"{"):
        return "json"
    return "txt"


def extract(path: Path) -> Extracted:
    if not path.is_file():
        raise ExtractError(f"文件不存在 (no such file): {path}")
    kind = detect_format(path)
    try:
        if kind == "pdf":
            return _extract_pdf(path)
        if kind == "docx":
            return _extract_docx(path)
        if kind == "json":
            return _extract_json(path)
        return _extract_txt(path)
    except ExtractError:
        raise
    except Exception as exc:  # a damaged file of any kind: say so rather than crash
        raise ExtractError(f"无法读取 {kind.upper()} 文件 (cannot read {path} as {kind}): {exc}") from exc


def _extract_txt(path: Path) -> Extracted:
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) < 4:
        raise ExtractError("不是笔录文本 (too short to be an exported 笔录)")
    body = lines[1:-1]
    if body and not body[0].strip():
        body = body[1:]
    while body and not body[-1].strip():
        body.pop()
    # The one blank line before the signature record separates it; keep any other blank line, so
    # that an inserted one shows as a difference.
    for index in range(len(body) - 1, 0, -1):
        if body[index].startswith(SIGNATURE_RECORD_MARK) and not body[index - 1].strip():
            del body[index - 1]
            break
    return Extracted("txt", (lines[0], lines[-1]), tuple(body))


def _extract_docx(path: Path) -> Extracted:
    from docx import Document

    if not zipfile.is_zipfile(path):
        raise ExtractError("不是 DOCX 文件 (not a DOCX file)")
    doc = Document(str(path))
    bands = []
    for section in doc.sections:
        parts = [p.text for p in section.header.paragraphs] + [p.text for p in section.footer.paragraphs]
        bands.append("\n".join(parts))
    return Extracted("docx", tuple(bands), tuple(p.text for p in doc.paragraphs))


def _extract_pdf(path: Path) -> Extracted:
    from pypdf import PdfReader

    from transcripts.bilu.render_pdf import is_band

    reader = PdfReader(str(path))
    bands: list[str] = []
    body: list[str] = []
    for page in reader.pages:
        height = float(page.mediabox.height)
        band: list[str] = []

        def visit(text: str, cm: list[float], tm: list[float], font: Any, size: Any) -> None:
            if not text.strip():
                return
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            (band if is_band(y, height) else body).append(text)  # noqa: B023 - used at once

        page.extract_text(visitor_text=visit)
        bands.append("".join(band))
    return Extracted("pdf", tuple(bands), tuple(body))


def _extract_json(path: Path) -> Extracted:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExtractError(f"不是有效的 JSON (not valid JSON): {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != "court-bilu":
        raise ExtractError("不是笔录 JSON 导出 (not a court-bilu JSON export)")
    text = data.get("text")
    if not isinstance(text, list):
        raise ExtractError("JSON 导出缺少 text (the export has no text)")
    body = [str(item.get("text", "")) if isinstance(item, dict) else str(item) for item in text]
    body += [str(line) for line in data.get("signature_record", [])]
    version = data.get("version") or {}
    band = version_line(version.get("number"), version.get("sha256")) if version else version_line(None, None)
    return Extracted("json", (band,), tuple(body), data)


_CLAIM = re.compile(r"版本(\d+)SHA-256：([0-9a-f]{64})")


def claimed_version(extracted: Extracted) -> tuple[int | None, str | None]:
    """The version and hash the file says it is (from its first page band)."""
    for band in extracted.bands:
        match = _CLAIM.search(squeeze(band))
        if match:
            return int(match[1]), match[2]
    return None, None


@dataclass(frozen=True)
class ExpectedVersion:
    """What the record holds for a locked version."""

    seal: VersionSeal
    title: str
    blocks: tuple[Block, ...]
    signers: tuple[Person, ...]
    signatures: tuple[SignatureRecord, ...]
    document: Mapping[str, Any] | None = None
    public_keys: Mapping[str, bytes] = field(default_factory=dict)
    superseded: bool = False


@dataclass(frozen=True)
class VerifyReport:
    format: str
    version: int | None
    sha256: str | None
    problems: tuple[str, ...]
    signatures: int = 0
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def check_record(expected: ExpectedVersion) -> list[str]:
    """The record's own integrity: content hash, the version's seal, each signature's seal."""
    problems = []
    seal = expected.seal
    if content_sha256(expected.blocks) != seal.sha256:
        problems.append(
            f"记录中版本 {seal.version} 的文字与其校验码不符 (the stored text of version {seal.version} "
            f"hashes to {content_sha256(expected.blocks)}, not {seal.sha256})"
        )
    key = expected.public_keys.get(seal.key_id)
    if key is None:
        problems.append(
            f"记录中没有密钥 {seal.key_id} (the record lacks the server key that sealed the version)"
        )
    elif not verify_seal(key, seal.statement(), seal.seal):
        problems.append(
            f"版本 {seal.version} 的封印无效 (the version's seal does not verify: record altered)"
        )
    for record in expected.signatures:
        who = record.signer.label
        if record.version != seal.version or record.sha256 != seal.sha256:
            problems.append(
                f"{who} 的签名属于其他版本 (a signature of {who} belongs to version {record.version} "
                f"{record.sha256[:12]}…, not this one: moved)"
            )
            continue
        key = expected.public_keys.get(record.key_id)
        if key is None or not verify_seal(key, record.statement(), record.seal):
            problems.append(
                f"{who} 的签名封印无效 (the seal of {who}'s signature does not verify: forged or altered "
                "— signer, version, time or device changed)"
            )
        elif not record.image_matches():
            problems.append(
                f"{who} 的手写签名图像被替换 (the handwritten signature image of {who} was changed)"
            )
    return problems


def _snippet(text: str, start: int, length: int = 24) -> str:
    piece = text[max(0, start - 6) : start + length]
    return piece or "（无）"


def compare_blocks(expected: Sequence[str], found: Sequence[str], exact: bool) -> list[str]:
    if exact:
        return _compare_lines(list(expected), list(found))
    return _compare_stream(list(expected), list(found))


def _compare_lines(expected: list[str], found: list[str]) -> list[str]:
    problems = []
    matcher = difflib.SequenceMatcher(None, expected, found, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace":
            for k in range(max(i2 - i1, j2 - j1)):
                was = expected[i1 + k] if i1 + k < i2 else "（无）"
                now = found[j1 + k] if j1 + k < j2 else "（无）"
                problems.append(
                    f"第 {i1 + k + 1} 段被改动 (paragraph {i1 + k + 1} differs)："
                    f"记录为“{was}”，文件中为“{now}”"
                )
        elif tag == "delete":
            for k in range(i1, i2):
                problems.append(f"第 {k + 1} 段在文件中缺失 (paragraph {k + 1} is missing)：“{expected[k]}”")
        else:
            for k in range(j1, j2):
                problems.append(f"文件中多出一段 (an extra paragraph after {i1})：“{found[k]}”")
    return problems


def _compare_stream(expected: list[str], found: list[str]) -> list[str]:
    want = "".join(squeeze(line) for line in expected)
    got = "".join(squeeze(piece) for piece in found)
    if want == got:
        return []
    start = 0
    while start < min(len(want), len(got)) and want[start] == got[start]:
        start += 1
    tail = 0
    while tail < min(len(want), len(got)) - start and want[-1 - tail] == got[-1 - tail]:
        tail += 1
    position, paragraph = 0, len(expected)
    for index, line in enumerate(expected):
        position += len(squeeze(line))
        if position > start:
            paragraph = index + 1
            break
    return [
        f"第 {paragraph} 段起文字不同 (the text differs from paragraph {paragraph} on)："
        f"记录为“{_snippet(want, start, len(want) - tail - start + 6)}”，"
        f"文件中为“{_snippet(got, start, len(got) - tail - start + 6)}”"
    ]


def _check_bands(extracted: Extracted, expected: ExpectedVersion) -> list[str]:
    seal = expected.seal
    foot = squeeze(version_line(seal.version, seal.sha256))
    head = squeeze(running_head(seal.case_number, expected.title))
    problems = []
    pages = len(extracted.bands)
    for number, band in enumerate(extracted.bands, start=1):
        flat = squeeze(band)
        where = f"第 {number} 页 (page {number})" if extracted.format == "pdf" else "页眉页脚 (head/foot)"
        if foot not in flat:
            problems.append(f"{where}没有本版本的校验码 (lacks this version's hash)")
        if extracted.format != "json" and head not in flat:
            problems.append(f"{where}没有案号 {seal.case_number} (lacks the case number)")
        if extracted.format == "pdf" and squeeze(page_label(number, pages)) not in flat:
            problems.append(f"{where}页码不对 (its page number is not {number} of {pages})")
    return problems


def _check_printed(
    printed: Sequence[PrintedSignature], expected: ExpectedVersion, offset_minutes: int
) -> tuple[list[str], int]:
    from transcripts.bilu.layout import full_time

    problems = []
    by_code = {r.seal_code: r for r in expected.signatures}
    checked = 0
    for entry in printed:
        if entry.status == "pending":
            continue
        record = by_code.get(entry.seal_code)
        if record is None:
            problems.append(
                f"文件中 {entry.who} 的签名在记录中不存在 (the file shows a signature of {entry.who} "
                f"with seal {entry.seal_code} that the record does not hold: forged)"
            )
            continue
        checked += 1
        status = "refused" if record.refused else "signed"
        when = squeeze(full_time(record.at, offset_minutes))
        if squeeze(record.signer.label) != entry.who or status != entry.status or when != entry.time:
            problems.append(
                f"文件中 {entry.who} 的签名与记录不符 (the file shows seal {entry.seal_code} as "
                f"{entry.who} {entry.status} at {entry.time}; the record has {record.signer.label} "
                f"{status} at {when}: moved or altered)"
            )
    return problems, checked


def _check_json(data: Mapping[str, Any], expected: ExpectedVersion) -> list[str]:
    problems = []
    seal = expected.seal
    version = data.get("version") or {}
    for name, want in (("number", seal.version), ("sha256", seal.sha256), ("seal", seal.seal)):
        if version.get(name) != want:
            problems.append(f"JSON 的 version.{name} 与记录不符 (differs from the record)")
    kinds = [str(item.get("kind")) if isinstance(item, dict) else "" for item in data.get("text", [])]
    if kinds != [b.kind for b in expected.blocks]:
        problems.append("JSON 的 text 段落类型与记录不符 (the block kinds differ from the record)")
    if expected.document is not None and data.get("document") != expected.document:
        problems.extend(_diff_paths("document", expected.document, data.get("document")))
    by_seal = {r.seal: r for r in expected.signatures}
    for item in data.get("signatures", []):
        record = by_seal.get(str(item.get("seal")))
        if record is None or item.get("statement") != record.statement():
            problems.append(
                "JSON 中有一个签名在记录中不存在或被改动 (a signature in the JSON is not in the record "
                "as written: forged or altered)"
            )
    return problems


def _diff_paths(path: str, want: Any, got: Any, limit: int = MAX_REPORTED) -> list[str]:
    if want == got:
        return []
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        out: list[str] = []
        for key in sorted(set(want) | set(got), key=str):
            out += _diff_paths(f"{path}.{key}", want.get(key), got.get(key), limit - len(out))
            if len(out) >= limit:
                break
        return out
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        out = []
        for index, (a, b) in enumerate(zip(want, got, strict=True)):
            out += _diff_paths(f"{path}[{index}]", a, b, limit - len(out))
            if len(out) >= limit:
                break
        return out
    return [f"JSON 的 {path} 与记录不符 (differs from the record)：记录为 {want!r}，文件中为 {got!r}"]


def verify_extracted(
    extracted: Extracted, expected: ExpectedVersion, offset_minutes: int = 480
) -> VerifyReport:
    """Compare an export with the record's locked version; every difference is listed."""
    problems = check_record(expected)
    problems += _check_bands(extracted, expected)
    body, record_lines = extracted.split()
    differences = compare_blocks([b.text for b in expected.blocks], body, extracted.exact)
    if len(differences) > MAX_REPORTED:
        differences = [*differences[:MAX_REPORTED], f"……另有 {len(differences) - MAX_REPORTED} 处不同"]
    problems += differences
    if extracted.data is not None:
        problems += _check_json(extracted.data, expected)
    checked = 0
    notes = []
    if not record_lines:
        problems.append("文件缺少签署记录 (the signature record is missing)")
    else:
        version, sha, printed, leftover = parse_signature_record("\n".join(record_lines))
        if version != expected.seal.version or sha != expected.seal.sha256:
            problems.append("签署记录的版本与校验码不符 (the signature record names another version)")
        if leftover:
            problems.append(
                f"签署记录中有无法识别的文字 (unreadable text in the signature record)：“{leftover[:40]}”"
            )
        more, checked = _check_printed(printed, expected, offset_minutes)
        problems += more
    if expected.superseded:
        notes.append(
            f"注意：版本 {expected.seal.version} 之后已有更正，需签署新版本 "
            "(note: corrected after this version; a newer version must be signed)"
        )
    return VerifyReport(
        extracted.format, expected.seal.version, expected.seal.sha256, tuple(problems), checked, tuple(notes)
    )


def public_key_map(keys: Sequence[bytes]) -> dict[str, bytes]:
    return {key_id_of(key): key for key in keys}
