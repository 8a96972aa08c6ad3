"""One utterance in, an n-best list out: Whisper run through CTranslate2 directly.

faster-whisper's ``transcribe`` returns only its best guess; rescoring with a language model needs the
n-best list, so this calls the model's ``generate`` with ``num_hypotheses`` (the prompt is built the
way faster-whisper builds it: hot words and a short prompt after ``<|startofprev|>``). Word
timestamps and confidences come from the model's cross-attention alignment of the chosen hypothesis,
as in faster-whisper.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from devices.media import Samples

if TYPE_CHECKING:
    from faster_whisper import WhisperModel  # type: ignore[import-untyped]

SAMPLE_RATE = 16000
"""What Whisper listens to."""
MAX_SECONDS = 30.0
"""Whisper's window; longer utterances must be cut before decoding."""


class DecodeError(Exception):
    pass


class DecodeCancelled(DecodeError):
    """The caller withdrew the utterance while it was being decoded."""


@dataclass(frozen=True)
class DecodeOptions:
    language: str = "zh"
    beam_size: int = 5
    num_hypotheses: int = 5
    """How many hypotheses to return (at most ``beam_size``) for rescoring."""
    patience: float = 1.0
    length_penalty: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    max_new_tokens: int = 160
    suppress_blank: bool = True
    word_confidence: bool = True
    """Align the chosen hypothesis for per-character times and confidences (costs one extra pass)."""
    pad_seconds: float | None = 10.0
    """Silence the encoder sees after the utterance, capped at Whisper's 30 s window; ``None`` pads
    to the full window as Whisper was trained. The encoder's cost grows faster than linearly with
    its input: measured on 23 synthesized hearing lines, 10 s of padding kept the full window's CER
    (15.1% vs 15.3%) at half the time, while 5 s cost 3 points and 2 s cost 30."""

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {self.beam_size}")
        if not 1 <= self.num_hypotheses <= self.beam_size:
            raise ValueError(f"num_hypotheses must be in [1, beam_size], got {self.num_hypotheses}")
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be positive")
        if self.pad_seconds is not None and self.pad_seconds < 0:
            raise ValueError("pad_seconds must not be negative")


@dataclass(frozen=True)
class Hypothesis:
    text: str
    """As the model wrote it (may be Traditional, with ASCII punctuation)."""
    tokens: tuple[int, ...]
    avg_logprob: float
    """Mean log-probability per token (the end token counted), as faster-whisper reports it."""
    logprob: float
    """Summed log-probability."""

    @property
    def compression_ratio(self) -> float:
        data = self.text.encode("utf-8")
        return len(data) / max(1, len(zlib.compress(data)))


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    """Seconds from the start of the decoded audio (callers shift it onto the hearing clock)."""
    end: float
    probability: float


@dataclass(frozen=True)
class Decoded:
    hypotheses: tuple[Hypothesis, ...]
    """Best first, by the model's own score."""
    chosen: int
    """Index of the hypothesis the chooser picked (0 without one)."""
    no_speech_prob: float
    duration: float
    words: tuple[Word, ...] = ()

    @property
    def best(self) -> Hypothesis:
        return self.hypotheses[self.chosen]


Chooser = Callable[[Sequence[Hypothesis]], int]
"""Picks one hypothesis of the n-best list (e.g. after language-model rescoring)."""


