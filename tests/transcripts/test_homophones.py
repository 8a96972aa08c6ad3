"""Same-sound swaps the legal-text model strongly prefers."""

from __future__ import annotations

from transcripts.homophones import HomophoneFixer
from transcripts.lm import CharNgramModel

TEXTS = [
    "解除劳动合同的经济补偿",
    "订立书面劳动合同",
    "劳动合同终止",
    "对证据没有异议",
    "当事人有异议的",
] * 20


def test_same_sound_characters_are_swapped_where_the_model_is_sure() -> None:
    fixer = HomophoneFixer(CharNgramModel.train(TEXTS, order=3), margin=3.0, min_count=1)
    assert fixer.fix("解除劳动和同") == "解除劳动合同"
    assert fixer.fix("对证据没有意义") == "对证据没有异议"


def test_protected_terms_and_digits_are_never_changed() -> None:
    fixer = HomophoneFixer(CharNgramModel.train(TEXTS, order=3), margin=3.0, min_count=1)
    assert fixer.fix("劳动和同36000元", protected=["劳动和同"]) == "劳动和同36000元"
