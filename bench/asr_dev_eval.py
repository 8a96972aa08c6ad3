"""Figures on the development set (bench/asr_devset.py), all from cached decodes:

- every knob after decoding (prompt, rescoring weight, same-sound margin, term threshold) chosen by
  leave-one-hearing-out: for each hearing, the setting best on the *other* hearings is scored on it;
- stock faster-whisper on the same audio as the reference;
- names of the case record right, and names written where none was said (false replacements);
- low-confidence marks: the share of real errors they cover and of the text they mark;
- learning from the clerk: each hearing replayed with the corrections of its first half, scored on
  its second half.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from asr_devset import RATE, DevCache, Hearing, load_hearings
from rapidfuzz.distance import Levenshtein

from transcripts.confidence import char_probabilities, uncertain_spans
from transcripts.lm import CharNgramModel, load_statute_model
from transcripts.numbers import normalize_numbers
from transcripts.recognizer import Recognition, Recognizer, RecognizerOptions
from transcripts.text import canonical, cer, strip_punctuation
from transcripts.vocabulary import CaseVocabulary


@dataclass(frozen=True)
class Knobs:
    bias: str = ""
    """What the decoder was given of the case: "" (nothing), "prompt" or "hotwords"."""
    lm_weight: float = 0.0
    homophone_margin: float | None = 5.0
    term_min_score: float = 0.85

    def label(self) -> str:
        margin = "off" if self.homophone_margin is None else f"{self.homophone_margin:g}"
        return (
            f"bias {self.bias or 'none'}, rescoring {self.lm_weight:g}, "
            f"same-sound margin {margin}, term threshold {self.term_min_score:g}"
        )


GRID_LM = (0.0, 0.5, 1.0, 2.0)
GRID_MARGIN: tuple[float | None, ...] = (None, 4.0, 5.0, 6.0)
GRID_TERM = (0.8, 0.85)
MARK_THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.9)


@dataclass
class Scored:
    edits: int = 0
    length: int = 0

    @property
    def rate(self) -> float:
        return self.edits / max(1, self.length)

    def add(self, other: Scored) -> None:
        self.edits += other.edits
        self.length += other.length


class Evaluator:
    def __init__(self, cache: Path, lm: CharNgramModel, hearings: Sequence[Hearing]) -> None:
        self.dev = DevCache(cache)
        self.lm = lm
        self.hearings = list(hearings)
        self._memo: dict[tuple[Any, ...], Recognition] = {}
        self._recognizers: dict[tuple[Any, ...], Recognizer] = {}
        self._fixes: dict[float | None, dict[tuple[str, tuple[str, ...]], str]] = {}
        self.biases = [""] + [
            b
            for b in ("prompt", "hotwords")
            if all(
                self.dev.has(line.audio, *_bias(h.vocabulary(), b)) for h in self.hearings for line in h.lines
            )
        ]

    def recognizer(
        self, hearing: Hearing, knobs: Knobs, vocabulary: CaseVocabulary | None = None
    ) -> Recognizer:
        vocab = vocabulary or hearing.vocabulary()
        key = (hearing.name, knobs.lm_weight, knobs.homophone_margin, knobs.term_min_score, vocab)
        if key not in self._recognizers:
            options = RecognizerOptions(
                lm_weight=knobs.lm_weight,
                homophone_margin=knobs.homophone_margin,
                term_min_score=knobs.term_min_score,
            )
            rec = Recognizer(None, options, vocabulary=vocab, language_model=self.lm)
            fixer = rec._fixer
            if fixer is not None:
                # Many settings hand the swaps the same text: fix each text once per margin.
                memo = self._fixes.setdefault(knobs.homophone_margin, {})
                fix = fixer.fix

                def cached(text: str, protected: Sequence[str] = (), fix: Any = fix, memo: Any = memo) -> str:
                    key = (text, tuple(protected))
                    if key not in memo:
                        memo[key] = fix(text, protected)
                    return str(memo[key])

                fixer.fix = cached  # type: ignore[method-assign]
            self._recognizers[key] = rec
        return self._recognizers[key]

    def line(
        self, hearing: Hearing, i: int, knobs: Knobs, vocabulary: CaseVocabulary | None = None
    ) -> Recognition:
        vocab = vocabulary or hearing.vocabulary()
        # The decode is the one of the case record's vocabulary: the clerk's additions apply after it.
        bias = _bias(hearing.vocabulary(), knobs.bias)
        decoded, _ = self.dev.decoded(hearing.lines[i].audio, *bias)
        rec = self.recognizer(hearing, knobs, vocab)
        chosen = rec.choose(decoded.hypotheses) if decoded.hypotheses else 0
        key = (hearing.name, i, bias, chosen, knobs.homophone_margin, knobs.term_min_score, vocab)
        if key not in self._memo:
            self._memo[key] = rec.finish(replace(decoded, chosen=chosen))
        return self._memo[key]

    def score(self, hearing: Hearing, knobs: Knobs, lines: Sequence[int] | None = None) -> Scored:
        out = Scored()
        for i in range(len(hearing.lines)) if lines is None else lines:
            e, n = cer(hearing.lines[i].text, self.line(hearing, i, knobs).text)
            out.add(Scored(e, n))
        return out

    def stock(self, hearing: Hearing) -> tuple[Scored, float]:
        out, seconds = Scored(), 0.0
        for line in hearing.lines:
            text, s = self.dev.stock(line.audio)
            out.add(Scored(*cer(line.text, text)))
            seconds += s
        return out, seconds

    def grid(self) -> list[Knobs]:
        return [
            Knobs(b, w, m, t)
            for b, w, m, t in itertools.product(self.biases, GRID_LM, GRID_MARGIN, GRID_TERM)
        ]

    def leave_one_out(self) -> dict[str, tuple[Knobs, Scored]]:
        table = {(h.name, k): self.score(h, k) for h in self.hearings for k in self.grid()}
        chosen = {}
        for held in self.hearings:

            def others(k: Knobs, held: Hearing = held) -> float:
                total = Scored()
                for h in self.hearings:
                    if h is not held:
                        total.add(table[(h.name, k)])
                return total.rate

            best = min(self.grid(), key=others)
            chosen[held.name] = (best, table[(held.name, best)])
        return chosen


def _bias(vocabulary: CaseVocabulary, bias: str) -> tuple[str, str]:
    """(prompt, hot words) for the decoder."""
    if bias == "prompt":
        return vocabulary.prompt(), ""
    if bias == "hotwords":
        return "", vocabulary.hotwords()
    return "", ""


# -- names ------------------------------------------------------------------------------------------


def name_counts(hearing: Hearing, texts: Sequence[str]) -> tuple[int, int, int]:
    """(names said, names written right, names written where none was said), by line."""
    said = right = extra = 0
    for line, text in zip(hearing.lines, texts, strict=True):
        ref, hyp = canonical(line.text), canonical(text)
        for name in hearing.names:
            c, k = ref.count(name), hyp.count(name)
            said += c
            right += min(c, k)
            extra += max(0, k - c)
    return said, right, extra


# -- low-confidence marks --------------------------------------------------------------------------


def edit_alignment(reference: str, written: str) -> list[bool]:
    """For each character of ``written``: whether it is wrong (substituted or inserted) against
    ``reference`` (numbers in the 笔录's standard form on both sides, punctuation ignored)."""
    ref = strip_punctuation(normalize_numbers(reference)).replace(" ", "")
    keep = [k for k, ch in enumerate(written) if strip_punctuation(ch).strip()]
    hyp = "".join(written[k] for k in keep)
    bad = [False] * len(written)
    for op in Levenshtein.editops(ref, hyp):
        if op.tag in ("replace", "insert") and op.dest_pos < len(keep):
            bad[keep[op.dest_pos]] = True
    return bad


def mark_coverage(
    hearing: Hearing, recognitions: Sequence[Recognition], threshold: float
) -> tuple[int, int, int, int]:
    """(wrong characters, of them marked, characters written, of them marked): a written character is
    wrong when the alignment to the reference substitutes or inserts it."""
    wrong = wrong_marked = written = marked = 0
    terms = hearing.vocabulary().all_terms()
    for line, rec in zip(hearing.lines, recognitions, strict=True):
        flags = [False] * len(rec.text)
        for a, b in uncertain_spans(char_probabilities(rec.text, rec.words, terms), threshold):
            for k in range(a, b):
                flags[k] = True
        bad = edit_alignment(line.text, rec.text)
        for k, ch in enumerate(rec.text):
            if not strip_punctuation(ch).strip():
                continue
            written += 1
            marked += flags[k]
            if bad[k]:
                wrong += 1
                wrong_marked += flags[k]
    return wrong, wrong_marked, written, marked


# -- the report ------------------------------------------------------------------------------------


def report(cache: Path, only: Sequence[str] = ()) -> None:
    hearings = load_hearings(cache, only)
    fill = DevCache(cache)
    for h in hearings:
        # Decoded once into the cache (minutes on 2 cores the first time; nothing after).
        vocab = h.vocabulary()
        for line in h.lines:
            fill.decoded(line.audio)
            fill.stock(line.audio)
            fill.decoded(line.audio, prompt=vocab.prompt())
            fill.decoded(line.audio, hotwords=vocab.hotwords())
    lm = load_statute_model(cache / "asr")
    ev = Evaluator(cache, lm, hearings)
    audio = {h.name: sum(len(x.audio) for x in h.lines) / RATE for h in hearings}
    print(
        f"Development set: {len(hearings)} hearings, {sum(len(h.lines) for h in hearings)} lines, "
        f"{sum(audio.values()) / 60:.1f} min of synthesized speech; {len(ev.grid())} settings tried "
        f"(decoder given: {', '.join(b or 'nothing' for b in ev.biases)})"
    )
    loo = ev.leave_one_out()
    pooled, stock_pooled = Scored(), Scored()
    decode_s = stock_s = 0.0
    print("  Leave-one-hearing-out CER (settings chosen on the other hearings) vs stock faster-whisper")
    for h in hearings:
        knobs, scored = loo[h.name]
        stock, s = ev.stock(h)
        stock_s += s
        decode_s += sum(ev.dev.decoded(x.audio)[1] for x in h.lines)
        pooled.add(scored)
        stock_pooled.add(stock)
        print(
            f"    {h.name:14s} {h.kind:10s} CER {scored.rate:6.1%}  stock {stock.rate:6.1%}  "
            f"ratio {scored.rate / max(1e-9, stock.rate):.2f}   [{knobs.label()}]"
        )
    total_audio = sum(audio.values())
    print(
        f"    pooled                    CER {pooled.rate:6.1%}  stock {stock_pooled.rate:6.1%}  ratio "
        f"{pooled.rate / max(1e-9, stock_pooled.rate):.2f}   (goal ≤ 10% and ≤ 0.5 × stock)"
    )
    print(
        f"  decode real-time factor on this machine (5-best + alignment, cached timings): "
        f"{decode_s / total_audio:.3f}; stock faster-whisper (beam 5, VAD): {stock_s / total_audio:.3f}"
    )
    # Names, with and without the name rule, at each hearing's LOO setting.
    said = right = extra = right0 = extra0 = 0
    for h in hearings:
        knobs = loo[h.name][0]
        texts = [ev.line(h, i, knobs).text for i in range(len(h.lines))]
        s, r, x = name_counts(h, texts)
        said, right, extra = said + s, right + r, extra + x
        plain = [without_names(ev, h, i, knobs) for i in range(len(h.lines))]
        _, r0, x0 = name_counts(h, plain)
        right0, extra0 = right0 + r0, extra0 + x0
        print(f"    names in {h.name:14s} {r}/{s} right, {x} written where not said")
    print(
        f"  names of the case record: {right}/{said} right ({right / max(1, said):.0%}, goal 100%), "
        f"{extra} false; without the name rule {right0}/{said}, {extra0} false"
    )
    mark_report(ev, hearings, loo)
    learning_report(ev, hearings, loo)


def without_names(ev: Evaluator, h: Hearing, i: int, knobs: Knobs) -> str:
    decoded, _ = ev.dev.decoded(h.lines[i].audio, *_bias(h.vocabulary(), knobs.bias))
    options = RecognizerOptions(
        lm_weight=knobs.lm_weight,
        homophone_margin=knobs.homophone_margin,
        term_min_score=knobs.term_min_score,
        correct_names=False,
    )
    rec = Recognizer(None, options, vocabulary=h.vocabulary(), language_model=ev.lm)
    chosen = rec.choose(decoded.hypotheses) if decoded.hypotheses else 0
    return rec.finish(replace(decoded, chosen=chosen)).text


def mark_report(ev: Evaluator, hearings: Sequence[Hearing], loo: dict[str, tuple[Knobs, Scored]]) -> None:
    default = RecognizerOptions().mark_below
    print(f"  low-confidence marks (characters below a probability; {default:g} as shipped):")
    for threshold in MARK_THRESHOLDS:
        wrong = wrong_marked = written = marked = 0
        for h in hearings:
            recs = [ev.line(h, i, loo[h.name][0]) for i in range(len(h.lines))]
            a, b, c, d = mark_coverage(h, recs, threshold)
            wrong, wrong_marked, written, marked = wrong + a, wrong_marked + b, written + c, marked + d
        print(
            f"    below {threshold:.2f}: {wrong_marked}/{wrong} wrong characters marked "
            f"({wrong_marked / max(1, wrong):.0%}), {marked}/{written} characters marked "
            f"({marked / max(1, written):.0%} of the text)"
        )


def learning_report(
    ev: Evaluator,
    hearings: Sequence[Hearing],
    loo: dict[str, tuple[Knobs, Scored]],
    learn: Callable[[CaseVocabulary, str, str], CaseVocabulary] | None = None,
) -> None:
    from transcripts.learning import learn_from_correction

    learn = learn or learn_from_correction
    before, after = Scored(), Scored()
    learned_terms = 0
    for h in hearings:
        knobs = loo[h.name][0]
        half = len(h.lines) // 2
        vocab = h.vocabulary()
        for i in range(half):
            heard = ev.line(h, i, knobs, vocab).text
            if canonical(heard) != canonical(h.lines[i].text):
                vocab = learn(vocab, heard, h.lines[i].text)
        learned_terms += len(vocab.terms) + len(vocab.homophones) - len(h.vocabulary().terms)
        for i in range(half, len(h.lines)):
            before.add(Scored(*cer(h.lines[i].text, ev.line(h, i, knobs).text)))
            after.add(Scored(*cer(h.lines[i].text, ev.line(h, i, knobs, vocab).text)))
    print(
        f"  learning from the clerk (first half's corrections → second half): CER {before.rate:.1%} → "
        f"{after.rate:.1%} ({learned_terms} terms and same-sound pairs learned)"
    )
