"""hardware.md's config example must stay loadable by the project's config loader."""

from __future__ import annotations

import re
from pathlib import Path

from court.config import load_config

DOC = Path(__file__).resolve().parents[3] / "hardware.md"


def test_the_config_example_in_hardware_md_loads(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"## 4\. The config file.*?```toml\n(.*?)```", text, re.S)
    assert match, "hardware.md lost its config example"
    path = tmp_path / "room.toml"
    path.write_text(match.group(1), encoding="utf-8")
    config = load_config(path)
    room = config.room
    assert [c.view for c in room.cameras] == ["bench", "applicant", "respondent", "wide"]
    assert len(room.seats) == 9
    channels = [s.microphone.channel for s in room.seats]
    assert sorted(channels) == list(range(1, 10))
    assert {s.camera for s in room.seats} <= {c.id for c in room.cameras}
