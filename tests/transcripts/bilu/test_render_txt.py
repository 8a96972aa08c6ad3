from __future__ import annotations

from tests.transcripts.bilu.samples import CASE, sealed
from transcripts.bilu.render_txt import render_txt
from transcripts.bilu.seal import ServerKey


def test_plain_text_carries_case_and_hash_and_the_role_prefixed_lines() -> None:
    printable, seal = sealed(ServerKey.generate())
    lines = render_txt(printable).splitlines()
    band = f"案号：{CASE}　庭审笔录　版本 1　SHA-256：{seal.sha256}"
    assert lines[0] == lines[-1] == band
    assert "首席仲裁员：现在开庭。" in lines
    body = lines[2 : 2 + len(printable.blocks)]
    assert body == [b.text for b in printable.blocks]
    assert lines[2 + len(printable.blocks)] == ""
    assert lines[3 + len(printable.blocks)].startswith("【签署记录】版本 1")
