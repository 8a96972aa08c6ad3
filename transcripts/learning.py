"""Learning from the clerk during the hearing: a corrected line teaches the recognizer the words the
clerk wrote, for the lines still to come.

From the line as recognized and as the clerk corrected it, each rewritten stretch gives:

- a **term** (the corrected word, widened to at least two characters with its neighbours: 到停 →
  到庭 teaches 到庭), which the pinyin corrector then writes wherever the same sounds come again;
- a **pair** for the hearing's homophone table (heard → meant, 逢通 → 冯涛), applied as it stands
  to later lines — only when what was heard is not a common word (愿意 stays 愿意 elsewhere).
"""

from __future__ import annotations

import re
from dataclasses import replace
from difflib import SequenceMatcher

from transcripts.vocabulary import CaseVocabulary, VocabularyError, validate_term
from transcripts.words import is_common_word, word_frequency

_HAN = re.compile(r"[\u3400-\u9fff]")
MAX_TERM = 8
"""Longer rewrites are sentences, not words: nothing to learn for the next lines."""


def learned(heard: str, corrected: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(terms, heard → meant pairs) taught by one correction."""
    a = "".join(c for c in heard if _HAN.match(c))
    b = "".join(c for c in corrected if _HAN.match(c))
    terms: list[str] = []
    pairs: list[tuple[str, str]] = []
    for tag, a0, a1, b0, b1 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "replace" or not 1 <= b1 - b0 <= MAX_TERM:
            continue
        lo_b, hi_b, lo_a, hi_a = b0, b1, a0, a1
        if b1 - b0 == 1 and a1 - a0 == 1:
            # Widen a one-character fix by a neighbour so the term has context to match on: the side
            # that makes a word (为托 → 委托 teaches 委托, not 庭委).
            sides = []
            if b0 > 0 and a0 > 0:
                sides.append((b0 - 1, b1, a0 - 1, a1))
            if b1 < len(b) and a1 < len(a):
                sides.append((b0, b1 + 1, a0, a1 + 1))
            if not sides:
                continue
            sides.sort(key=lambda s: word_frequency(b[s[0] : s[1]]), reverse=True)
            lo_b, hi_b, lo_a, hi_a = sides[0]
        term, was = b[lo_b:hi_b], a[lo_a:hi_a]
        if len(term) < 2:
            continue
        terms.append(term)
        if len(was) >= 2 and not is_common_word(was):
            pairs.append((was, term))
    return terms, pairs


def learn_from_correction(vocabulary: CaseVocabulary, heard: str, corrected: str) -> CaseVocabulary:
    """``vocabulary`` with what the clerk's correction of ``heard`` into ``corrected`` teaches."""
    terms, pairs = learned(heard, corrected)
    good = []
    for term in terms:
        try:
            good.append(validate_term(term))
        except VocabularyError:
            continue
    if not good and not pairs:
        return vocabulary
    known = dict(vocabulary.homophones)
    for was, term in pairs:
        known.setdefault(was, term)
    return replace(vocabulary.adding(*good), homophones=tuple(known.items()))
