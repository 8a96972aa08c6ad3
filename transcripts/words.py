"""Common Chinese words: jieba's word list (``dict.txt``, about 349,000 words with frequencies from
the People's Daily and other corpora), read as a plain table; jieba's segmenter is not used.

A near miss of a name that is itself a common word (周围, 照明, 留言) is only replaced where a name
stands (:mod:`transcripts.names`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path


@lru_cache(maxsize=1)
def _table() -> dict[str, int]:
    spec = find_spec("jieba")
    if spec is None or spec.origin is None:
        raise RuntimeError("jieba is not installed (pip install jieba): its word list is needed")
    path = Path(spec.origin).parent / "dict.txt"
    table: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            # Only short words are looked up (name-sized windows and procedure words).
            if len(parts) >= 2 and len(parts[0]) <= 4:
                table[parts[0]] = int(parts[1])
    return table


def word_frequency(word: str) -> int:
    """How often jieba's corpus has ``word`` as a word (0 when it is not a word)."""
    return _table().get(word, 0)


def is_common_word(word: str, min_frequency: int = 3) -> bool:
    return word_frequency(word) >= min_frequency
