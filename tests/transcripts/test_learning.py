"""Learning from the clerk: a corrected line teaches the words for the lines still to come."""

from __future__ import annotations

from transcripts.decoder import Decoded, Hypothesis
from transcripts.learning import learn_from_correction, learned
from transcripts.recognizer import Recognizer, RecognizerOptions
from transcripts.vocabulary import CaseVocabulary


def decoded(text: str) -> Decoded:
    return Decoded((Hypothesis(text, (1, 2, 3), -0.2, -1.0),), 0, 0.01, 2.0)


def test_a_one_character_fix_teaches_a_word() -> None:
    terms, pairs = learned("申请人道庭，为托代理人到庭。", "申请人到庭，委托代理人到庭。")
    assert "到庭" in terms and "委托" in terms
    assert ("道庭", "到庭") in pairs


def test_common_words_are_not_rewritten_everywhere() -> None:
    _, pairs = learned("代理人是愿意。", "代理人是袁野。")
    assert pairs == []


def test_the_next_line_comes_out_right() -> None:
    recognizer = Recognizer(None, RecognizerOptions(homophone_margin=None))
    assert recognizer.finish(decoded("请在停后提交")).text == "请在停后提交。"
    recognizer.vocabulary = learn_from_correction(recognizer.vocabulary, "停后核实。", "庭后核实。")
    assert recognizer.finish(decoded("请在停后提交")).text == "请在庭后提交。"
    recognizer.vocabulary = learn_from_correction(recognizer.vocabulary, "代理人逢通。", "代理人冯涛。")
    assert recognizer.finish(decoded("逢通不同意")).text == "冯涛不同意。"


def test_nothing_to_learn_from_a_rewritten_sentence() -> None:
    vocab = CaseVocabulary()
    same = learn_from_correction(vocab, "好的。", "这一句是书记员重新写过的一整句很长的话。")
    assert same.homophones == ()
