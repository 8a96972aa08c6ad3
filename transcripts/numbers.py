"""Numbers, dates and amounts written the way a 笔录 writes them: one rule for every line, whatever
form the recognizer heard them in.

The rule (:class:`NumberStyle`, chosen per institute by ``[transcription] number_style``):

- ``standard`` (the default): dates and amounts in Arabic digits (二零二三年三月十五日 → 2023年3月15日,
  三万六千元 and 3万6000元 and 36,000元 → 36000元, 百分之二十 → 20%), counts with a measure in digits
  when they are more than one character (五十小时 → 50小时); statute articles in Chinese
  (第38条 → 第三十八条) and single-character counts in Chinese (3个月 → 三个月, 3天 → 三天);
- ``digits``: every number with a measure, article or ordinal in digits (第三十八条 → 第38条,
  三个月 → 3个月).

Fixed expressions (一次性, 一审, 证据一, 一案) never change. The character error rate compares both
sides in :data:`CANONICAL` (``digits``), so the style is never counted as an error.

Where a number is, is found here (the measure after it); what it is worth is ``cn2an``'s (PyPI
``cn2an``: 一万二 → 12000, 三百五 → 350, 1万2000 → 12000), and the Chinese form too.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

_DIGITS = "零〇一二两三四五六七八九"
_CN = "零〇一二两三四五六七八九十百千万亿"

_NUMBER = rf"(?:\d+(?:\.\d+)?|[{_CN}])+"
_YEAR = re.compile(r"(?<![\d零〇一二三四五六七八九])([零〇一二三四五六七八九]{4})(?=年)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACED = re.compile(r"(?<=\d)\s+(?=[年月日号元万亿%条款项个])|(?<=[年月第])\s+(?=\d)")
_PERCENT = re.compile(rf"百分之({_NUMBER})")
# Measures after which a count is written in digits. 日/号/月 are dates; 元/万元 amounts.
_MONEY_UNITS = "元|块钱|块"
_DATE_UNITS = "月|日|号"
_COUNT_UNITS = (
    "个工作日|个小时|个月|小时|周岁|岁|天|年|周|分钟|秒|倍|万元|亿元|人|平方米|公里"
    "|个|次|级|项|份|名|位|家|页"
)
_MEASURED = re.compile(rf"(?<![第\d{_CN}])({_NUMBER})(?=({_MONEY_UNITS}|{_DATE_UNITS}|{_COUNT_UNITS}))")
_ORDINAL = re.compile(rf"(?<=第)({_NUMBER})(?=(条|款|项|章|节|次|个|天|年|周|名|号|批|期))")
# Units whose count is in digits even when it is one character (一月, 五日, 三元, 八小时).
_ALWAYS_DIGITS = (
    "元",
    "块钱",
    "块",
    "月",
    "日",
    "号",
    "岁",
    "周岁",
    "小时",
    "个小时",
    "个工作日",
    "万元",
    "亿元",
)


_FIXED = ("一次性", "一个人", "一方", "一审", "二审")
"""Expressions that are words, not counts."""


@dataclass(frozen=True)
class NumberStyle:
    """How an institute's 笔录 writes numbers."""

    articles: Literal["chinese", "digits"] = "chinese"
    """第三十八条 or 第38条 (and other ordinals: 第二次, 第3次)."""
    small_counts: Literal["chinese", "digits"] = "chinese"
    """A single-character count: 三个月, 两年, 三倍 or 3个月, 2年, 3倍."""


STYLES: dict[str, NumberStyle] = {
    "standard": NumberStyle(),
    "digits": NumberStyle(articles="digits", small_counts="digits"),
}
"""The styles ``[transcription] number_style`` names."""
STANDARD = STYLES["standard"]
CANONICAL = STYLES["digits"]
"""The form a character error rate compares both sides in."""


def number_style(name: str) -> NumberStyle:
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown number style {name!r}; known: {', '.join(STYLES)}") from None


def parse_number(text: str) -> float | None:
    """The value of a Chinese, Arabic or mixed numeral (一万二千, 1万2000, 3.6万, 三万六, 二十);
    None when it is not one (a digit string such as 二零二三 is not a numeral)."""
    if not text or not re.fullmatch(rf"(?:\d+(?:\.\d+)?|[{_CN}])+", text):
        return None
    if len(text) > 1 and all(c in _DIGITS for c in text):
        return None
    import cn2an

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return float(value)


def chinese_numeral(value: int, *, count: bool = False) -> str:
    """38 → 三十八; a count of 2 is 两 (两年, 两个月)."""
    import cn2an

    if count and value == 2:
        return "两"
    return str(cn2an.an2cn(value, "low"))


def _format(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _year(match: re.Match[str]) -> str:
    return "".join(str("零一二三四五六七八九".index(c) if c != "〇" else 0) for c in match.group(1))


def _percent(match: re.Match[str]) -> str:
    value = parse_number(match.group(1))
    return match.group(0) if value is None else f"{_format(value)}%"


def _measured(style: NumberStyle) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        numeral, unit = match.group(1), match.group(2)
        value = parse_number(numeral)
        if value is None or match.string.startswith(_FIXED, match.start()):
            return numeral
        if unit == "月" and not 1 <= value <= 12:
            return numeral
        if unit in ("日", "号") and not 1 <= value <= 31:
            return numeral
        chinese_single = len(numeral) == 1 and not numeral.isdigit()
        digit_single = numeral.isdigit() and 1 <= value <= 9
        if (
            (chinese_single or digit_single)
            and unit not in _ALWAYS_DIGITS
            and style.small_counts == "chinese"
        ):
            # 一天, 两年, 三倍: a single-character count reads better in Chinese, as a 笔录 writes it.
            return numeral if chinese_single else chinese_numeral(int(value), count=True)
        return _format(value)

    return replace


def _ordinal(style: NumberStyle) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        numeral = match.group(1)
        value = parse_number(numeral)
        if value is None or value != int(value) or value < 1:
            return numeral
        if style.articles == "digits":
            return _format(value)
        return chinese_numeral(int(value))

    return replace


def normalize_numbers(text: str, style: NumberStyle = STANDARD) -> str:
    """Rewrite dates, amounts, percentages, measured counts and ordinals in ``style``."""
    text = _THOUSANDS.sub("", text)
    text = _SPACED.sub("", text)
    text = _YEAR.sub(_year, text)
    text = _PERCENT.sub(_percent, text)
    text = _ORDINAL.sub(_ordinal(style), text)
    return _MEASURED.sub(_measured(style), text)
