"""The case vocabulary: taken from the case record, a short prompt, corrections by pinyin."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcripts.vocabulary import (
    CaseVocabulary,
    TermCorrector,
    VocabularyError,
    read_terms,
    syllable_similarity,
)


@pytest.fixture
def vocabulary() -> CaseVocabulary:
    return CaseVocabulary.from_case(
        case_number="示劳人仲案字〔2026〕第118号",
        cause="劳动报酬及经济补偿金争议",
        people=[("首席仲裁员", "王建国"), ("申请人", "张伟"), ("被申请人代理人", "周强")],
        organizations=["示范科技有限公司"],
    )


def test_terms_from_the_case_record(vocabulary: CaseVocabulary) -> None:
    terms = vocabulary.all_terms()
    for term in (
        "张伟",
        "周强",
        "示范科技有限公司",
        "示范科技",
        "首席仲裁员",
        "加班费",
        "劳动合同",
        "到庭",
        "闭庭",
    ):
        assert term in terms
    assert list(terms) == sorted(terms, key=len, reverse=True)
    assert "张伟" in vocabulary.prompt() and "示范科技有限公司" in vocabulary.prompt()
    assert len(vocabulary.prompt()) <= 61
    assert vocabulary.hotwords().split()[:2] == ["王建国", "张伟"]


def test_clerk_adds_terms(vocabulary: CaseVocabulary) -> None:
    more = vocabulary.adding("竞业限制补偿", "李娜")
    assert "李娜" in more.all_terms() and "李娜" not in vocabulary.all_terms()
    with pytest.raises(VocabularyError):
        vocabulary.adding("  ")


def test_near_misses_are_corrected_by_pinyin(vocabulary: CaseVocabulary) -> None:
    corrector = TermCorrector(vocabulary.all_terms(), guarded=vocabulary.general_terms())
    assert corrector.correct("解除劳动和同的经济补偿金") == "解除劳动合同的经济补偿金"
    assert corrector.correct("申请人章伟与被申请人示范科技有线公司") == "申请人张伟与被申请人示范科技有限公司"
    assert corrector.correct("请众裁员核实") == "请仲裁员核实"
    # Procedure words from the procedure law win over their homophones…
    assert corrector.correct("双方均已道庭，现在进行停审调查") == "双方均已到庭，现在进行庭审调查"
    # …but a built-in term is never written over a common word (意义 is one; the swaps judge it).
    assert corrector.correct("这很有意义") == "这很有意义"


def test_words_that_merely_resemble_a_term_stay(vocabulary: CaseVocabulary) -> None:
    corrector = TermCorrector(vocabulary.all_terms())
    for text in ("现在开庭。", "公司不同意支付。", "请双方作最后陈述。", "张老师来了。"):
        assert corrector.correct(text) == text


def test_syllable_similarity() -> None:
    assert syllable_similarity("zhang", "zhang") == 1.0
    assert 0.5 < syllable_similarity("zhang", "zang") < 1.0
    assert syllable_similarity("zhang", "li") == 0.0


def test_read_terms(tmp_path: Path) -> None:
    path = tmp_path / "vocab.txt"
    path.write_text("# 本案\n张伟\n\n示范科技有限公司\n", encoding="utf-8")
    assert read_terms(path) == ["张伟", "示范科技有限公司"]
    path.write_text("张伟\n" + "长" * 41 + "\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match=":2:"):
        read_terms(path)
    with pytest.raises(VocabularyError, match="not found"):
        read_terms(tmp_path / "missing.txt")
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(VocabularyError, match="UTF-8"):
        read_terms(path)
