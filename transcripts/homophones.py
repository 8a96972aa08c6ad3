"""Same-sound character swaps where the legal-text model strongly prefers another character.

Whisper base hears the syllable and writes a wrong character of the same sound (劳动和同 for 劳动合同,
有意义 for 有异议). For each character, the characters with the same toneless pinyin that the model
knows well are tried; a swap is kept when it raises the model's log-probability of the surrounding
characters by more than ``margin`` (natural log). Characters inside the case's terms are left alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

from transcripts.lm import BOS, CharNgramModel
from transcripts.vocabulary import han_pinyin

_HAN = re.compile(r"[\u4e00-\u9fff]")


class HomophoneFixer:
    def __init__(
        self, model: CharNgramModel, *, margin: float = 4.0, min_count: int = 30, max_candidates: int = 12
    ) -> None:
        self.model = model
        self.margin = margin
        self._by_sound = _by_sound(model, min_count, max_candidates)

    def fix(self, text: str, protected: Sequence[str] = ()) -> str:
        """``text`` with confident same-sound swaps applied; spans equal to a ``protected`` term and
        anything that is not a Han character are never changed."""
        chars = list(text)
        locked = [not _HAN.fullmatch(c) for c in chars]
        for term in protected:
            for m in re.finditer(re.escape(term), text):
                for k in range(m.start(), m.end()):
                    locked[k] = True
        readings = han_pinyin(text)
        order = self.model.order
        for i, char in enumerate(chars):
            sound = readings[i]
            if locked[i] or sound is None:
                continue
            candidates = [c for c in self._by_sound.get(sound, ()) if c != char]
            if not candidates:
                continue
            lo, hi = max(0, i - order + 1), min(len(chars), i + order)
            base = self._local(chars, i, lo, hi)
            best, gain = char, self.margin
            for candidate in candidates:
                chars[i] = candidate
                delta = self._local(chars, i, lo, hi) - base
                if delta > gain:
                    best, gain = candidate, delta
            chars[i] = best
        return "".join(chars)

    def _local(self, chars: list[str], i: int, lo: int, hi: int) -> float:
        """Log-probability of the characters whose n-gram window includes position ``i``, each given
        the characters before it in the same clause (a clause starts as the model was trained: after
        its start symbols)."""
        total = 0.0
        order = self.model.order
        for j in range(i, hi):
            if not _HAN.fullmatch(chars[j]):
                break
            history = ""
            for k in range(j - 1, max(lo, j - order + 1) - 1, -1):
                if not _HAN.fullmatch(chars[k]):
                    history = BOS * (order - 1) + history
                    break
                history = chars[k] + history
            else:
                if j - order + 1 < 0:
                    history = BOS * (order - 1) + history
            total += self.model.char_logprob(history[-(order - 1) :], chars[j])
        return total


@lru_cache(maxsize=4)
def _by_sound(model: CharNgramModel, min_count: int, max_candidates: int) -> dict[str, list[str]]:
    """The model's well-known characters by toneless reading, most frequent first (built once per
    model: every hearing's recognizer shares it)."""
    from pypinyin import Style, lazy_pinyin

    by_sound: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for char in model.characters(min_count):
        if _HAN.fullmatch(char):
            reading = lazy_pinyin(char, style=Style.NORMAL)[0]
            by_sound[reading].append((model.unigram_count(char), char))
    return {
        sound: [c for _, c in sorted(chars, reverse=True)[:max_candidates]]
        for sound, chars in by_sound.items()
    }
