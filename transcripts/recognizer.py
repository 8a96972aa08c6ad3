"""One utterance's audio → one clean line of the 笔录, or nothing when it was not speech.

The steps, each a knob: decode with Whisper (a short natural prompt naming the case, hot words if
asked) into an n-best list → rescore it with the legal-text model → clean (Simplified, Chinese
punctuation, commas at the speaker's pauses, 笔录 numbers, loop and stock-phrase guard) → replace
near-miss case terms by pinyin → swap same-sound characters the legal-text model strongly prefers.
Lines that look invented (high no-speech probability with a low log-probability, a very low
log-probability, a decoding loop) are rejected with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from devices.media import Samples
from transcripts.confidence import char_probabilities, uncertain_spans
from transcripts.decoder import Decoded, DecodeOptions, Hypothesis, WhisperDecoder, Word
from transcripts.homophones import HomophoneFixer
from transcripts.lm import CharNgramModel
from transcripts.names import NameCorrector
from transcripts.numbers import number_style
from transcripts.text import TimedChar, clean_text, compression_ratio, pause_commas
from transcripts.vocabulary import CaseVocabulary, TermCorrector, apply_pairs

if TYPE_CHECKING:
    from faster_whisper import WhisperModel  # type: ignore[import-untyped]


@dataclass(frozen=True)
class GuardOptions:
    """When a decoded line counts as invented rather than heard."""

    no_speech_threshold: float = 0.6
    """With ``log_prob_threshold``: the model thinks there is no speech and is unsure of its text."""
    log_prob_threshold: float = -1.0
    min_log_prob: float = -1.8
    """Below this average log-probability a line is rejected whatever the no-speech probability."""
    compression_ratio_threshold: float = 2.4
    """A line that compresses this well is a decoding loop."""
    min_confidence: float = 0.2
    """Reject a line whose mean character confidence is below this (when confidences are known)."""


@dataclass(frozen=True)
class RecognizerOptions:
    decode: DecodeOptions = field(default_factory=DecodeOptions)
    guards: GuardOptions = field(default_factory=GuardOptions)
    use_prompt: bool = False
    """Decode with one short sentence naming the case's cause, applicant and company. Measured on the
    bench hearing (51 lines) it made things worse (CER 15.6% → 19.7%; with the vocabulary and the
    legal-text model 7.0% → 12.2%): Whisper base echoes the prompt's names into unrelated lines."""
    use_hotwords: bool = False
    """Pass the case's names and company as faster-whisper ``hotwords``: measured 15.6% → 17.5%."""
    correct_terms: bool = True
    term_min_score: float = 0.85
    """Mean syllable similarity a near miss needs to become a case term (:class:`TermCorrector`)."""
    correct_names: bool = True
    """Near misses of the case record's names (people, the company) become the name
    (:mod:`transcripts.names`)."""
    number_style: str = "standard"
    """How the institute's 笔录 writes numbers (:data:`transcripts.numbers.STYLES`)."""
    lm_weight: float = 0.0
    """Weight of the legal-text model in n-best rescoring (0: the model's own best). Chosen 0 in four
    of six leave-one-hearing-out folds of the development set (bench_asr dev); 0.5–1 in the others."""
    length_bonus: float = 1.5
    """Per-character bonus in rescoring: the n-gram model alone prefers shorter lines."""
    homophone_margin: float | None = 6.0
    """Log-probability gain a same-sound swap needs; None disables swapping."""
    mark_below: float = 0.7
    """Characters whose probability is below this are marked for the clerk (0: no marks). Measured on
    the development set (bench_asr dev): 0.7 marks 10% of the text and 39% of the wrong characters;
    0.5 marks 5% and 18%, 0.9 marks 19% and 55%."""
    pause_comma: float = 0.35
    """A pause at least this long (seconds) inside a line becomes a comma."""


