"""The 笔录 as plain values: who took part, what was said in which phase, and who must sign.

Everything here is a frozen dataclass built from plain inputs (see :mod:`transcripts.bilu.build`);
nothing knows about the store. :func:`document_to_dict` / :func:`document_from_dict` give the JSON
form that a locked version is stored and exported as (described in :mod:`transcripts.bilu.json_form`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_UTC_OFFSET_MINUTES = 480
"""The 笔录 shows local time; China keeps UTC+8 all year (no daylight saving)."""


@dataclass(frozen=True, slots=True)
class Person:
    """A participant as the 笔录 names them."""

    role: str
    """Machine role, e.g. ``applicant`` (the store's role value)."""
    role_label: str
    """How the 笔录 prefixes their lines, e.g. 申请人."""
    name: str
    organization: str = ""
    participant_id: int | None = None

    @property
    def label(self) -> str:
        """``申请人 张伟`` — role and name, as in attendance and signature lines."""
        return f"{self.role_label} {self.name}".strip()


@dataclass(frozen=True, slots=True)
class AttendanceEntry:
    person: Person
    present: bool
    at: datetime | None = None
    """Wall time (aware) of arrival, or of the absence being recorded."""
    method: str = "clerk"
    """``face`` (face check passed) or ``clerk`` (the clerk checked identity); other values print as given."""
    similarity: float | None = None
    remote: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class Header:
    commission: str
    """仲裁委员会."""
    title: str
    """庭审笔录 or 调解笔录."""
    case_number: str
    cause: str
    place: str
    opened_at: datetime | None
    closed_at: datetime | None
    tribunal: tuple[Person, ...]
    recorders: tuple[Person, ...]
    attendance: tuple[AttendanceEntry, ...]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change to a line: who, when, before and after."""

    seq: int
    """The correction's position in the hearing record (its timeline event number)."""
    actor: str
    at: datetime
    kind: str
    """``text``, ``role``, ``merge``, ``merged_into``, ``split``, ``split_from``, ``mark``, ``unmark``
    or ``add``."""
    before: str
    after: str
    reason: str = ""
    request_id: int | None = None


@dataclass(frozen=True, slots=True)
class Speech:
    """One line of the hearing, prefixed by its role in the 笔录."""

    line_id: str
    role: str
    role_label: str
    speaker: str
    text: str
    start: float
    """Hearing-clock seconds: where to play the recording back when a line is disputed."""
    end: float
    marks: tuple[str, ...] = ()
    recognized: str = ""
    """The first recognized text of this line, never lost ("" for a line the clerk added)."""
    history: tuple[HistoryEntry, ...] = ()
    merged: tuple[tuple[str, str], ...] = ()
    """Lines merged into this one: (line id, their first recognized text)."""


@dataclass(frozen=True, slots=True)
class Note:
    """A bracketed entry of the record that nobody said: a recess, the evidence shown, a refused request."""

    kind: str
    text: str
    t: float
    line_id: str | None = None
    """The line a note belongs to (a refused correction request), if any."""


Item = Speech | Note


@dataclass(frozen=True, slots=True)
class Section:
    phase: str
    """``preparation``, ``opening``, ``investigation``, ``evidence``, ``debate``, ``final_statements``,
    ``mediation`` or ``closing``."""
    heading: str
    items: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class BiluDocument:
    header: Header
    sections: tuple[Section, ...]
    signers: tuple[Person, ...]
    utc_offset_minutes: int = DEFAULT_UTC_OFFSET_MINUTES
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Free-form facts for machine-readable exports (never printed)."""

    def speeches(self) -> list[Speech]:
        return [item for section in self.sections for item in section.items if isinstance(item, Speech)]


# -- JSON form --------------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds") if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def person_to_dict(person: Person) -> dict[str, Any]:
    return {
        "role": person.role,
        "role_label": person.role_label,
        "name": person.name,
        "organization": person.organization,
        "participant_id": person.participant_id,
    }


def person_from_dict(raw: Mapping[str, Any]) -> Person:
    pid = raw.get("participant_id")
    return Person(
        role=str(raw["role"]),
        role_label=str(raw["role_label"]),
        name=str(raw["name"]),
        organization=str(raw.get("organization", "")),
        participant_id=int(pid) if pid is not None else None,
    )


def history_to_dict(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "actor": entry.actor,
        "at": _time(entry.at),
        "kind": entry.kind,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "request_id": entry.request_id,
    }


def history_from_dict(raw: Mapping[str, Any]) -> HistoryEntry:
    at = _parse_time(raw["at"])
    assert at is not None
    rid = raw.get("request_id")
    return HistoryEntry(
        seq=int(raw["seq"]),
        actor=str(raw["actor"]),
        at=at,
        kind=str(raw["kind"]),
        before=str(raw["before"]),
        after=str(raw["after"]),
        reason=str(raw.get("reason", "")),
        request_id=int(rid) if rid is not None else None,
    )


def _item_to_dict(item: Item) -> dict[str, Any]:
    if isinstance(item, Speech):
        return {
            "type": "speech",
            "line_id": item.line_id,
            "role": item.role,
            "role_label": item.role_label,
            "speaker": item.speaker,
            "text": item.text,
            "start": round(item.start, 3),
            "end": round(item.end, 3),
            "marks": list(item.marks),
            "recognized": item.recognized,
            "history": [history_to_dict(h) for h in item.history],
            "merged": [{"line_id": lid, "recognized": text} for lid, text in item.merged],
        }
    return {
        "type": "note",
        "kind": item.kind,
        "text": item.text,
        "t": round(item.t, 3),
        "line_id": item.line_id,
    }


def _item_from_dict(raw: Mapping[str, Any]) -> Item:
    if raw["type"] == "speech":
        return Speech(
            line_id=str(raw["line_id"]),
            role=str(raw["role"]),
            role_label=str(raw["role_label"]),
            speaker=str(raw.get("speaker", "")),
            text=str(raw["text"]),
            start=float(raw["start"]),
            end=float(raw["end"]),
            marks=tuple(str(m) for m in raw.get("marks", ())),
            recognized=str(raw.get("recognized", "")),
            history=tuple(history_from_dict(h) for h in raw.get("history", ())),
            merged=tuple((str(m["line_id"]), str(m["recognized"])) for m in raw.get("merged", ())),
        )
    if raw["type"] == "note":
        lid = raw.get("line_id")
        return Note(kind=str(raw["kind"]), text=str(raw["text"]), t=float(raw["t"]), line_id=lid)
    raise ValueError(f"unknown item type {raw['type']!r}")


def document_to_dict(document: BiluDocument) -> dict[str, Any]:
    h = document.header
    return {
        "header": {
            "commission": h.commission,
            "title": h.title,
            "case_number": h.case_number,
            "cause": h.cause,
            "place": h.place,
            "opened_at": _time(h.opened_at),
            "closed_at": _time(h.closed_at),
            "tribunal": [person_to_dict(p) for p in h.tribunal],
            "recorders": [person_to_dict(p) for p in h.recorders],
            "attendance": [
                {
                    "person": person_to_dict(a.person),
                    "present": a.present,
                    "at": _time(a.at),
                    "method": a.method,
                    "similarity": a.similarity,
                    "remote": a.remote,
                    "note": a.note,
                }
                for a in h.attendance
            ],
        },
        "sections": [
            {"phase": s.phase, "heading": s.heading, "items": [_item_to_dict(i) for i in s.items]}
            for s in document.sections
        ],
        "signers": [person_to_dict(p) for p in document.signers],
        "utc_offset_minutes": document.utc_offset_minutes,
        "extra": dict(document.extra),
    }


def document_from_dict(raw: Mapping[str, Any]) -> BiluDocument:
    """Read :func:`document_to_dict`'s form back; raises ``ValueError``/``KeyError`` on a malformed one."""
    h = raw["header"]
    header = Header(
        commission=str(h["commission"]),
        title=str(h["title"]),
        case_number=str(h["case_number"]),
        cause=str(h["cause"]),
        place=str(h["place"]),
        opened_at=_parse_time(h.get("opened_at")),
        closed_at=_parse_time(h.get("closed_at")),
        tribunal=tuple(person_from_dict(p) for p in h["tribunal"]),
        recorders=tuple(person_from_dict(p) for p in h["recorders"]),
        attendance=tuple(
            AttendanceEntry(
                person=person_from_dict(a["person"]),
                present=bool(a["present"]),
                at=_parse_time(a.get("at")),
                method=str(a.get("method", "clerk")),
                similarity=float(a["similarity"]) if a.get("similarity") is not None else None,
                remote=bool(a.get("remote", False)),
                note=str(a.get("note", "")),
            )
            for a in h["attendance"]
        ),
    )
    sections = tuple(
        Section(
            phase=str(s["phase"]),
            heading=str(s["heading"]),
            items=tuple(_item_from_dict(i) for i in s["items"]),
        )
        for s in raw["sections"]
    )
    return BiluDocument(
        header=header,
        sections=sections,
        signers=tuple(person_from_dict(p) for p in raw["signers"]),
        utc_offset_minutes=int(raw.get("utc_offset_minutes", DEFAULT_UTC_OFFSET_MINUTES)),
        extra=dict(raw.get("extra", {})),
    )