class WhisperDecoder:
    """Decodes short utterances. Not thread-safe by itself: give each worker thread its own calls
    in sequence (CTranslate2 serializes on the model anyway on CPU)."""

    def __init__(self, model: WhisperModel, options: DecodeOptions = DecodeOptions()) -> None:
        from faster_whisper.tokenizer import Tokenizer  # type: ignore[import-untyped]

        self.model = model
        self.options = options
        self.tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=options.language
        )
        from faster_whisper.transcribe import get_suppressed_tokens  # type: ignore[import-untyped]

        self._suppress = list(get_suppressed_tokens(self.tokenizer, (-1,)) or [])

    def prompt_tokens(self, prompt: str | None = None, hotwords: str | None = None) -> list[int]:
        """The decoder prompt: ``<|startofprev|> hotwords prompt <|startoftranscript|><|zh|>…``."""
        tok = self.tokenizer
        limit = self.model.max_length // 2 - 1
        tokens: list[int] = []
        if (prompt and prompt.strip()) or (hotwords and hotwords.strip()):
            tokens.append(tok.sot_prev)
            if hotwords and hotwords.strip():
                tokens += tok.encode(" " + hotwords.strip())[:limit]
            if prompt and prompt.strip():
                tokens += tok.encode(" " + prompt.strip())[-limit:]
        return [*tokens, *tok.sot_sequence, tok.no_timestamps]

    def decode(
        self,
        samples: Samples,
        *,
        prompt: str | None = None,
        hotwords: str | None = None,
        choose: Chooser | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Decoded:
        """Decode 16 kHz mono ``samples`` (at most 30 s). ``cancelled`` is asked between the encoder
        and the decoder (about half the work each): when it says so, :class:`DecodeCancelled` is
        raised instead of decoding on."""
        import ctranslate2  # type: ignore[import-untyped]
        from faster_whisper.audio import pad_or_trim  # type: ignore[import-untyped]

        audio = np.ascontiguousarray(samples, dtype=np.float32)
        duration = len(audio) / SAMPLE_RATE
        if duration > MAX_SECONDS + 0.01:
            raise DecodeError(
                f"an utterance of {duration:.1f} s is longer than Whisper's {MAX_SECONDS:.0f} s"
            )
        if len(audio) < SAMPLE_RATE // 10:
            audio = np.pad(audio, (0, SAMPLE_RATE // 10 - len(audio)))
        o = self.options
        fe = self.model.feature_extractor
        content_frames = len(audio) // fe.hop_length
        frames = fe.nb_max_frames
        if o.pad_seconds is not None:
            frames = min(frames, content_frames + round(o.pad_seconds * SAMPLE_RATE / fe.hop_length))
        # Pad with silent audio, not silent features: Whisper's log-mel clamps to the loudest frame,
        # and zeros in feature space are not what silence looks like to it.
        padding = max(0, frames * fe.hop_length - len(audio)) + fe.hop_length
        features = pad_or_trim(fe(audio, padding=padding)[..., :-1], frames)
        storage = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[np.newaxis], np.float32))
        encoded = self.model.model.encode(storage, to_cpu=False)
        if cancelled is not None and cancelled():
            raise DecodeCancelled("withdrawn after encoding")
        prompt_ids = self.prompt_tokens(prompt, hotwords)
        max_length = min(self.model.max_length, len(prompt_ids) + o.max_new_tokens)
        result: Any = self.model.model.generate(
            encoded,
            [prompt_ids],
            beam_size=o.beam_size,
            patience=o.patience,
            num_hypotheses=o.num_hypotheses,
            length_penalty=o.length_penalty,
            repetition_penalty=o.repetition_penalty,
            no_repeat_ngram_size=o.no_repeat_ngram_size,
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=o.suppress_blank,
            suppress_tokens=self._suppress,
        )[0]
        hypotheses = []
        for ids, score in zip(result.sequences_ids, result.scores, strict=True):
            n = len(ids)
            cum = float(score) * (n**o.length_penalty) if n else float(score)
            hypotheses.append(
                Hypothesis(
                    text=self.tokenizer.decode(list(ids)).strip(),
                    tokens=tuple(int(i) for i in ids),
                    avg_logprob=cum / (n + 1),
                    logprob=cum,
                )
            )
        hypotheses.sort(key=lambda h: h.avg_logprob, reverse=True)
        chosen = 0
        if choose is not None and hypotheses:
            chosen = choose(hypotheses)
            if not 0 <= chosen < len(hypotheses):
                raise DecodeError(f"the chooser picked hypothesis {chosen} of {len(hypotheses)}")
        words: tuple[Word, ...] = ()
        if o.word_confidence and hypotheses and hypotheses[chosen].tokens:
            words = self._align(encoded, list(hypotheses[chosen].tokens), content_frames)
        return Decoded(
            hypotheses=tuple(hypotheses),
            chosen=chosen,
            no_speech_prob=float(result.no_speech_prob),
            duration=duration,
            words=words,
        )

    def _align(self, encoded: Any, tokens: list[int], frames: int) -> tuple[Word, ...]:
        tok = self.tokenizer
        text_tokens = [t for t in tokens if t < tok.eot]
        if not text_tokens:
            return ()
        result = self.model.model.align(
            encoded, tok.sot_sequence, [text_tokens], max(1, frames), median_filter_width=7
        )[0]
        probs = np.asarray(result.text_token_probs, dtype=np.float64)
        pairs = np.asarray(result.alignments, dtype=np.int64).reshape(-1, 2)
        words, word_tokens = tok.split_to_word_tokens([*text_tokens, tok.eot])
        if len(word_tokens) <= 1 or len(pairs) == 0:
            return ()
        bounds = np.pad(np.cumsum([len(t) for t in word_tokens[:-1]]), (1, 0))
        jumps = np.pad(np.diff(pairs[:, 0]), (1, 0), constant_values=1).astype(bool)
        jump_times = pairs[jumps, 1] / self.model.tokens_per_second
        out = []
        for k in range(len(bounds) - 1):
            i, j = int(bounds[k]), int(bounds[k + 1])
            if i >= len(jump_times) or i >= len(probs):
                break
            start = float(jump_times[i])
            end = float(jump_times[min(j, len(jump_times) - 1)])
            out.append(Word(words[k], start, max(start, end), float(np.mean(probs[i:j]))))
        return tuple(out)
