from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.recording.manifest import (
    GENESIS,
    EventAction,
    EventEntry,
    Manifest,
    ManifestError,
    ManifestNeedsRecovery,
    Media,
    SegmentEntry,
    SegmentStatus,
    compute_chain,
    expected_chain,
    parse_entry,
    read_manifest,
)


def _fill(root: Path) -> list[object]:
    seen: list[object] = []
    m = Manifest(root, on_append=seen.append)
    m.append_event(source="cam1", action=EventAction.START, reason="recording started", t=0.0)
    m.append_segment(
        source="cam1",
        index=1,
        file="cam1/cam1-000001.mp4",
        media=Media.VIDEO,
        start=0.0,
        end=4.0,
        count=40,
        size=123,
        sha256="ab" * 32,
        status=SegmentStatus.OK,
    )
    m.append_event(source="*", action=EventAction.STOP, reason="闭庭 hearing closed", t=4.0)
    m.close()
    return seen


def test_chain_links_every_line(tmp_path: Path) -> None:
    seen = _fill(tmp_path)
    contents = read_manifest(tmp_path / "manifest.jsonl")
    assert contents.clean
    assert contents.entries == seen
    assert [e.seq for e in contents.entries] == [0, 1, 2]
    prev = GENESIS
    for e in contents.entries:
        assert e.prev == prev
        assert e.chain == expected_chain(e)
        prev = e.chain
    # The chain is SHA-256 over prev + canonical JSON of the other fields, as documented.
    first = json.loads((tmp_path / "manifest.jsonl").read_text("utf-8").splitlines()[0])
    body = {k: v for k, v in first.items() if k not in ("prev", "chain")}
    assert first["chain"] == compute_chain(GENESIS, body)
    assert (tmp_path / "manifest.jsonl").read_bytes().endswith(b"\n")


def test_reopening_continues_seq_and_chain(tmp_path: Path) -> None:
    _fill(tmp_path)
    m = Manifest(tmp_path)
    e = m.append_event(source="cam1", action=EventAction.RESUME, reason="again", t=5.0)
    m.close()
    before = read_manifest(tmp_path / "manifest.jsonl").entries
    assert e.seq == 3 and e.prev == before[2].chain


def test_torn_last_line_is_reported_and_refused(tmp_path: Path) -> None:
    _fill(tmp_path)
    with (tmp_path / "manifest.jsonl").open("ab") as f:
        f.write(b'{"kind":"segment","seq":3,"sou')
    contents = read_manifest(tmp_path / "manifest.jsonl")
    assert contents.torn == b'{"kind":"segment","seq":3,"sou'
    assert len(contents.entries) == 3 and not contents.bad_lines
    with pytest.raises(ManifestNeedsRecovery, match="torn"):
        Manifest(tmp_path)


def test_parse_rejects_wrong_types_and_extra_fields() -> None:
    good = {
        "kind": "event",
        "seq": 0,
        "source": "*",
        "action": "start",
        "reason": "",
        "t": 0.0,
        "prev": GENESIS,
        "chain": "x",
    }
    assert isinstance(parse_entry(good), EventEntry)
    with pytest.raises(ManifestError):
        parse_entry({**good, "seq": True})
    with pytest.raises(ManifestError):
        parse_entry({**good, "action": "explode"})
    with pytest.raises(ManifestError):
        parse_entry({**good, "note": "smuggled"})
    with pytest.raises(ManifestError):
        parse_entry({**good, "kind": "other"})
    assert not isinstance(parse_entry(good), SegmentEntry)
