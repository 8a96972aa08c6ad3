"""Low-confidence characters: the decoder's probabilities carried onto the finished line."""

from __future__ import annotations

from transcripts.confidence import char_probabilities, uncertain_spans
from transcripts.decoder import Decoded, Hypothesis, Word
from transcripts.recognizer import Recognizer, RecognizerOptions
from transcripts.vocabulary import CaseVocabulary


def words(pairs: list[tuple[str, float]]) -> tuple[Word, ...]:
    return tuple(Word(t, 0.1 * i, 0.1 * i + 0.1, p) for i, (t, p) in enumerate(pairs))


def test_probabilities_follow_the_clean_up() -> None:
    raw = words([("申", 0.99), ("請", 0.98), ("人", 0.97), ("答", 0.95), ("便", 0.2)])
    probs = char_probabilities("申请人答辩。", raw)
    assert probs[:5] == [0.99, 0.98, 0.97, 0.95, 0.2]
    assert probs[5] is None  # punctuation is never marked
    assert uncertain_spans(probs, 0.5) == ((4, 5),)


def test_names_from_the_case_record_are_trusted() -> None:
    raw = words([("周", 0.3), ("围", 0.2), ("到", 0.9), ("庭", 0.4)])
    probs = char_probabilities("张伟到庭", raw, trusted=["张伟"])
    assert probs == [None, None, 0.9, 0.4]


def test_a_recognized_line_carries_its_marks() -> None:
    text = "请双方发表意见"
    probs = [0.99, 0.99, 0.98, 0.97, 0.96, 0.9, 0.15]
    decoded = Decoded(
        (Hypothesis(text, (1,), -0.2, -1.0),),
        0,
        0.01,
        2.0,
        words(list(zip(text, probs, strict=True))),
    )
    recognizer = Recognizer(
        None, RecognizerOptions(homophone_margin=None), vocabulary=CaseVocabulary.from_case()
    )
    line = recognizer.finish(decoded)
    assert line.text == "请双方发表意见。"
    assert line.uncertain == ((6, 7),)
    assert (
        Recognizer(None, RecognizerOptions(homophone_margin=None, mark_below=0)).finish(decoded).uncertain
        == ()
    )
