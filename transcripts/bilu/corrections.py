"""The clerk's corrections to the recognized lines, replayed in order into the lines of the 笔录.

Each correction is a plain value (:class:`EditText`, :class:`EditRole`, :class:`Merge`, :class:`Split`,
:class:`Mark`, :class:`Unmark`, :class:`AddLine`) wrapped in a :class:`Correction` that says who made
it, when and in which order. :func:`apply_corrections` checks each against the lines as they stand
at that point and keeps, per line, the history of every change (before and after) and the first
recognized text, which is never overwritten. Parties' requests for a correction and the clerk's
decision on them (办案规则 Art. 42) replay in the same order, so a refused request stays attached to
the line it was about, even after that line was merged into another.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from transcripts.bilu.model import HistoryEntry

MARKS = ("补充", "异议", "待核")
"""补充 supplement, 异议 objection, 待核 to be checked against the recording."""


class CorrectionError(ValueError):
    """A correction that does not apply to the lines as they stand; nothing was changed."""


@dataclass(frozen=True, slots=True)
class RecognizedLine:
    """A line as recognition produced it (from an ``utterance`` event)."""

    line_id: str
    role: str
    role_label: str
    text: str
    start: float
    end: float
    speaker: str = ""
    participant_id: int | None = None
    source: str = ""
    confidence: float | None = None
    uncertain: tuple[tuple[int, int], ...] = ()
    """Spans of ``text`` the recognizer was unsure of."""


def parse_spans(value: object) -> tuple[tuple[int, int], ...]:
    """``[[start, end], …]`` from an event payload; anything malformed is dropped."""
    if not isinstance(value, list):
        return ()
    out = []
    for item in value:
        if (
            isinstance(item, list | tuple)
            and len(item) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
            and 0 <= item[0] < item[1]
        ):
            out.append((int(item[0]), int(item[1])))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class EditText:
    line_id: str
    text: str


@dataclass(frozen=True, slots=True)
class EditRole:
    line_id: str
    role: str
    role_label: str
    speaker: str = ""
    participant_id: int | None = None


@dataclass(frozen=True, slots=True)
class Merge:
    line_ids: tuple[str, ...]
    """Consecutive lines of one role, in order; the first keeps its id."""


@dataclass(frozen=True, slots=True)
class Split:
    line_id: str
    offset: int
    """Characters of the current text that stay in the first line."""
    new_line_id: str


@dataclass(frozen=True, slots=True)
class Mark:
    line_id: str
    mark: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Unmark:
    line_id: str
    mark: str


@dataclass(frozen=True, slots=True)
class AddLine:
    """A line recognition missed, typed by the clerk (e.g. 补充)."""

    new_line_id: str
    role: str
    role_label: str
    text: str
    start: float
    speaker: str = ""
    participant_id: int | None = None


Change = EditText | EditRole | Merge | Split | Mark | Unmark | AddLine


@dataclass(frozen=True, slots=True)
class Correction:
    seq: int
    """Order in the hearing record (the timeline event number)."""
    actor: str
    at: datetime
    change: Change
    reason: str = ""
    request_id: int | None = None
    """The party's request this correction carries out, if any."""


@dataclass(frozen=True, slots=True)
class CorrectionRequest:
    """A party asks for a line to be corrected (办案规则 Art. 42)."""

    request_id: int
    """Its order in the hearing record (the timeline event number)."""
    line_id: str
    requested_by: str
    """How the 笔录 names the requester, e.g. ``申请人 张伟``."""
    proposed_text: str
    at: datetime
    reason: str = ""
    participant_id: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    seq: int
    request_id: int
    accepted: bool
    actor: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    request: CorrectionRequest
    line_id: str
    """The line it is about now (after merges)."""
    text_then: str
    """The line's text when the request was made."""
    decision: Decision | None = None

    @property
    def status(self) -> str:
        if self.decision is None:
            return "pending"
        return "accepted" if self.decision.accepted else "refused"


