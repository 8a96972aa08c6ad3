from __future__ import annotations

import dataclasses

import pytest

from tests.transcripts.bilu.samples import document
from transcripts.bilu import canonical_text, content_sha256, document_blocks
from transcripts.bilu.layout import blocks_from_json, blocks_to_json, chinese_number


def test_lines_are_role_prefixed() -> None:
    texts = [b.text for b in document_blocks(document()) if b.kind == "speech"]
    assert texts == [
        "首席仲裁员：现在开庭。",
        "申请人：我请求确认劳动关系并支付工资。",
        "被申请人代理人：被申请人不同意。〔异议〕",
        "申请人：证据一是劳动合同。",
    ]


def test_header_says_who_came_when_and_how() -> None:
    meta = [b.text for b in document_blocks(document()) if b.kind == "meta"]
    assert meta[:4] == [
        "案号：示劳人仲案字〔2026〕第118号",
        "案由：劳动报酬争议",
        "开庭时间：2026年12月1日 09:03:20 至 09:10:00",
        "开庭地点：第一仲裁庭",
    ]
    assert "仲裁庭组成：首席仲裁员 王建国，仲裁员 陈静" in meta
    assert "记录人：书记员 赵敏" in meta
    assert "申请人 张伟 于 09:02:13 到庭（人脸核验通过）" in meta
    assert "被申请人代理人 周强（示范科技有限公司） 于 09:02:20 到庭（书记员核对）" in meta
    assert "证人 吴强 未到庭" in meta


def test_sections_are_numbered_and_the_signature_page_closes() -> None:
    blocks = document_blocks(document())
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert headings == ["一、庭前准备", "二、开庭", "三、庭审调查", "四、举证质证", "五、闭庭", "签名页"]
    assert next(b.text for b in blocks if b.kind == "signer") == "首席仲裁员（签名）：王建国"


def test_hash_covers_every_character() -> None:
    blocks = document_blocks(document())
    text = canonical_text(blocks)
    assert text.endswith("\n") and text.count("\n") == len(blocks)
    changed = list(blocks)
    index = next(i for i, b in enumerate(blocks) if b.kind == "speech")
    changed[index] = dataclasses.replace(blocks[index], text=blocks[index].text.replace("开庭", "开廷"))
    assert content_sha256(changed) != content_sha256(blocks)
    assert content_sha256(blocks_from_json(blocks_to_json(blocks))) == content_sha256(blocks)


def test_blocks_from_json_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="not a 笔录 block"):
        blocks_from_json([{"kind": "script", "text": "x"}])


@pytest.mark.parametrize(("n", "text"), [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (23, "二十三")])
def test_chinese_numbers(n: int, text: str) -> None:
    assert chinese_number(n) == text
