"""The 笔录's text, block by block, shared by every export so they all say exactly the same thing.

:func:`document_blocks` turns a :class:`~transcripts.bilu.model.BiluDocument` into blocks (one
paragraph each). The frozen version of a 笔录 *is* its blocks: their text joined by newlines is the
canonical text whose SHA-256 is the version's content hash, printed on every page. Exports render
those stored blocks, never re-derive them, so a version exported again years later (by newer code)
still says the same thing and still verifies.

Running heads (case number, page numbers, the hash) and the signature record that follows the
signature page are not part of the hashed text: the first repeats per page, the second grows as
people sign and is checked against the record's sealed signatures instead.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from transcripts.bilu.model import AttendanceEntry, BiluDocument, Note, Person, Speech

SIGNATURE_PAGE_HEADING = "签名页"
"""Starts the signature page (on a page of its own in DOCX and PDF)."""
SIGNATURE_RECORD_MARK = "【签署记录】"
"""Starts the (unhashed) signature record after the signature page."""

METHOD_LABELS = {"face": "人脸核验通过", "clerk": "书记员核对"}
SIGN_METHOD_LABELS = {"handwritten": "手写签名", "login": "登录确认", "face": "人脸核验"}

BLOCK_KINDS = ("org", "title", "meta", "heading", "speech", "note", "statement", "signer")


@dataclass(frozen=True, slots=True)
class Block:
    kind: str
    """One of :data:`BLOCK_KINDS`: decides the style, never the text."""
    text: str


def _tz(offset_minutes: int) -> timezone:
    return timezone(timedelta(minutes=offset_minutes))


def clock_time(at: datetime, offset_minutes: int) -> str:
    return at.astimezone(_tz(offset_minutes)).strftime("%H:%M:%S")


def full_time(at: datetime, offset_minutes: int) -> str:
    return at.astimezone(_tz(offset_minutes)).strftime("%Y-%m-%d %H:%M:%S")


def chinese_date_time(at: datetime, offset_minutes: int) -> str:
    local = at.astimezone(_tz(offset_minutes))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}"


_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 23 → 二十三 (section numbers)."""
    if n <= 0 or n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def _who(person: Person) -> str:
    org = f"（{person.organization}）" if person.organization else ""
    return f"{person.label}{org}"


def attendance_text(entry: AttendanceEntry, offset_minutes: int) -> str:
    who = _who(entry.person)
    if not entry.present:
        return f"{who} 未到庭" + (f"（{entry.note}）" if entry.note else "")
    how = METHOD_LABELS.get(entry.method, entry.method)
    if entry.remote:
        how = f"远程参加，{how}"
    when = f"于 {clock_time(entry.at, offset_minutes)} " if entry.at else ""
    return f"{who} {when}到庭（{how}）"


def speech_text(speech: Speech) -> str:
    """``首席仲裁员：现在开庭。`` — the role, a full-width colon, the words; marks follow in 〔〕."""
    marks = "".join(f"〔{m}〕" for m in speech.marks)
    return f"{speech.role_label}：{speech.text}{marks}"


def document_blocks(document: BiluDocument) -> tuple[Block, ...]:
    h = document.header
    offset = document.utc_offset_minutes
    blocks = (
        [Block("org", h.commission), Block("title", h.title)] if h.commission else [Block("title", h.title)]
    )
    blocks.append(Block("meta", f"案号：{h.case_number}"))
    blocks.append(Block("meta", f"案由：{h.cause}"))
    verb = "调解" if h.title.startswith("调解") else "开庭"
    if h.opened_at is not None:
        end = f" 至 {clock_time(h.closed_at, offset)}" if h.closed_at else ""
        blocks.append(Block("meta", f"{verb}时间：{chinese_date_time(h.opened_at, offset)}{end}"))
    else:
        blocks.append(Block("meta", f"{verb}时间：未{verb}"))
    blocks.append(Block("meta", f"{verb}地点：{h.place}"))
    if h.tribunal:
        parts: dict[str, list[str]] = {}
        for person in h.tribunal:
            parts.setdefault(person.role_label, []).append(person.name)
        blocks.append(
            Block("meta", "仲裁庭组成：" + "，".join(f"{r} {'、'.join(n)}" for r, n in parts.items()))
        )
    if h.recorders:
        blocks.append(Block("meta", "记录人：" + "、".join(p.label for p in h.recorders)))
    if h.attendance:
        blocks.append(Block("meta", "当事人及其他参加人到庭情况："))
        blocks.extend(Block("meta", attendance_text(a, offset)) for a in h.attendance)
    for number, section in enumerate(document.sections, start=1):
        blocks.append(Block("heading", f"{chinese_number(number)}、{section.heading}"))
        for item in section.items:
            if isinstance(item, Speech):
                blocks.append(Block("speech", speech_text(item)))
            elif isinstance(item, Note):
                blocks.append(Block("note", f"（{item.text}）"))
    blocks.append(Block("heading", SIGNATURE_PAGE_HEADING))
    blocks.append(
        Block(
            "statement",
            "以上笔录经签名人核对。签名所确认的是本版本笔录，其版本号与 SHA-256 校验码印于每页页脚。",
        )
    )
    blocks.extend(Block("signer", f"{p.role_label}（签名）：{p.name}") for p in document.signers)
    return tuple(Block(b.kind, unicodedata.normalize("NFC", b.text)) for b in blocks)


def canonical_text(blocks: Sequence[Block]) -> str:
    """The hashed text: each block's text on its own line, NFC, ending with a newline."""
    return "".join(unicodedata.normalize("NFC", b.text) + "\n" for b in blocks)


def content_sha256(blocks: Sequence[Block]) -> str:
    return hashlib.sha256(canonical_text(blocks).encode("utf-8")).hexdigest()


def blocks_to_json(blocks: Sequence[Block]) -> list[dict[str, str]]:
    return [{"kind": b.kind, "text": b.text} for b in blocks]


def blocks_from_json(raw: Sequence[dict[str, str]]) -> tuple[Block, ...]:
    blocks = []
    for item in raw:
        if item.get("kind") not in BLOCK_KINDS or not isinstance(item.get("text"), str):
            raise ValueError(f"not a 笔录 block: {item!r}")
        blocks.append(Block(item["kind"], item["text"]))
    return tuple(blocks)


def running_head(case_number: str, title: str) -> str:
    return f"案号：{case_number}　{title}"


def page_label(page: int, pages: int) -> str:
    return f"第 {page} 页 共 {pages} 页"


def version_line(version: int | None, sha256: str | None) -> str:
    """The footer every page carries: the frozen version and its content hash (or that it is a draft)."""
    if version is None or sha256 is None:
        return "草稿（未锁定，不能作为签署文本）"
    return f"版本 {version}　SHA-256：{sha256}"
