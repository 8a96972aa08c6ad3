"""Numbers, dates and amounts the way a 笔录 writes them."""

from __future__ import annotations

import pytest

from transcripts.numbers import CANONICAL, normalize_numbers, number_style, parse_number
from transcripts.text import cer


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("一万二千", 12000),
        ("一万二", 12000),
        ("三百五", 350),
        ("一百零五", 105),
        ("十五", 15),
        ("二十", 20),
        ("1万2000", 12000),
        ("3.6万", 36000),
        ("两千", 2000),
        ("一万零五百", 10500),
    ],
)
def test_parse_number(numeral: str, value: float) -> None:
    assert parse_number(numeral) == value


def test_not_a_numeral() -> None:
    assert parse_number("二零二三") is None
    assert parse_number("劳动") is None


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("二零二三年三月十五日入职", "2023年3月15日入职"),
        ("每月工资一万二千元", "每月工资12000元"),
        ("加班费36,000元", "加班费36000元"),
        ("经济补偿金3万6千元", "经济补偿金36000元"),
        ("每周工作超过五十小时", "每周工作超过50小时"),
        ("百分之二十", "20%"),
        ("十二个月的工资", "12个月的工资"),
        ("2023 年 3 月", "2023年3月"),
    ],
)
def test_dates_amounts_and_counts_in_digits(spoken: str, written: str) -> None:
    assert normalize_numbers(spoken) == written


@pytest.mark.parametrize(
    "fixed", ["依照劳动合同法第四十七条", "证据一是劳动合同", "一次性支付", "一个月", "第一", "十三月"]
)
def test_ordinals_articles_and_fixed_expressions_stay(fixed: str) -> None:
    assert normalize_numbers(fixed) == fixed


@pytest.mark.parametrize(
    ("heard", "standard", "digits"),
    [
        ("依照劳动合同法第38条", "依照劳动合同法第三十八条", "依照劳动合同法第38条"),
        ("依照劳动合同法第三十八条", "依照劳动合同法第三十八条", "依照劳动合同法第38条"),
        ("拖欠了3个月工资", "拖欠了三个月工资", "拖欠了3个月工资"),
        ("拖欠了三个月工资", "拖欠了三个月工资", "拖欠了3个月工资"),
        ("期限2年", "期限两年", "期限2年"),
        ("五日内提交", "5日内提交", "5日内提交"),
        ("违约金三十万元", "违约金300000元", "违约金300000元"),
        ("违约金30万元", "违约金300000元", "违约金300000元"),
        ("一次性支付，本案一审", "一次性支付，本案一审", "一次性支付，本案一审"),
        ("这是第二次开庭", "这是第二次开庭", "这是第2次开庭"),
        ("每天干十二个小时", "每天干12个小时", "每天干12个小时"),
    ],
)
def test_one_rule_whatever_was_heard(heard: str, standard: str, digits: str) -> None:
    assert normalize_numbers(heard) == standard
    assert normalize_numbers(heard, number_style("digits")) == digits
    assert normalize_numbers(standard, CANONICAL) == normalize_numbers(digits, CANONICAL)


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown number style"):
        number_style("roman")


def test_cer_compares_numbers_in_one_form() -> None:
    assert cer("请在五日内提交，依照第三十八条支付5万元", "请在5日内提交，依照第38条支付五万元")[0] == 0
    assert cer("三个月", "3个月")[0] == 0
