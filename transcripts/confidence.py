"""Which characters of a finished line the model was unsure of, so the clerk's eye goes there.

The probabilities are the ones the decoder already computed (the alignment of the chosen hypothesis,
one per character or token). The clean-up changes the text (Simplified characters, punctuation,
numbers, names and terms from the case record, same-sound swaps), so the raw characters are aligned
to the final line: a character that came through unchanged keeps its probability, one rewritten in
place takes the probability of the one it replaced, and a span written from the case record (a name,
the company, a term) is trusted. A run of characters below the threshold is one mark.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from transcripts.decoder import Word
from transcripts.text import to_simplified

_MARKABLE = re.compile(r"[\u3400-\u9fff0-9A-Za-z]")


def char_probabilities(text: str, words: Sequence[Word], trusted: Sequence[str] = ()) -> list[float | None]:
    """One probability per character of ``text`` (None: punctuation, or nothing known)."""
    raw_chars: list[str] = []
    raw_probs: list[float] = []
    for w in words:
        for ch in to_simplified(w.text):
            if not ch.isspace():
                raw_chars.append(ch)
                raw_probs.append(w.probability)
    out: list[float | None] = [None] * len(text)
    matcher = SequenceMatcher(None, "".join(raw_chars), text, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and a1 - a0 == b1 - b0):
            for k in range(b1 - b0):
                out[b0 + k] = raw_probs[a0 + k]
        elif tag == "replace" and a1 > a0:
            # Rewritten with another length (numbers, a term): the least sure character it replaced.
            low = min(raw_probs[a0:a1])
            for k in range(b0, b1):
                out[k] = low
    for term in trusted:
        for m in re.finditer(re.escape(term), text):
            for k in range(m.start(), m.end()):
                out[k] = None
    for k, ch in enumerate(text):
        if not _MARKABLE.match(ch):
            out[k] = None
    return out


def uncertain_spans(probabilities: Sequence[float | None], threshold: float) -> tuple[tuple[int, int], ...]:
    """[start, end) runs of characters whose probability is below ``threshold``."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for k, p in enumerate([*probabilities, None]):
        low = p is not None and p < threshold
        if low and start is None:
            start = k
        elif not low and start is not None:
            spans.append((start, k))
            start = None
    return tuple(spans)
