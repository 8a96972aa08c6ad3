"""Numbers, dates and amounts written the way a 笔录 writes them.

Dates and amounts in Arabic digits (二零二三年三月十五日 → 2023年3月15日, 三万六千元 and 3万6000元 and
36,000元 → 36000元, 百分之二十 → 20%), counts with a measure in Arabic digits when they are more than
one character (五十小时 → 50小时); ordinals, statute articles (第四十七条) and fixed expressions (一次性,
一审, 证据一) stay in Chinese. The same function makes the canonical form both sides of a character
error rate are compared in.
"""

from __future__ import annotations

import re

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL = {"十": 10, "百": 100, "千": 1000}
_LARGE = {"万": 10_000, "亿": 100_000_000}
_CN = "零〇一二两三四五六七八九十百千万亿"

_NUMBER = rf"(?:\d+(?:\.\d+)?|[{_CN}])+"
_YEAR = re.compile(r"(?<![\d零〇一二三四五六七八九])([零〇一二三四五六七八九]{4})(?=年)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACED = re.compile(r"(?<=\d)\s+(?=[年月日号元万亿%])|(?<=[年月])\s+(?=\d)")
_PERCENT = re.compile(rf"百分之({_NUMBER})")
# Measures after which a count is written in digits. 日/号/月 are dates; 元/万元 amounts.
_MONEY_UNITS = "元|块钱|块"
_DATE_UNITS = "月|日|号"
_COUNT_UNITS = "个小时|小时|个月|周岁|岁|天|年|周|分钟|秒|倍|万元|亿元|人|平方米|公里"
_MEASURED = re.compile(rf"(?<![第\d{_CN}])({_NUMBER})(?=({_MONEY_UNITS}|{_DATE_UNITS}|{_COUNT_UNITS}))")


def parse_number(text: str) -> float | None:
    """The value of a Chinese, Arabic or mixed numeral (一万二千, 1万2000, 3.6万, 三万六, 二十);
    None when it is not one."""
    tokens = re.findall(rf"\d+(?:\.\d+)?|[{_CN}]", text)
    if not tokens or "".join(tokens) != text:
        return None
    total = 0.0
    section = 0.0
    number: float | None = None
    last_unit = 0
    previous_was_unit = False
    for token in tokens:
        if token[0].isdigit():
            if number is not None:
                return None
            number = float(token)
            previous_was_unit = False
        elif token in ("零", "〇") and previous_was_unit:
            continue  # 一百零五: the zero only holds a place
        elif token in _DIGITS:
            if number is not None:
                return None  # 二零二三: a digit string, not a numeral (years are handled apart)
            number = float(_DIGITS[token])
            previous_was_unit = False
        elif token in _SMALL:
            unit = _SMALL[token]
            section += (1.0 if number is None else number) * unit
            number, last_unit, previous_was_unit = None, unit, True
        else:
            unit = _LARGE[token]
            section += 0.0 if number is None else number
            if section == 0.0:
                section = 1.0
            total += section * unit
            section, number, last_unit, previous_was_unit = 0.0, None, unit, True
    if number is not None:
        # 一万二 means 一万二千; 三百五 means 三百五十 (the unit below the last one is implied), but
        # 一百零五 is 105 (the zero sits between them).
        if len(tokens) >= 2 and tokens[-1] in _DIGITS and (tokens[-2] in _SMALL or tokens[-2] in _LARGE):
            number *= last_unit / 10
        section += number
    return total + section


def _format(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _year(match: re.Match[str]) -> str:
    return "".join(str(_DIGITS[c]) for c in match.group(1))


def _measured(match: re.Match[str]) -> str:
    numeral, unit = match.group(1), match.group(2)
    if numeral.isdigit() or re.fullmatch(r"\d+\.\d+", numeral):
        return numeral
    chinese_only = all(c in _CN for c in numeral)
    value = parse_number(numeral)
    if value is None:
        return numeral
    if (
        chinese_only
        and len(numeral) == 1
        and unit not in ("元", "月", "日", "号", "岁", "周岁", "小时", "个小时")
    ):
        # 一天, 两年, 三倍: a single-character count reads better in Chinese, as a 笔录 writes it.
        return numeral
    if unit in ("月",) and not 1 <= value <= 12:
        return numeral
    if unit in ("日", "号") and not 1 <= value <= 31:
        return numeral
    return _format(value)


def _percent(match: re.Match[str]) -> str:
    value = parse_number(match.group(1))
    return match.group(0) if value is None else f"{_format(value)}%"


def normalize_numbers(text: str) -> str:
    """Rewrite dates, amounts, percentages and measured counts in the 笔录's digits."""
    text = _THOUSANDS.sub("", text)
    text = _SPACED.sub("", text)
    text = _YEAR.sub(_year, text)
    text = _PERCENT.sub(_percent, text)
    return _MEASURED.sub(_measured, text)