@dataclass(frozen=True, slots=True)
class Line:
    line_id: str
    role: str
    role_label: str
    speaker: str
    text: str
    start: float
    end: float
    recognized: str
    """First recognized text; "" for a line the clerk added or split off."""
    participant_id: int | None = None
    marks: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    merged: tuple[tuple[str, str], ...] = ()
    merged_into: str | None = None
    source: str = ""
    confidence: float | None = None
    uncertain: tuple[tuple[int, int], ...] = ()
    """Spans of ``recognized`` the recognizer was unsure of; they mark ``text`` while it is unchanged."""

    @property
    def corrected(self) -> bool:
        return bool(self.history)

    @property
    def marked_uncertain(self) -> tuple[tuple[int, int], ...]:
        """The unsure spans of the text as it stands (none once the clerk has rewritten it)."""
        if self.text != self.recognized:
            return ()
        return tuple((a, b) for a, b in self.uncertain if 0 <= a < b <= len(self.text))


@dataclass(frozen=True, slots=True)
class Transcript:
    lines: tuple[Line, ...]
    """The lines of the 笔录, in spoken order."""
    retired: tuple[Line, ...] = ()
    """Lines merged into another: kept with their first recognized text and history."""
    requests: tuple[RequestOutcome, ...] = ()
    rejected: tuple[tuple[int, str], ...] = ()
    """Corrections that did not apply when replayed leniently: (seq, why)."""

    def line(self, line_id: str) -> Line:
        for line in (*self.lines, *self.retired):
            if line.line_id == line_id:
                return line
        raise CorrectionError(f"第 {line_id} 行不存在 (no line {line_id!r})")

    def pending_requests(self) -> list[RequestOutcome]:
        return [r for r in self.requests if r.decision is None]


@dataclass
class _State:
    lines: dict[str, Line] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    requests: dict[int, RequestOutcome] = field(default_factory=dict)
    allowed_marks: tuple[str, ...] = MARKS

    def active(self) -> list[Line]:
        live = [line for line in self.lines.values() if line.merged_into is None]
        return sorted(live, key=lambda line: (line.start, self.created[line.line_id]))

    def get(self, line_id: str) -> Line:
        line = self.lines.get(line_id)
        if line is None:
            raise CorrectionError(f"第 {line_id} 行不存在 (no line {line_id!r})")
        if line.merged_into is not None:
            raise CorrectionError(
                f"第 {line_id} 行已并入第 {line.merged_into} 行 "
                f"(line {line_id!r} was merged into {line.merged_into!r})"
            )
        return line

    def resolve(self, line_id: str) -> str:
        """Follow merges to the line that holds this one's text now."""
        seen = set()
        while line_id in self.lines and self.lines[line_id].merged_into is not None:
            if line_id in seen:
                break
            seen.add(line_id)
            line_id = self.lines[line_id].merged_into or line_id
        return line_id

    def add(self, line: Line) -> None:
        if line.line_id in self.lines:
            raise CorrectionError(f"行号 {line.line_id} 已被使用 (line id {line.line_id!r} is taken)")
        self.created[line.line_id] = len(self.created)
        self.lines[line.line_id] = line


def clean_text(text: str) -> str:
    """NFC, surrounding whitespace stripped: the 笔录's hash is over exact characters."""
    return unicodedata.normalize("NFC", text).strip()


def _entry(c: Correction, kind: str, before: str, after: str) -> HistoryEntry:
    return HistoryEntry(c.seq, c.actor, c.at, kind, before, after, c.reason, c.request_id)


def _with_history(line: Line, entry: HistoryEntry, **changes: Any) -> Line:
    return replace(line, history=(*line.history, entry), **changes)


