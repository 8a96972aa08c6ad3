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
from transcripts.decoder import Decoded, DecodeOptions, Hypothesis, WhisperDecoder, Word
from transcripts.homophones import HomophoneFixer
from transcripts.lm import CharNgramModel
from transcripts.text import TimedChar, clean_text, compression_ratio, pause_commas
from transcripts.vocabulary import CaseVocabulary, TermCorrector

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
    lm_weight: float = 0.0
    """Weight of the legal-text model in n-best rescoring (0: the model's own best). Off by default:
    on the development hearing (the demo script) rescoring at 0.2–0.5 cost 1–1.4 points of CER while
    the same-sound swaps below gained 1.6; bench_asr reports both."""
    length_bonus: float = 1.5
    """Per-character bonus in rescoring: the n-gram model alone prefers shorter lines."""
    homophone_margin: float | None = 5.0
    """Log-probability gain a same-sound swap needs; None disables swapping."""
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


class Recognizer:
    """Thread-safe: decoding is serialized by a lock (CTranslate2 already uses every core)."""

    def __init__(
        self,
        model: WhisperModel,
        options: RecognizerOptions = RecognizerOptions(),
        *,
        vocabulary: CaseVocabulary | None = None,
        language_model: CharNgramModel | None = None,
    ) -> None:
        self.options = options
        decode = options.decode
        if (language_model is None or options.lm_weight <= 0) and decode.num_hypotheses > 1:
            # The n-best list only feeds rescoring (the same-sound swaps work on the chosen line).
            # Asking for one lets the beam search stop at its first finished hypothesis: measured on
            # the bench hearing, the same CER (7.8%) at a little less decoding time.
            decode = replace(decode, num_hypotheses=1)
        self.decoder = WhisperDecoder(model, decode)
        self.language_model = language_model
        self._fixer = (
            HomophoneFixer(language_model, margin=options.homophone_margin)
            if language_model is not None and options.homophone_margin is not None
            else None
        )
        self._lock = threading.Lock()
        self._vocabulary = CaseVocabulary()
        self._corrector = TermCorrector(())
        self._terms: tuple[str, ...] = ()
        self.vocabulary = vocabulary or CaseVocabulary()

    @property
    def vocabulary(self) -> CaseVocabulary:
        return self._vocabulary

    @vocabulary.setter
    def vocabulary(self, vocabulary: CaseVocabulary) -> None:
        terms = vocabulary.all_terms()
        corrector = TermCorrector(terms)
        # Swapped as a whole: an utterance being decoded keeps the vocabulary it started with.
        self._vocabulary, self._corrector, self._terms = vocabulary, corrector, terms

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
        return self.finish(decoded, partial=partial, corrector=corrector, terms=terms)

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
    ) -> Recognition:
        """Guards and clean-up of a decoded utterance (its chosen hypothesis)."""
        corrector = corrector or self._corrector
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
        text = clean_text(source)
        if not text:
            return reject("not speech (a known stock phrase or only punctuation)")
        if not partial:
            if self.options.correct_terms:
                text = corrector.correct(text)
            if self._fixer is not None:
                text = self._fixer.fix(text, protected=terms)
        return Recognition(text, raw, words, confidence, avg, decoded.no_speech_prob)
