"""The case's own vocabulary: party names, the company, the case number, amounts and legal terms,
taken from the case record, used to correct near-misses after decoding by toneless pinyin (and, where
it helps — with larger models —, to bias decoding with a short prompt sentence or hot words).

The clerk can add terms while the hearing runs (:meth:`CaseVocabulary.adding`); the recognizer picks
up the new vocabulary from the next utterance on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

LEGAL_TERMS: tuple[str, ...] = (
    "劳动合同",
    "劳动合同法",
    "劳动法",
    "劳动争议调解仲裁法",
    "劳动关系",
    "劳动报酬",
    "经济补偿金",
    "经济补偿",
    "赔偿金",
    "加班费",
    "工资",
    "仲裁请求",
    "仲裁庭",
    "首席仲裁员",
    "仲裁员",
    "书记员",
    "申请人",
    "被申请人",
    "代理人",
    "第三人",
    "证人",
    "回避",
    "庭审调查",
    "举证质证",
    "质证",
    "证据",
    "考勤记录",
    "工资流水",
    "社会保险",
    "解除劳动合同",
    "违法解除",
    "试用期",
    "竞业限制",
    "年休假",
    "双倍工资",
    "综合工时",
    "综合工时制度",
    "最后陈述",
    "调解",
    "裁决",
    "驳回",
    "答辩",
    "辩论",
    "异议",
    "没有异议",
    "真实性",
    "合法性",
    "关联性",
    "证明目的",
    "休庭",
    "闭庭",
    "开庭",
    "笔录",
)
"""Labour-arbitration terms every case uses."""

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
    legal_terms: tuple[str, ...] = LEGAL_TERMS
    roles: tuple[tuple[str, str], ...] = field(default=())
    """(role label, name) pairs, for the prompt sentence."""

    @classmethod
    def from_case(
        cls,
        *,
        case_number: str = "",
        cause: str = "",
        people: Iterable[tuple[str, str]] = (),
        organizations: Iterable[str] = (),
        terms: Iterable[str] = (),
        legal_terms: Sequence[str] = LEGAL_TERMS,
    ) -> CaseVocabulary:
        """Build from the case record: ``people`` are (role label, name) pairs."""
        pairs = tuple((role, name.strip()) for role, name in people if name.strip())
        return cls(
            names=_unique(name for _, name in pairs),
            organizations=_unique(o.strip() for o in organizations if o.strip()),
            case_number=case_number.strip(),
            cause=cause.strip(),
            terms=_unique(validate_term(t) for t in terms),
            legal_terms=tuple(legal_terms),
            roles=pairs,
        )

    def adding(self, *terms: str) -> CaseVocabulary:
        """A copy with more terms (the clerk's additions during the hearing)."""
        new = [validate_term(t) for t in terms]
        return CaseVocabulary(
            self.names,
            self.organizations,
            self.case_number,
            self.cause,
            _unique([*self.terms, *new]),
            self.legal_terms,
            self.roles,
        )

    def all_terms(self) -> tuple[str, ...]:
        """Every term to correct towards, longest first."""
        found = [*self.names, *self.organizations, *self.terms, *self.legal_terms]
        if self.cause:
            found.append(self.cause)
        found += [_short_org(o) for o in self.organizations]
        return tuple(
            sorted(_unique(t for t in found if len(_HAN.findall(t)) and len(t) >= 2), key=len, reverse=True)
        )

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

    def __init__(self, terms: Sequence[str], *, min_score: float = 0.85, max_misses: int = 1) -> None:
        """``min_score``: mean syllable similarity needed; ``max_misses``: syllables allowed to differ
        at all (terms of one or two syllables must sound exactly the same)."""
        if not 0 < min_score <= 1:
            raise ValueError("min_score must be in (0, 1]")
        self.min_score = min_score
        self.max_misses = max_misses
        entries = []
        for term in sorted({t for t in terms if t}, key=len, reverse=True):
            readings = han_pinyin(term)
            if len(term) >= 2 and all(r is not None for r in readings):
                entries.append((term, [r for r in readings if r is not None]))
        self._terms = entries

    def corrections(self, text: str) -> list[Correction]:
        readings = han_pinyin(text)
        taken = [False] * len(text)
        found: list[Correction] = []
        for term, pinyin in self._terms:
            n = len(term)
            # An exact occurrence is protected from being rewritten into another term.
            for match in re.finditer(re.escape(term), text):
                for k in range(match.start(), match.end()):
                    taken[k] = True
            for i in range(0, len(text) - n + 1):
                window = text[i : i + n]
                if window == term or any(taken[i : i + n]):
                    continue
                heard = readings[i : i + n]
                if any(r is None for r in heard):
                    continue
                sims = [syllable_similarity(h or "", p) for h, p in zip(heard, pinyin, strict=True)]
                misses = sum(1 for s in sims if s < 1.0)
                allowed = 0 if n <= 2 else self.max_misses
                score = sum(sims) / n
                if misses <= allowed and score >= self.min_score:
                    found.append(Correction(i, i + n, window, term, score))
                    for k in range(i, i + n):
                        taken[k] = True
        return sorted(found, key=lambda c: c.start)

    def correct(self, text: str) -> str:
        out = text
        for c in reversed(self.corrections(text)):
            out = out[: c.start] + c.term + out[c.end :]
        return out
