"""The case's own vocabulary: party names, the company, the case number, amounts and legal terms,
taken from the case record, used to correct near-misses after decoding by toneless pinyin (and, where
it helps — with larger models —, to bias decoding with a short prompt sentence or hot words).

The clerk can add terms while the hearing runs (:meth:`CaseVocabulary.adding`); the recognizer picks
up the new vocabulary from the next utterance on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

LEGAL_TERMS: tuple[str, ...] = ()
"""Kept for callers that pass their own list; the built-in list is :func:`builtin_terms` (taken from
the statutes, the procedure law and the 笔录's headings: :mod:`transcripts.legal_terms`)."""

_HAN = re.compile(r"[\u3400-\u9fff]+")


class VocabularyError(Exception):
    pass


@dataclass(frozen=True)
class CaseVocabulary:
    """The words this case's transcript should get right."""

    names: tuple[str, ...] = ()
    """People: parties, agents, arbitrators, the clerk, witnesses."""
    organizations: tuple[str, ...] = ()
    case_number: str = ""
    cause: str = ""
    terms: tuple[str, ...] = ()
    """Case terms, amounts and everything the clerk added."""
    legal_terms: tuple[str, ...] | None = None
    """None: the built-in list from the sources (:mod:`transcripts.legal_terms`)."""
    roles: tuple[tuple[str, str], ...] = field(default=())
    """(role label, name) pairs, for the prompt sentence."""
    homophones: tuple[tuple[str, str], ...] = ()
    """The hearing's own (heard, meant) pairs, learned from the clerk's corrections
    (:mod:`transcripts.learning`): what was heard is written as meant in the next lines."""

    @classmethod
    def from_case(
        cls,
        *,
        case_number: str = "",
        cause: str = "",
        people: Iterable[tuple[str, str]] = (),
        organizations: Iterable[str] = (),
        terms: Iterable[str] = (),
        legal_terms: Sequence[str] | None = None,
    ) -> CaseVocabulary:
        """Build from the case record: ``people`` are (role label, name) pairs."""
        pairs = tuple((role, name.strip()) for role, name in people if name.strip())
        return cls(
            names=_unique(name for _, name in pairs),
            organizations=_unique(o.strip() for o in organizations if o.strip()),
            case_number=case_number.strip(),
            cause=cause.strip(),
            terms=_unique(validate_term(t) for t in terms),
            legal_terms=None if legal_terms is None else tuple(legal_terms),
            roles=pairs,
        )

    def adding(self, *terms: str) -> CaseVocabulary:
        """A copy with more terms (the clerk's additions during the hearing)."""
        new = [validate_term(t) for t in terms]
        return replace(self, terms=_unique([*self.terms, *new]))

    def general_terms(self) -> tuple[str, ...]:
        """The built-in terms (or the list given instead)."""
        if self.legal_terms is not None:
            return self.legal_terms
        from transcripts.legal_terms import builtin_terms

        return builtin_terms()

    def all_terms(self) -> tuple[str, ...]:
        """Every term to correct towards, longest first."""
        roles = [r for r, _ in self.roles]
        found = [*self.names, *self.organizations, *self.terms, *roles, *self.general_terms()]
        if self.cause:
            found.append(self.cause)
        found += [_short_org(o) for o in self.organizations]
        return tuple(
            sorted(_unique(t for t in found if len(_HAN.findall(t)) and len(t) >= 2), key=len, reverse=True)
        )

    def name_terms(self) -> tuple[str, ...]:
        """The people and the company (also as people say it: 示范科技), for name correction."""
        found = [*self.names, *self.organizations, *(_short_org(o) for o in self.organizations)]
        return _unique(t for t in found if len(t) >= 2 and _HAN.fullmatch(t))

    def prompt(self, max_chars: int = 60) -> str:
        """One short natural sentence naming the case, its people and company, for decoding with a
        prompt. A long prompt (every term) is known to make Whisper much worse; on our bench even this
        short one did with Whisper base (it echoes the names), so it is off by default and kept for
        larger models."""
        parts = []
        if self.cause:
            parts.append(f"本案是{self.cause}")
        applicants = [n for r, n in self.roles if r.startswith("申请人")]
        respondents = [n for r, n in self.roles if r.startswith("被申请人")]
        if applicants:
            parts.append("申请人" + "、".join(applicants))
        if self.organizations:
            parts.append("被申请人" + self.organizations[-1])
        elif respondents:
            parts.append("被申请人" + "、".join(respondents))
        sentence = "，".join(parts)
        if len(sentence) > max_chars:
            sentence = sentence[:max_chars]
        return sentence + "。" if sentence else ""

    def hotwords(self, max_terms: int = 12) -> str:
        """The case's own words (not the stock legal terms) for faster-whisper's ``hotwords``."""
        words = [*self.names, *self.organizations, *self.terms]
        return " ".join(_unique(words)[:max_terms])


def validate_term(term: str) -> str:
    text = term.strip()
    if not text:
        raise VocabularyError("an empty term")
    if len(text) > 40:
        raise VocabularyError(f"a term longer than 40 characters: {text[:20]}…")
    if any(c in text for c in "\n\r\t"):
        raise VocabularyError(f"a term with a line break or tab: {text!r}")
    return text


def read_terms(path: Path) -> list[str]:
    """Terms from a file, one per line; blank lines and lines starting with # are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise VocabularyError(f"vocabulary file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise VocabularyError(f"{path} is not UTF-8 text: {exc}") from None
    terms = []
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            terms.append(validate_term(text))
        except VocabularyError as exc:
            raise VocabularyError(f"{path}:{n}: {exc}") from None
    return terms


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return tuple(seen)


def _short_org(name: str) -> str:
    """示范科技有限公司 → 示范科技: how people say a company's name."""
    for suffix in ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


# -- correction by pinyin ----------------------------------------------------------------------------

_INITIALS = (
    "zh",
    "ch",
    "sh",
    "b",
    "p",
    "m",
    "f",
    "d",
    "t",
    "n",
    "l",
    "g",
    "k",
    "h",
    "j",
    "q",
    "x",
    "r",
    "z",
    "c",
    "s",
    "y",
    "w",
)
_FUZZY_INITIALS = {
    frozenset(p)
    for p in (
        ("z", "zh"),
        ("c", "ch"),
        ("s", "sh"),
        ("n", "l"),
        ("f", "h"),
        ("r", "l"),
        ("j", "z"),
        ("q", "c"),
        ("x", "s"),
    )
}
_FUZZY_FINALS = {
    frozenset(p)
    for p in (
        ("en", "eng"),
        ("in", "ing"),
        ("an", "ang"),
        ("ian", "iang"),
        ("uan", "uang"),
        ("on", "ong"),
        ("i", "in"),
        ("u", "ou"),
    )
}


@lru_cache(maxsize=4096)
def _split(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial) :]
    return "", syllable


