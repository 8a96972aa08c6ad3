"""The legal-text character model: counting, scoring, saving; the statutes it is built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcripts.lm import CharNgramModel, LanguageModelError, clauses, statute_database, statute_texts

TEXTS = [
    "用人单位应当依法与劳动者订立书面劳动合同。",
    "解除劳动合同的，用人单位应当向劳动者支付经济补偿。",
    "劳动合同期满的，劳动合同终止。",
    "用人单位安排加班的，应当支付加班费。",
]


def test_clauses_normalize_numbers_and_punctuation() -> None:
    assert clauses("工资一万二千元，加班费36,000元。") == ["工资00000元", "加班费00000元"]


def test_the_model_prefers_what_it_has_read(tmp_path: Path) -> None:
    model = CharNgramModel.train(TEXTS, order=3)
    assert model.score("解除劳动合同") > model.score("解除劳动和同")
    assert model.score("支付加班费") > model.score("支付加班非")
    assert model.characters(min_count=3)
    path = tmp_path / "lm.npz"
    model.save(path)
    loaded = CharNgramModel.load(path)
    assert loaded.score("解除劳动合同") == pytest.approx(model.score("解除劳动合同"))


def test_probabilities_are_proper() -> None:
    model = CharNgramModel.train(TEXTS, order=3)
    alphabet = model.characters()
    # Over every known character (and the clause end) the conditional probabilities sum to at most 1.
    import math

    total = sum(math.exp(model.char_logprob("劳动", c)) for c in alphabet)
    assert 0.5 < total <= 1.0 + 1e-9


def test_statutes_are_packaged() -> None:
    try:
        database = statute_database()
    except LanguageModelError as exc:
        pytest.fail(str(exc))
    first = next(iter(statute_texts(database)))
    assert isinstance(first, str) and first
