"""The plain-text 笔录: one block per line between a head and a foot that carry the case number,
the version and its hash; the signature record after a blank line."""

from __future__ import annotations

from pathlib import Path

from transcripts.bilu.printable import Printable


def render_txt(printable: Printable) -> str:
    band = f"{printable.head}　{printable.foot}"
    lines = [band, "", *(b.text for b in printable.blocks), ""]
    lines += [b.text for b in printable.record_blocks()]
    lines += ["", band]
    return "\n".join(lines) + "\n"


def write_txt(printable: Printable, path: Path) -> None:
    path.write_text(render_txt(printable), encoding="utf-8")
