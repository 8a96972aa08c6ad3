"""Names from the case record: near misses become the name, common words elsewhere stay."""

from __future__ import annotations

import pytest

from transcripts.legal_terms import builtin_terms
from transcripts.names import NameCorrector
from transcripts.vocabulary import CaseVocabulary

DEMO = CaseVocabulary.from_case(
    case_number="示劳人仲案字〔2026〕第118号",
    people=[
        ("首席仲裁员", "王建国"),
        ("仲裁员", "陈静"),
        ("仲裁员", "刘洋"),
        ("书记员", "赵敏"),
        ("申请人", "张伟"),
        ("申请人代理人", "孙丽"),
        ("被申请人代理人", "周强"),
    ],
    organizations=["示范科技有限公司"],
)


@pytest.fixture
def corrector() -> NameCorrector:
    return NameCorrector(DEMO.name_terms(), protected=builtin_terms())


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        # The demo's own errors (issue 15).
        (
            "本庭依法审理申请人周围与被申请人示范科技有限公司劳动争议一案。",
            "本庭依法审理申请人张伟与被申请人示范科技有限公司劳动争议一案。",
        ),
        ("陈近、牛洋担任仲裁员，照明担任书记员。", "陈静、刘洋担任仲裁员，赵敏担任书记员。"),
        ("被申请人示范科级有限公司，代理人周墙。", "被申请人示范科技有限公司，代理人周强。"),
        ("申请人代理人孙利律师到庭。", "申请人代理人孙丽律师到庭。"),
    ],
)
def test_near_misses_become_the_name(corrector: NameCorrector, heard: str, meant: str) -> None:
    assert corrector.correct(heard) == meant


@pytest.mark.parametrize(
    "text",
    [
        "周围的同事都可以作证。",  # 周围 is a word where no name stands
        "我给店长留言了。",
        "申请人陈述仲裁请求。",  # a term is never rewritten into a name (陈述 ~ 陈静? no)
        "公司照明设备坏了。",
        "现在开庭。",
    ],
)
def test_no_false_replacements(corrector: NameCorrector, text: str) -> None:
    assert corrector.correct(text) == text


def test_rules_are_reported(corrector: NameCorrector) -> None:
    fixes = corrector.fixes("申请人周围与被申请人，陈近担任仲裁员")
    assert [(f.heard, f.name, f.rule) for f in fixes] == [
        ("周围", "张伟", "place"),
        ("陈近", "陈静", "close"),
    ]


def test_long_names_and_names_in_place() -> None:
    corrector = NameCorrector(["彭晓东", "恒通仓储物流有限公司"], protected=builtin_terms())
    assert corrector.correct("申请人同小东，委托代理人到庭。") == "申请人彭晓东，委托代理人到庭。"
    assert corrector.correct("被申请人红通仓宠物流有限公司") == "被申请人恒通仓储物流有限公司"
    # Two of three syllables alone, with no name's place around them, are not enough.
    assert corrector.correct("我们同小东商量过。") == "我们同小东商量过。"