def syllable_similarity(a: str, b: str) -> float:
    """1 for the same toneless syllable; partial credit for the confusions Whisper (and southern
    accents) make: z/zh, n/l, en/eng…"""
    if a == b:
        return 1.0
    ia, fa = _split(a)
    ib, fb = _split(b)
    si = 1.0 if ia == ib else 0.6 if frozenset((ia, ib)) in _FUZZY_INITIALS else 0.0
    sf = 1.0 if fa == fb else 0.6 if frozenset((fa, fb)) in _FUZZY_FINALS else 0.0
    return 0.5 * si + 0.5 * sf


def han_pinyin(text: str) -> list[str | None]:
    """Toneless pinyin of each character (None for what is not a Han character), read in context."""
    from pypinyin import Style, lazy_pinyin

    out: list[str | None] = [None] * len(text)
    for match in _HAN.finditer(text):
        readings = lazy_pinyin(match.group(0), style=Style.NORMAL)
        if len(readings) == len(match.group(0)):
            for i, r in enumerate(readings):
                out[match.start() + i] = r
    return out


@dataclass(frozen=True)
class Correction:
    start: int
    end: int
    heard: str
    term: str
    score: float


class TermCorrector:
    """Replaces spans that sound like a case term (toneless pinyin) but are written differently."""

    def __init__(
        self,
        terms: Sequence[str],
        *,
        min_score: float = 0.85,
        max_misses: int = 1,
        guarded: Iterable[str] = (),
    ) -> None:
        """``min_score``: mean syllable similarity needed; ``max_misses``: syllables allowed to differ
        at all (terms of one or two syllables must sound exactly the same); ``guarded``: terms only
        written over a span that is not itself a common word (the built-in list)."""
        if not 0 < min_score <= 1:
            raise ValueError("min_score must be in (0, 1]")
        self.min_score = min_score
        self.max_misses = max_misses
        self._guarded = frozenset(guarded)
        # By length, longest first; within a length the caller's order (the case's own terms first).
        self._by_length: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
        self._exact: dict[int, dict[tuple[str, ...], str]] = {}
        self._first: dict[int, dict[str, list[int]]] = {}
        for term in dict.fromkeys(t for t in terms if t):
            readings = han_pinyin(term)
            if len(term) < 2 or any(r is None for r in readings):
                continue
            pinyin = tuple(r or "" for r in readings)
            n = len(term)
            entries = self._by_length.setdefault(n, [])
            self._exact.setdefault(n, {}).setdefault(pinyin, term)
            index = self._first.setdefault(n, {})
            for syllable in set(pinyin[:2]):
                index.setdefault(syllable, []).append(len(entries))
            entries.append((term, pinyin))

    def corrections(self, text: str) -> list[Correction]:
        readings = han_pinyin(text)
        taken = [False] * len(text)
        found: list[Correction] = []
        for n in sorted(self._by_length, reverse=True):
            entries = self._by_length[n]
            # An exact occurrence is protected from being rewritten into another term.
            for term, _ in entries:
                if term in text:
                    for match in re.finditer(re.escape(term), text):
                        for k in range(match.start(), match.end()):
                            taken[k] = True
            for i in range(0, len(text) - n + 1):
                if any(taken[i : i + n]):
                    continue
                heard = readings[i : i + n]
                if any(r is None for r in heard):
                    continue
                sounds = tuple(r or "" for r in heard)
                window = text[i : i + n]
                best: tuple[str, float] | None = None
                exact = self._exact[n].get(sounds)
                if exact is not None and exact != window:
                    best = (exact, 1.0)
                elif n > 2:
                    best = self._near(entries, sounds, n)
                if best is None or best[0] == window:
                    continue
                term, score = best
                if term in self._guarded and _is_word(window):
                    continue
                found.append(Correction(i, i + n, window, term, score))
                for k in range(i, i + n):
                    taken[k] = True
        return sorted(found, key=lambda c: c.start)

    def _near(
        self, entries: list[tuple[str, tuple[str, ...]]], heard: tuple[str, ...], n: int
    ) -> tuple[str, float] | None:
        """The first term of length ``n`` within ``max_misses`` syllables and ``min_score``."""
        index = self._first[n]
        candidates = sorted({*index.get(heard[0], ()), *index.get(heard[1], ())})
        for k in candidates:
            term, pinyin = entries[k]
            sims = [syllable_similarity(h, p) for h, p in zip(heard, pinyin, strict=True)]
            misses = sum(1 for s in sims if s < 1.0)
            score = sum(sims) / n
            if misses <= self.max_misses and score >= self.min_score:
                return term, score
        return None

    def correct(self, text: str) -> str:
        out = text
        for c in reversed(self.corrections(text)):
            out = out[: c.start] + c.term + out[c.end :]
        return out


def apply_pairs(text: str, pairs: Sequence[tuple[str, str]]) -> str:
    """The hearing's learned (heard, meant) pairs written as meant, longest heard first."""
    for heard, meant in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
        text = text.replace(heard, meant)
    return text


def _is_word(text: str) -> bool:
    """A word common enough to have been meant (意义, 工商; not 开停, rare beside 开庭)."""
    from transcripts.words import is_common_word

    return is_common_word(text, min_frequency=100)