@dataclass(frozen=True)
class Recognition:
    text: str
    """The clean line ("" when rejected)."""
    raw: str
    """What the model wrote (chosen hypothesis)."""
    words: tuple[Word, ...]
    """Characters with times (seconds from the start of the audio) and confidences."""
    confidence: float | None
    avg_logprob: float
    no_speech_prob: float
    rejected: str | None = None
    """Why the line was dropped, or None."""
    uncertain: tuple[tuple[int, int], ...] = ()
    """[start, end) spans of ``text`` the model was unsure of (:mod:`transcripts.confidence`)."""


class Recognizer:
    """Thread-safe: decoding is serialized by a lock (CTranslate2 already uses every core)."""

    def __init__(
        self,
        model: WhisperModel | None,
        options: RecognizerOptions = RecognizerOptions(),
        *,
        vocabulary: CaseVocabulary | None = None,
        language_model: CharNgramModel | None = None,
    ) -> None:
        self.options = options
        self._numbers = number_style(options.number_style)
        decode = options.decode
        if (language_model is None or options.lm_weight <= 0) and decode.num_hypotheses > 1:
            # The n-best list only feeds rescoring (the same-sound swaps work on the chosen line).
            # Asking for one lets the beam search stop at its first finished hypothesis: measured on
            # the bench hearing, the same CER (7.8%) at a little less decoding time.
            decode = replace(decode, num_hypotheses=1)
        # Without a model it only finishes lines decoded elsewhere (the bench re-scores cached n-best
        # lists with it).
        self._decoder = WhisperDecoder(model, decode) if model is not None else None
        self.language_model = language_model
        self._fixer = (
            HomophoneFixer(language_model, margin=options.homophone_margin)
            if language_model is not None and options.homophone_margin is not None
            else None
        )
        self._lock = threading.Lock()
        self._vocabulary = CaseVocabulary()
        self._corrector = TermCorrector(())
        self._names = NameCorrector(())
        self._terms: tuple[str, ...] = ()
        self.vocabulary = vocabulary or CaseVocabulary()

    @property
    def decoder(self) -> WhisperDecoder:
        if self._decoder is None:
            raise RuntimeError("this recognizer has no model: it only finishes decoded lines")
        return self._decoder

    @property
    def vocabulary(self) -> CaseVocabulary:
        return self._vocabulary

    @vocabulary.setter
    def vocabulary(self, vocabulary: CaseVocabulary) -> None:
        terms = vocabulary.all_terms()
        corrector = TermCorrector(
            terms,
            min_score=self.options.term_min_score,
            guarded=set(vocabulary.general_terms()) - set(vocabulary.terms) - set(vocabulary.names),
        )
        names = NameCorrector(vocabulary.name_terms(), protected=terms)
        # Swapped as a whole: an utterance being decoded keeps the vocabulary it started with.
        self._vocabulary, self._corrector, self._names, self._terms = vocabulary, corrector, names, terms

    def add_terms(self, *terms: str) -> None:
        """The clerk's additions; they apply from the next utterance."""
        self.vocabulary = self.vocabulary.adding(*terms)

    def recognize(
        self, samples: Samples, *, partial: bool = False, cancelled: Callable[[], bool] | None = None
    ) -> Recognition:
        """Decode 16 kHz ``samples`` (one utterance, ≤ 30 s). ``partial`` decodes fast (greedy, no
        rescoring or alignment) for text shown while the speaker is still talking. ``cancelled``:
        see :meth:`WhisperDecoder.decode` (raises :class:`~transcripts.decoder.DecodeCancelled`)."""
        vocabulary, corrector, terms = self._vocabulary, self._corrector, self._terms
        names = self._names
        o = self.options
        prompt = vocabulary.prompt() if o.use_prompt else None
        hotwords = vocabulary.hotwords() if o.use_hotwords else None
        with self._lock:
            if partial:
                fast = WhisperDecoder(
                    self.decoder.model,
                    DecodeOptions(
                        language=o.decode.language,
                        beam_size=1,
                        num_hypotheses=1,
                        word_confidence=False,
                        pad_seconds=o.decode.pad_seconds,
                    ),
                )
                decoded = fast.decode(samples, prompt=prompt, hotwords=hotwords, cancelled=cancelled)
            else:
                decoded = self.decoder.decode(
                    samples, prompt=prompt, hotwords=hotwords, choose=self.choose, cancelled=cancelled
                )
        return self.finish(
            decoded, partial=partial, corrector=corrector, terms=terms, names=names, vocabulary=vocabulary
        )

    def choose(self, hypotheses: Sequence[Hypothesis]) -> int:
        """The hypothesis the legal-text model rescoring prefers (0 without a model)."""
        lm = self.language_model
        if lm is None or self.options.lm_weight <= 0 or len(hypotheses) == 1:
            return 0
        best, best_score = 0, float("-inf")
        for i, h in enumerate(hypotheses):
            text = clean_text(h.text)
            chars = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
            score = h.logprob + self.options.lm_weight * lm.score(text) + self.options.length_bonus * chars
            if score > best_score:
                best, best_score = i, score
        return best

    def finish(
        self,
        decoded: Decoded,
        *,
        partial: bool = False,
        corrector: TermCorrector | None = None,
        terms: Sequence[str] | None = None,
        names: NameCorrector | None = None,
        vocabulary: CaseVocabulary | None = None,
    ) -> Recognition:
        """Guards and clean-up of a decoded utterance (its chosen hypothesis)."""
        vocabulary = vocabulary or self._vocabulary
        corrector = corrector or self._corrector
        names = names or self._names
        terms = self._terms if terms is None else terms
        g = self.options.guards
        best = decoded.best if decoded.hypotheses else None
        raw = best.text if best else ""
        avg = best.avg_logprob if best else float("-inf")
        words = decoded.words
        confidence = sum(w.probability for w in words) / len(words) if words else None

        def reject(reason: str) -> Recognition:
            return Recognition("", raw, words, confidence, avg, decoded.no_speech_prob, reason)

        if not raw.strip():
            return reject("empty")
        if decoded.no_speech_prob > g.no_speech_threshold and avg < g.log_prob_threshold:
            return reject(f"no speech (p={decoded.no_speech_prob:.2f}, logprob={avg:.2f})")
        if avg < g.min_log_prob:
            return reject(f"log-probability {avg:.2f} below {g.min_log_prob}")
        if compression_ratio(raw) > g.compression_ratio_threshold:
            return reject(f"repetitive (compression ratio {compression_ratio(raw):.1f})")
        if confidence is not None and confidence < g.min_confidence:
            return reject(f"confidence {confidence:.2f} below {g.min_confidence}")
        source = raw
        if words and "".join(w.text for w in words).strip() == raw:
            source = pause_commas(
                [TimedChar(w.text, w.start, w.end) for w in words], self.options.pause_comma
            )
        text = clean_text(source, self._numbers)
        if not text:
            return reject("not speech (a known stock phrase or only punctuation)")
        if not partial:
            if vocabulary.homophones:
                text = apply_pairs(text, vocabulary.homophones)
            if self.options.correct_names:
                text = names.correct(text)
            if self.options.correct_terms:
                text = corrector.correct(text)
            if self._fixer is not None:
                text = self._fixer.fix(text, protected=terms)
        uncertain: tuple[tuple[int, int], ...] = ()
        if self.options.mark_below > 0 and words:
            # The probabilities are of the aligned hypothesis, matched to the final line character by
            # character (what the clean-up rewrote included).
            trusted = [*vocabulary.name_terms(), *vocabulary.terms]
            uncertain = uncertain_spans(char_probabilities(text, words, trusted), self.options.mark_below)
        return Recognition(text, raw, words, confidence, avg, decoded.no_speech_prob, uncertain=uncertain)
