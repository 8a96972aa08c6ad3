from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.transcripts.bilu.samples import sealed
from transcripts.bilu.akn import AKN_NS, BILU_NS, write_akn
from transcripts.bilu.seal import ServerKey

NS = {"akn": AKN_NS, "bilu": BILU_NS}


def test_akoma_ntoso_debate_with_speeches_by_role(tmp_path: Path) -> None:
    printable, seal = sealed(ServerKey.generate())
    path = tmp_path / "b.xml"
    write_akn(printable, path)
    root = ET.parse(path).getroot()
    assert root.tag == f"{{{AKN_NS}}}akomaNtoso"
    debate = root.find("akn:debate", NS)
    assert debate is not None
    sections = debate.findall("akn:debateBody/akn:debateSection", NS)
    assert [s.get("name") for s in sections] == [
        "preparation",
        "opening",
        "investigation",
        "evidence",
        "closing",
    ]
    speeches = debate.findall(".//akn:speech", NS)
    assert printable.document is not None
    assert len(speeches) == len(printable.document.speeches())
    first = speeches[0]
    assert first.findtext("akn:from", namespaces=NS) == "首席仲裁员"
    assert first.findtext("akn:p", namespaces=NS) == "现在开庭。"
    people = {p.get("eId") for p in debate.findall(".//akn:TLCPerson", NS)}
    roles = {r.get("eId") for r in debate.findall(".//akn:TLCRole", NS)}
    for speech in speeches:
        assert speech.get("by", "").lstrip("#") in people
        assert speech.get("as", "").lstrip("#") in roles
    version = debate.find("akn:meta/akn:proprietary/bilu:version", NS)
    assert version is not None and version.get("sha256") == seal.sha256
    uri = debate.find("akn:meta/akn:identification/akn:FRBRExpression/akn:FRBRuri", NS)
    assert uri is not None and uri.get("value", "").endswith("/zho@v1")
    assert any("签署记录" in (p.text or "") for p in debate.findall("akn:conclusions/akn:p", NS))
