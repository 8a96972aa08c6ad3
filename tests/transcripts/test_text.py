"""Clean Chinese output: Simplified, Chinese punctuation, no invented text; the CER canonical form."""

from __future__ import annotations

from transcripts.text import (
    TimedChar,
    canonical,
    cer,
    chinese_punctuation,
    clean_text,
    collapse_loops,
    edit_distance,
    is_hallucination,
    pause_commas,
    to_simplified,
)


def test_traditional_becomes_simplified_with_opencc() -> None:
    assert to_simplified("請求裁決被申請人支付經濟補償金") == "请求裁决被申请人支付经济补偿金"
    # Phrase-level conversion, not a character table: 乾淨 → 干净, 後面 → 后面.
    assert to_simplified("乾淨的後面") == "干净的后面"


def test_chinese_punctuation() -> None:
    assert chinese_punctuation("现在开庭, 请申请人陈述?") == "现在开庭，请申请人陈述？"
    assert chinese_punctuation("金额 36,000 元.") == "金额36000元。"
    assert chinese_punctuation("工资3.5万元") == "工资3.5万元"


def test_clean_text_whole_line() -> None:
    assert clean_text("請求裁決被申請人支付加班費36,000元") == "请求裁决被申请人支付加班费36000元。"
    assert clean_text("当事人是否申请回避吗") == "当事人是否申请回避吗？"
    assert clean_text("...") == ""


def test_decoding_loops_are_cut() -> None:
    assert collapse_loops("不同意不同意不同意不同意") == "不同意"
    assert collapse_loops("啊啊啊啊啊啊") == "啊啊"
    looped = "申请人张伟与被申请人示范科技有限公司争议申请人张伟与被申请人示范科技有限公司争议"
    assert collapse_loops(looped) == "申请人张伟与被申请人示范科技有限公司争议"
    assert collapse_loops("不申请回避，不申请回避") == "不申请回避，不申请回避"
    said = "申请人的委托代理人是袁野，被申请人的委托代理人是郭美玲"
    assert collapse_loops(said) == said


def test_stock_phrases_whisper_writes_on_silence_are_dropped() -> None:
    assert is_hallucination("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目")
    assert clean_text("字幕由Amara.org社区提供") == ""
    assert not is_hallucination("谢谢仲裁员")


def test_commas_at_pauses() -> None:
    chars = [TimedChar("我", 0.0, 0.2), TimedChar("同", 0.2, 0.4), TimedChar("意", 0.9, 1.1)]
    assert pause_commas(chars, min_pause=0.35) == "我同，意"
    assert pause_commas(chars, min_pause=0.6) == "我同意"


def test_cer_compares_canonical_forms() -> None:
    assert canonical("工资一万二千元，") == canonical("工資12,000元") == "工资12000元"
    assert cer("加班费三万六千元。", "加班費36000元") == (0, len("加班费36000元"))
    assert cer("劳动合同", "劳动和同") == (1, 4)
    assert edit_distance("abc", "") == 3
    assert edit_distance(["现在", "开庭"], ["现在", "休庭", "了"]) == 2
