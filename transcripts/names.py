"""Names from the case record written right: a near miss of a participant's name or of the company
becomes the name.

Whisper base knows the sounds of a name but not its characters (陈静 → 陈近, 刘洋 → 牛洋, 许敏 → 许名),
and sometimes hears a common word instead (张伟 → 周围). Two rules, both on toneless pinyin
(``pypinyin``), both only towards the names of *this* case:

- **close sound**: every syllable the same or a known confusion (z/zh, n/l, in/ing, en/eng…), at
  most one confused syllable in a name of two or three characters, and not a common word
  (:mod:`transcripts.words`) unless it sounds exactly like the name;
- **a long name** (a company, six characters or more): all syllables but two the same and the
  whole close (``close_score``): 红通仓宠物流有限公司 → 恒通仓储物流有限公司;
- **in a name's place**: right after a role word (申请人, 代理人, 仲裁员…) or right before a word
  that follows a name (担任, 律师, 到庭…), a span that shares at least one syllable with a name and
  sounds like it overall (``anchored_score``), or a span of three characters or more with all
  syllables but one the same (同小东 → 彭晓东), is taken for the name; a common word is only
  replaced there.

Spans equal to a case term (申请人, 仲裁庭…) are never rewritten into a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from transcripts.vocabulary import han_pinyin, syllable_similarity
from transcripts.words import is_common_word

ROLE_WORDS: tuple[str, ...] = (
    "被申请人",
    "申请人",
    "代理人",
    "当事人",
    "首席仲裁员",
    "仲裁员",
    "书记员",
    "证人",
    "律师",
    "法定代表人",
    "本人",
    "我是",
    "我叫",
    "由",
    "和",
    "与",
    "诉",
    "、",
)
"""What comes right before a name in a hearing (the roll call, the tribunal's composition)."""
AFTER_NAME: tuple[str, ...] = (
    "担任",
    "律师",
    "到庭",
    "独任",
    "与被申请人",
    "诉被申请人",
    "本人",
    "的委托",
    "、",
)
"""What comes right after a name."""
_EDGES = "，。？！；：、"


@dataclass(frozen=True)
class NameFix:
    start: int
    end: int
    heard: str
    name: str
    rule: str
    """"close", "long" or "place"."""


class NameCorrector:
    def __init__(
        self,
        names: Sequence[str],
        *,
        protected: Sequence[str] = (),
        close_score: float = 0.8,
        anchored_score: float = 0.7,
    ) -> None:
        """``names``: people and companies as the case record spells them; ``protected``: terms a
        span must not be rewritten from (the case's other terms)."""
        self.close_score = close_score
        self.anchored_score = anchored_score
        entries = []
        for name in sorted({n for n in names if n}, key=len, reverse=True):
            readings = han_pinyin(name)
            if len(name) >= 2 and all(r is not None for r in readings):
                entries.append((name, [r or "" for r in readings]))
        self._names = entries
        self._protected = tuple(t for t in protected if t and t not in {n for n, _ in entries})
        self._protected_set = frozenset(self._protected)

    def fixes(self, text: str) -> list[NameFix]:
        readings = han_pinyin(text)
        taken = [False] * len(text)
        for name, _ in self._names:
            for m in re.finditer(re.escape(name), text):
                for k in range(m.start(), m.end()):
                    taken[k] = True
        # A term (申请人) must stay: a window may hold whole terms (物流 inside a company's name) but
        # not cut one.
        spans = [
            (m.start(), m.end())
            for term in self._protected
            if term in text
            for m in re.finditer(re.escape(term), text)
        ]
        found: list[NameFix] = []
        for name, pinyin in self._names:
            n = len(name)
            for i in range(0, len(text) - n + 1):
                if (
                    any(taken[i : i + n])
                    or text[i : i + n] in self._protected_set
                    or any(a < i + n and b > i and (a < i or b > i + n) for a, b in spans)
                ):
                    continue
                heard = readings[i : i + n]
                if any(r is None for r in heard):
                    continue
                sims = [syllable_similarity(h or "", p) for h, p in zip(heard, pinyin, strict=True)]
                rule = self._rule(sims, text, i, i + n)
                if rule is not None:
                    found.append(NameFix(i, i + n, text[i : i + n], name, rule))
                    for k in range(i, i + n):
                        taken[k] = True
        return sorted(found, key=lambda f: f.start)

    def _rule(self, sims: list[float], text: str, start: int, end: int) -> str | None:
        n = len(sims)
        score = sum(sims) / n
        fuzzy = sum(1 for s in sims if s < 1.0)
        word = text[start:end]
        if (
            min(sims) >= 0.8
            and score >= self.close_score
            and (fuzzy <= 1 or n >= 4)
            and (fuzzy == 0 or not is_common_word(word))
        ):
            return "close"
        exact = sum(1 for s in sims if s == 1.0)
        if n >= 6 and exact >= n - 2 and score >= self.close_score:
            return "long"
        if n >= 3 and exact >= n - 1 and self._in_place(text, start, end):
            return "place"
        if exact >= 1 and score >= self.anchored_score - 1e-9 and self._in_place(text, start, end):
            return "place"
        return None

    @staticmethod
    def _in_place(text: str, start: int, end: int) -> bool:
        """Between a word that precedes a name and one that follows it (a clause edge counts for one
        side, not both)."""
        before, after = text[:start], text[end:]
        word_before = before.endswith(ROLE_WORDS) and before[-1:] not in _EDGES
        word_after = after.startswith(AFTER_NAME) and after[:1] not in _EDGES
        edge_before = not before or before[-1] in _EDGES
        edge_after = not after or after[0] in _EDGES
        return (word_before or word_after) and (word_before or edge_before) and (word_after or edge_after)

    def correct(self, text: str) -> str:
        out = text
        for f in reversed(self.fixes(text)):
            out = out[: f.start] + f.name + out[f.end :]
        return out