def _apply(state: _State, c: Correction) -> None:
    change = c.change
    if isinstance(change, EditText):
        line = state.get(change.line_id)
        text = clean_text(change.text)
        if not text:
            raise CorrectionError("更正后的文字为空 (the corrected text is empty; to drop a line, mark it)")
        if text == line.text:
            raise CorrectionError(f"第 {line.line_id} 行文字未改变 (the text is unchanged)")
        state.lines[line.line_id] = _with_history(line, _entry(c, "text", line.text, text), text=text)
    elif isinstance(change, EditRole):
        line = state.get(change.line_id)
        if not change.role.strip() or not change.role_label.strip():
            raise CorrectionError("角色为空 (the role is empty)")
        if change.role == line.role and change.speaker == line.speaker:
            raise CorrectionError(f"第 {line.line_id} 行角色未改变 (the role is unchanged)")
        before = f"{line.role_label} {line.speaker}".strip()
        after = f"{change.role_label} {change.speaker}".strip()
        state.lines[line.line_id] = _with_history(
            line,
            _entry(c, "role", before, after),
            role=change.role,
            role_label=change.role_label,
            speaker=change.speaker,
            participant_id=change.participant_id,
        )
    elif isinstance(change, Merge):
        _merge(state, c, change)
    elif isinstance(change, Split):
        line = state.get(change.line_id)
        if not 0 < change.offset < len(line.text):
            raise CorrectionError(
                f"拆分位置 {change.offset} 不在第 {line.line_id} 行文字之内 "
                f"(split offset must be between 1 and {len(line.text) - 1})"
            )
        first, second = line.text[: change.offset].strip(), line.text[change.offset :].strip()
        if not first or not second:
            raise CorrectionError("拆分后有一行为空 (a part of the split would be empty)")
        cut = line.start + (line.end - line.start) * change.offset / len(line.text)
        state.add(
            Line(
                line_id=change.new_line_id,
                role=line.role,
                role_label=line.role_label,
                speaker=line.speaker,
                participant_id=line.participant_id,
                text=second,
                start=cut,
                end=line.end,
                recognized="",
                history=(_entry(c, "split_from", line.line_id, second),),
                source=line.source,
            )
        )
        state.lines[line.line_id] = _with_history(
            line, _entry(c, "split", line.text, first), text=first, end=cut
        )
    elif isinstance(change, Mark):
        line = state.get(change.line_id)
        if change.mark not in state.allowed_marks:
            raise CorrectionError(
                f"未知标记 {change.mark!r} (unknown mark; one of {', '.join(state.allowed_marks)})"
            )
        if change.mark in line.marks:
            raise CorrectionError(f"第 {line.line_id} 行已标记为{change.mark} (already marked)")
        after = change.mark + (f"：{change.note.strip()}" if change.note.strip() else "")
        state.lines[line.line_id] = _with_history(
            line, _entry(c, "mark", "、".join(line.marks), after), marks=(*line.marks, change.mark)
        )
    elif isinstance(change, Unmark):
        line = state.get(change.line_id)
        if change.mark not in line.marks:
            raise CorrectionError(f"第 {line.line_id} 行没有标记{change.mark} (not marked {change.mark})")
        marks = tuple(m for m in line.marks if m != change.mark)
        state.lines[line.line_id] = _with_history(
            line, _entry(c, "unmark", "、".join(line.marks), "、".join(marks)), marks=marks
        )
    elif isinstance(change, AddLine):
        text = clean_text(change.text)
        if not text:
            raise CorrectionError("新增行文字为空 (the added line is empty)")
        if not change.role.strip() or not change.role_label.strip():
            raise CorrectionError("新增行没有角色 (the added line needs a role)")
        state.add(
            Line(
                line_id=change.new_line_id,
                role=change.role,
                role_label=change.role_label,
                speaker=change.speaker,
                participant_id=change.participant_id,
                text=text,
                start=change.start,
                end=change.start,
                recognized="",
                history=(_entry(c, "add", "", text),),
            )
        )
    else:  # pragma: no cover - the union is closed
        raise CorrectionError(f"unknown correction {change!r}")


