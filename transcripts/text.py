"""Clean Chinese output: Simplified characters, Chinese punctuation, the 笔录's numbers, and no text
the model invented (loops, stock phrases Whisper writes on silence and music).

Whisper base often answers in Traditional characters and ASCII punctuation; OpenCC (``opencc-purepy``,
the project's own dictionaries, no home-made table) converts to Simplified.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import zlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from rapidfuzz.distance import Levenshtein

from transcripts.numbers import CANONICAL, STANDARD, NumberStyle, normalize_numbers

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_CJK_SPACE = re.compile(rf"(?<=[{_HAN}\d％%，。！？；：、])\s+|\s+(?=[{_HAN}，。！？；：、])")
_ASCII_PUNCT = {",": "，", "?": "？", "!": "！", ";": "；", ":": "：", "(": "（", ")": "）"}
_PERIOD = re.compile(r"(?<![A-Za-z0-9])\.|\.(?![A-Za-z0-9])")
_REPEATED_PUNCT = re.compile(r"([，。！？；：、])[，。！？；：、]+")
_TERMINAL = set("。！？…")
_QUESTION_ENDINGS = ("吗", "么", "呢", "是否", "对不对", "是不是", "有没有")
_PUNCT_CHARS = set("，。！？；：、（）《》“”‘’…—·,.!?;:()\"' \t\n-")
_LOOP = re.compile(r"(.{2,12}?)\1{2,}|(.)\2{3,}")

HALLUCINATIONS: tuple[str, ...] = (
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "明镜与点点栏目",
    "字幕由Amara.org社区提供",
    "Amara.org",
    "字幕志愿者",
    "中文字幕",
    "谢谢观看",
    "感谢观看",
    "感谢收看",
    "谢谢收看",
    "欢迎订阅",
    "请订阅",
    "订阅我的频道",
    "优优独播剧场",
    "YoYo Television Series Exclusive",
    "本字幕",
    "字幕组",
)
"""What Whisper is known to write on silence, noise and music (YouTube subtitles in its training
data); a line containing one is not speech."""


class _Converter(Protocol):
    def convert(self, text: str, punctuation: bool = ...) -> str: ...


_opencc_lock = threading.Lock()


@lru_cache(maxsize=1)
def _opencc() -> _Converter:
    from opencc_purepy import OpenCC

    converter: Any = OpenCC("t2s")
    return converter  # type: ignore[no-any-return]


def to_simplified(text: str) -> str:
    """Traditional → Simplified with OpenCC's ``t2s`` dictionaries (phrases first, then characters)."""
    if not text:
        return text
    converter = _opencc()
    with _opencc_lock:
        return converter.convert(text)


def chinese_punctuation(text: str) -> str:
    """ASCII punctuation → Chinese, spaces between Chinese characters removed, runs collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("\u3000", " ").replace("\ufffd", "")
    text = _THOUSANDS.sub("", text)
    # NFKC turns full-width punctuation into ASCII; map everything back to the Chinese forms.
    text = _PERIOD.sub("。", text)
    text = "".join(_ASCII_PUNCT.get(c, c) for c in text)
    text = _CJK_SPACE.sub("", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text.lstrip("，。！？；：、")


def end_sentence(text: str) -> str:
    """Add the final punctuation a line of a 笔录 ends with (？ after a question word, else 。)."""
    text = text.rstrip("，、；： ")
    if not text or text[-1] in _TERMINAL:
        return text
    return text + ("？" if text.endswith(_QUESTION_ENDINGS) else "。")


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def collapse_loops(text: str, min_echo: int = 12) -> str:
    """Cut a phrase the model repeated three or more times in a row (a decoding loop) to one, a
    single character repeated four or more times to two, and a long stretch (``min_echo`` characters
    or more) said again later in the same line — the model echoing itself or its prompt — at the
    start of the echo. Shorter repeats are speech (申请人的委托代理人是袁野，被申请人的委托代理人是
    郭美玲 repeats nine characters); twelve keeps them."""

    def one(match: re.Match[str]) -> str:
        return match.group(1) if match.group(1) is not None else match.group(2) * 2

    previous = None
    while previous != text:
        previous, text = text, _LOOP.sub(one, text)
    bare = [(i, c) for i, c in enumerate(text) if c not in _PUNCT_CHARS and c not in "，。！？；：、"]
    letters = "".join(c for _, c in bare)
    for start in range(len(letters) - 2 * min_echo + 1):
        chunk = letters[start : start + min_echo]
        again = letters.find(chunk, start + min_echo)
        if again >= 0:
            return text[: bare[again][0]].rstrip("，、；： ")
    return text


def is_hallucination(text: str, phrases: Sequence[str] = HALLUCINATIONS) -> bool:
    def squeeze(t: str) -> str:
        return re.sub(r"[\s，。！？、,.!?]", "", t).lower()

    squeezed = squeeze(text)
    return any(squeeze(p) in squeezed for p in phrases)


def strip_punctuation(text: str) -> str:
    return "".join(c for c in text if c not in _PUNCT_CHARS and not unicodedata.category(c).startswith("P"))


@dataclass(frozen=True)
class TimedChar:
    """One character with its time (seconds), to place commas at the speaker's pauses."""

    text: str
    start: float
    end: float


def pause_commas(chars: Sequence[TimedChar], min_pause: float = 0.35) -> str:
    """Join characters, putting a comma where the speaker paused at least ``min_pause`` seconds and
    the model wrote no punctuation."""
    out: list[str] = []
    for i, c in enumerate(chars):
        paused = i > 0 and c.start - chars[i - 1].end >= min_pause
        if paused and out and out[-1][-1:] not in _PUNCT_CHARS and c.text[:1] not in _PUNCT_CHARS:
            out.append("，")
        out.append(c.text)
    return "".join(out)


def clean_text(text: str, numbers: NumberStyle = STANDARD) -> str:
    """The whole clean-up for one line: Simplified, Chinese punctuation, the 笔录's numbers (in the
    institute's ``numbers`` style), loops cut, final punctuation. Returns "" for a known
    hallucination."""
    if is_hallucination(text):
        return ""
    text = chinese_punctuation(to_simplified(text))
    text = collapse_loops(text)
    if is_hallucination(text):
        return ""
    text = normalize_numbers(text, numbers)
    if not strip_punctuation(text):
        return ""
    return end_sentence(text)


def canonical(text: str) -> str:
    """The form a character error rate compares: Simplified, every number in digits (one form for
    both sides, whatever style the 笔录 uses), no punctuation or spaces."""
    text = normalize_numbers(chinese_punctuation(to_simplified(text)), CANONICAL)
    return strip_punctuation(text).replace(" ", "")


def cer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference length) between the canonical forms; CER is edits / length."""
    ref, hyp = canonical(reference), canonical(hypothesis)
    return edit_distance(ref, hyp), len(ref)


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance (insertions, deletions, substitutions) between two strings, character by
    character, or two sequences of anything hashable."""
    return Levenshtein.distance(a, b)
