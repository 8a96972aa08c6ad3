"""The 笔录 as Akoma Ntoso 3.0 (OASIS LegalDocML) ``debate`` XML, for archives and case-management
systems that read legislative/judicial records.

Mapping: the header → ``preface``; each phase → ``debateSection`` (``name`` is the phase key); each
line → ``speech`` (``by`` the speaker's ``TLCPerson``, ``as`` their ``TLCRole``, ``from`` the role as
printed); notes (recesses, the discipline, evidence, refused corrections) → ``narrative``; the
signature page and record → ``conclusions``. The version number and content hash go into
``proprietary`` (namespace ``urn:court:bilu``) and the FRBR expression URI (``zho@v1``).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from transcripts.bilu.layout import Block
from transcripts.bilu.model import Note, Person, Speech
from transcripts.bilu.printable import Printable

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
BILU_NS = "urn:court:bilu"


def _q(tag: str) -> str:
    return f"{{{AKN_NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), attrs)
    if text is not None:
        element.text = text
    return element


def _person_id(role: str, name: str) -> str:
    return "person_" + hashlib.sha1(f"{role}|{name}".encode()).hexdigest()[:10]


def akoma_ntoso(printable: Printable, *, generated: datetime | None = None) -> ET.ElementTree[ET.Element]:
    document = printable.document
    if document is None:
        raise ValueError("an Akoma Ntoso export needs the structured document")
    ET.register_namespace("", AKN_NS)
    ET.register_namespace("bilu", BILU_NS)
    header = document.header
    day = (header.opened_at or generated or datetime.now(UTC)).date().isoformat()
    slug = "case-" + hashlib.sha1(header.case_number.encode()).hexdigest()[:10]
    work = f"/akn/cn/debate/{day}/{slug}"
    expression = f"{work}/zho@v{printable.version}" if printable.version else f"{work}/zho@draft"

    root = ET.Element(_q("akomaNtoso"))
    debate = _sub(root, "debate", name="bilu")
    meta = _sub(debate, "meta")
    ident = _sub(meta, "identification", source="#court")
    frbr = _sub(ident, "FRBRWork")
    _sub(frbr, "FRBRthis", value=f"{work}/!main")
    _sub(frbr, "FRBRuri", value=work)
    _sub(frbr, "FRBRalias", value=header.case_number, name="案号")
    _sub(frbr, "FRBRdate", date=day, name="hearing")
    _sub(frbr, "FRBRauthor", href="#commission")
    _sub(frbr, "FRBRcountry", value="cn")
    expr = _sub(ident, "FRBRExpression")
    _sub(expr, "FRBRthis", value=f"{expression}/!main")
    _sub(expr, "FRBRuri", value=expression)
    _sub(expr, "FRBRdate", date=day, name="hearing")
    _sub(expr, "FRBRauthor", href="#recorder")
    _sub(expr, "FRBRlanguage", language="zho")
    manifest = _sub(ident, "FRBRManifestation")
    _sub(manifest, "FRBRthis", value=f"{expression}/!main.xml")
    _sub(manifest, "FRBRuri", value=f"{expression}.akn")
    _sub(manifest, "FRBRdate", date=(generated or datetime.now(UTC)).date().isoformat(), name="generation")
    _sub(manifest, "FRBRauthor", href="#court")

    refs = _sub(meta, "references", source="#court")
    _sub(
        refs,
        "TLCOrganization",
        eId="commission",
        href="/ontology/organization/commission",
        showAs=header.commission,
    )
    _sub(refs, "TLCOrganization", eId="court", href="/ontology/organization/court", showAs="数字化仲裁庭")
    people: dict[str, Person | tuple[str, str]] = {}
    roles: dict[str, str] = {}
    for person in (*header.tribunal, *header.recorders, *(a.person for a in header.attendance)):
        people.setdefault(_person_id(person.role, person.name), person)
        roles.setdefault(person.role, person.role_label)
    for speech in document.speeches():
        people.setdefault(_person_id(speech.role, speech.speaker), (speech.role_label, speech.speaker))
        roles.setdefault(speech.role, speech.role_label)
    if header.recorders:
        recorder = header.recorders[0]
        _sub(refs, "TLCPerson", eId="recorder", href="/ontology/person/recorder", showAs=recorder.name)
    for eid, who in people.items():
        shown = who.name if isinstance(who, Person) else (who[1] or who[0])
        _sub(refs, "TLCPerson", eId=eid, href=f"/ontology/person/{eid}", showAs=shown)
    for role, label in roles.items():
        _sub(refs, "TLCRole", eId=f"role_{role}", href=f"/ontology/role/{role}", showAs=label)
    proprietary = _sub(meta, "proprietary", source="#court")
    ET.SubElement(
        proprietary,
        f"{{{BILU_NS}}}version",
        {
            "number": str(printable.version or ""),
            "sha256": printable.sha256 or "",
            "status": "locked" if printable.locked else "draft",
        },
    )

    preface = _sub(debate, "preface")
    texts = list(printable.blocks)
    for block in texts:
        if block.kind == "org":
            _sub(preface, "p", block.text, **{"class": "org"})
        elif block.kind == "title":
            _sub(_sub(preface, "p", **{"class": "title"}), "docTitle", block.text)
        elif block.kind == "meta":
            _sub(preface, "p", block.text)

    body = _sub(debate, "debateBody")
    headings = [b.text for b in texts if b.kind == "heading"]
    for number, section in enumerate(document.sections, start=1):
        element = _sub(body, "debateSection", eId=f"dbsect_{number}", name=section.phase)
        _sub(element, "heading", headings[number - 1] if number <= len(headings) else section.heading)
        for index, item in enumerate(section.items, start=1):
            if isinstance(item, Speech):
                spoken = _sub(
                    element,
                    "speech",
                    eId=f"dbsect_{number}__speech_{index}",
                    by=f"#{_person_id(item.role, item.speaker)}",
                    **{"as": f"#role_{item.role}"},
                )
                _sub(spoken, "from", item.role_label)
                marks = "".join(f"〔{m}〕" for m in item.marks)
                _sub(spoken, "p", item.text + marks)
            elif isinstance(item, Note):
                narrative = _sub(element, "narrative", eId=f"dbsect_{number}__narrative_{index}")
                _sub(narrative, "p", f"（{item.text}）")

    conclusions = _sub(debate, "conclusions")
    tail: list[Block] = []
    for block in reversed(texts):
        if block.kind == "heading":
            tail.append(block)
            break
        tail.append(block)
    for block in (*reversed(tail), *printable.record_blocks()):
        _sub(conclusions, "p", block.text)
    ET.indent(root)
    return ET.ElementTree(root)


def write_akn(printable: Printable, path: Path) -> None:
    akoma_ntoso(printable).write(path, encoding="utf-8", xml_declaration=True)