def _merge(state: _State, c: Correction, change: Merge) -> None:
    ids = list(change.line_ids)
    if len(ids) < 2 or len(set(ids)) != len(ids):
        raise CorrectionError("合并需要至少两个不同的行 (a merge needs two or more distinct lines)")
    lines = [state.get(i) for i in ids]
    order = [line.line_id for line in state.active()]
    positions = [order.index(i) for i in ids]
    if positions != list(range(positions[0], positions[0] + len(ids))):
        raise CorrectionError(
            "只能按顺序合并相邻的行 (only consecutive lines can be merged, in their order: "
            + ", ".join(order[min(positions) : max(positions) + 1])
            + ")"
        )
    if len({line.role for line in lines}) != 1 or len({line.speaker for line in lines}) != 1:
        raise CorrectionError(
            "不同发言人的行不能合并，请先更正角色 (lines of different speakers cannot be merged; "
            "correct the role first)"
        )
    first = lines[0]
    text = "".join(line.text for line in lines)
    merged = tuple((line.line_id, line.recognized) for line in lines[1:])
    for other in lines[1:]:
        merged += other.merged
        state.lines[other.line_id] = _with_history(
            other, _entry(c, "merged_into", other.text, first.line_id), merged_into=first.line_id
        )
    state.lines[first.line_id] = _with_history(
        first,
        _entry(c, "merge", "\n".join(line.text for line in lines), text),
        text=text,
        end=max(line.end for line in lines),
        marks=tuple(dict.fromkeys(m for line in lines for m in line.marks)),
        merged=first.merged + merged,
    )


def apply_corrections(
    recognized: Sequence[RecognizedLine],
    corrections: Iterable[Correction] = (),
    requests: Iterable[CorrectionRequest] = (),
    decisions: Iterable[Decision] = (),
    *,
    strict: bool = True,
    allowed_marks: tuple[str, ...] = MARKS,
) -> Transcript:
    """Replay corrections, requests and decisions in record order onto the recognized lines.

    ``strict`` raises :class:`CorrectionError` on the first correction that does not apply (use it to
    check a new correction before recording it); otherwise such a correction is skipped and listed in
    :attr:`Transcript.rejected`, so one bad record never hides the rest of the 笔录.
    """
    state = _State(allowed_marks=allowed_marks)
    for r in recognized:
        state.add(
            Line(
                line_id=r.line_id,
                role=r.role,
                role_label=r.role_label,
                speaker=r.speaker,
                participant_id=r.participant_id,
                text=clean_text(r.text),
                start=r.start,
                end=r.end,
                recognized=clean_text(r.text),
                source=r.source,
                confidence=r.confidence,
                uncertain=r.uncertain if clean_text(r.text) == r.text else (),
            )
        )
    steps: list[tuple[int, Correction | CorrectionRequest | Decision]] = [
        *((c.seq, c) for c in corrections),
        *((r.request_id, r) for r in requests),
        *((d.seq, d) for d in decisions),
    ]
    rejected: list[tuple[int, str]] = []
    for seq, step in sorted(steps, key=lambda s: s[0]):
        try:
            if isinstance(step, Correction):
                if step.request_id is not None and step.request_id not in state.requests:
                    raise CorrectionError(f"更正申请 {step.request_id} 不存在 (no such request)")
                _apply(state, step)
            elif isinstance(step, CorrectionRequest):
                _request(state, step)
            else:
                _decide(state, step)
        except CorrectionError as exc:
            if strict:
                raise
            rejected.append((seq, str(exc)))
    active_ids = {line.line_id for line in state.active()}
    outcomes = tuple(replace(o, line_id=state.resolve(o.line_id)) for _, o in sorted(state.requests.items()))
    return Transcript(
        lines=tuple(state.active()),
        retired=tuple(line for line in state.lines.values() if line.line_id not in active_ids),
        requests=outcomes,
        rejected=tuple(rejected),
    )


def _request(state: _State, request: CorrectionRequest) -> None:
    if request.request_id in state.requests:
        raise CorrectionError(f"更正申请 {request.request_id} 重复 (duplicate request id)")
    line = state.get(state.resolve(request.line_id))
    if not clean_text(request.proposed_text):
        raise CorrectionError("更正申请没有写明更正内容 (the request proposes no text)")
    state.requests[request.request_id] = RequestOutcome(request, line.line_id, line.text)


def _decide(state: _State, decision: Decision) -> None:
    outcome = state.requests.get(decision.request_id)
    if outcome is None:
        raise CorrectionError(f"更正申请 {decision.request_id} 不存在 (no such request)")
    if outcome.decision is not None:
        raise CorrectionError(f"更正申请 {decision.request_id} 已经处理 (already decided: {outcome.status})")
    if not decision.accepted and not decision.reason.strip():
        raise CorrectionError("不予更正需要写明理由 (a refusal needs a reason for the record)")
    state.requests[decision.request_id] = replace(outcome, decision=decision)
