"""Test helpers: a copy of the embedded default config with a short discipline text and a shared
TTS cache, so end-to-end runs stay short."""

from __future__ import annotations

from pathlib import Path

from court.config import DEFAULT_CONFIG

DATA = Path(__file__).resolve().parent.parent / "data"
SHORT_SCRIPT = DATA / "short_hearing.toml"
SHORT_RULES = '"""\n现在宣布庭审纪律。请将手机调至静音。\n"""'


def write_test_config(
    folder: Path, cache_dir: Path, *, segment_seconds: float = 2.0, door_seconds: float | None = None
) -> Path:
    """``door_seconds``: how long the start's door check waits for in-room parties ([face] timeout)."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    start = text.index('text = """')
    end = text.index('"""', start + len('text = """')) + 3
    text = text[:start] + "text = " + SHORT_RULES + text[end:]
    text = text.replace('cache_dir = "var/cache"', f'cache_dir = "{cache_dir}"')
    text = text.replace("segment_seconds = 4.0", f"segment_seconds = {segment_seconds}")
    if door_seconds is not None:
        text = text.replace("timeout = 300.0 ", f"timeout = {door_seconds} ", 1)
    path = folder / "room.toml"
    path.write_text(text, encoding="utf-8")
    return path
