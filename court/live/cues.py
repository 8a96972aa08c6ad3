"""Who speaks next, from what the hearing says: the director's anticipation, as a vision mixer's.

A vision mixer does not wait for a voice to decide whose camera comes next. The presiding arbitrator
gives the floor ("请申请人陈述仲裁请求", "被申请人是否同意调解？"), the phase has its order (the applicant
states the claims, the respondent answers), a party that was asked answers, and then the floor goes back
to the bench. :class:`Cues` reads the transcript's lines, the phase changes and who holds the floor, and
arms the director with the speakers expected next (:meth:`court.live.director.Director.expect`): their
first words take the camera after a short onset, anybody else's after the full one. A cue never cuts
by itself.

It works on sides, not seats: "申请人" means the applicant or their agent (either may answer), and what
the director arms is every speaker of the side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from court.core.lifecycle import Phase
from court.core.roles import Role
from court.live.director import Director, Speaker


class Side(StrEnum):
    BENCH = "bench"
    CLERK = "clerk"
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    THIRD_PARTY = "third_party"
    WITNESS = "witness"


SIDE_OF: dict[Role, Side] = {
    Role.PRESIDING_ARBITRATOR: Side.BENCH,
    Role.ARBITRATOR: Side.BENCH,
    Role.CLERK: Side.CLERK,
    Role.APPLICANT: Side.APPLICANT,
    Role.APPLICANT_AGENT: Side.APPLICANT,
    Role.RESPONDENT: Side.RESPONDENT,
    Role.RESPONDENT_AGENT: Side.RESPONDENT,
    Role.THIRD_PARTY: Side.THIRD_PARTY,
    Role.WITNESS: Side.WITNESS,
}
PARTIES = (Side.APPLICANT, Side.RESPONDENT)

# Who a sentence names, longest words first ("被申请人" before "申请人" inside it).
_MENTIONS: dict[str, tuple[Side, ...]] = {
    "被申请人的代理人": (Side.RESPONDENT,),
    "申请人的代理人": (Side.APPLICANT,),
    "被申请人": (Side.RESPONDENT,),
    "被诉人": (Side.RESPONDENT,),
    "申请人": (Side.APPLICANT,),
    "第三人": (Side.THIRD_PARTY,),
    "证人": (Side.WITNESS,),
    "书记员": (Side.CLERK,),
    "双方": PARTIES,
    "各方": PARTIES,
    "当事人": PARTIES,
}
# A mention followed by these is somebody's (申请人提交的证据), not the one addressed.
_ATTRIBUTIVE = ("的", "提交", "提供", "所", "主张", "陈述的", "方面")
_QUESTION = re.compile(
    r"[？?]|是否|有无|有没有|同意不同意|能否|可否|愿不愿意|什么|哪些|多少|为什么|怎么|吗|呢"
)
_REQUEST = re.compile(r"(?<!申)请")
"""请 as a request, not in 申请人."""
_SENTENCE = re.compile(r"[^。！？；!?;]+[。！？；!?;]?")

# The order of the parties' turns in each phase (Art. 41-43): the applicant first, then the respondent.
_PHASE_ORDER: dict[Phase, tuple[Side, ...]] = {
    Phase.INVESTIGATION: PARTIES,
    Phase.EVIDENCE: PARTIES,
    Phase.DEBATE: PARTIES,
    Phase.FINAL_STATEMENTS: PARTIES,
    Phase.MEDIATION: PARTIES,
}
_ALTERNATING = frozenset({Phase.DEBATE})
"""Phases in which the parties answer each other, not only the bench."""


def addressed(text: str, names: dict[str, Side] | None = None) -> tuple[Side, ...]:
    """The sides a line gives the floor to, in the order they are to speak: the first one named in
    the last sentence that asks a question or makes a request (请…); () when it does neither."""
    words = dict(_MENTIONS)
    for name, side in (names or {}).items():
        words.setdefault(name, (side,))
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))
    for sentence in reversed(_SENTENCE.findall(text)):
        asks = _QUESTION.search(sentence) is not None or _REQUEST.search(sentence) is not None
        if not asks:
            continue
        for match in pattern.finditer(sentence):
            if sentence[match.end() :].startswith(_ATTRIBUTIVE):
                continue
            return words[match.group()]
    return ()


class Cues:
    """Turns what the hearing says into the director's expectations. Not thread-safe: the live
    program calls it under its lock, from its ticker."""

    def __init__(self, director: Director) -> None:
        self.director = director
        self._phase: Phase | None = None
        self._phase_since = -float("inf")
        self._spoke: set[Side] = set()
        """The parties' sides that have spoken in this phase."""
        self._pending: list[Side] = []
        """Sides given the floor by the bench that have not answered yet."""
        self._floor: str | None = None
        self._exchange: list[Side] = []
        """The parties' sides that took the floor, in order, since the bench last had it."""

    # -- what the hearing says ------------------------------------------------------------------------

    def phase(self, t: float, phase: Phase) -> None:
        """The clerk opened ``phase``: the bench announces it, then its first party speaks."""
        self._phase, self._spoke, self._pending = phase, set(), []
        self._phase_since = t
        first = _PHASE_ORDER.get(phase, ())[:1]
        self._arm(t, [Side.BENCH, *first], f"{phase.label}阶段开始 (phase opened)")

    def utterance(self, t: float, speaker: str | None, role: Role, text: str, *, end: float) -> None:
        """A transcript line, whose speech ended at ``end`` on the hearing clock, reached the program at
        ``t``: the next speaker follows its end."""
        side = SIDE_OF[role]
        if end < self._phase_since:
            return  # the last line of the phase before, recognized after the clerk moved on
        if side in (Side.BENCH, Side.CLERK):
            # The tribunal gives the floor (the clerk too: "请当事人核对笔录").
            self._exchange = []
            sides = addressed(text, self._names())
            if sides:
                self._pending = list(sides)
                label = "、".join(_LABELS[s] for s in sides)
                self._arm(t, sides, f"仲裁员请{label}发言 (the bench gave the floor)", since=end)
            elif self._phase in _PHASE_ORDER and not self._spoke:
                first = _PHASE_ORDER[self._phase][:1]
                self._arm(
                    t, first, f"{self._phase.label}由{_LABELS[first[0]]}先发言 (phase order)", since=end
                )
            else:
                self._pending = []
                self.director.expect(t, (), "", since=end)
            return
        self._after(t, side, speaker, since=end, why=f"{_LABELS[side]}发言结束 (a party finished)")

    def floor(self, t: float, speaker: Speaker | None) -> None:
        """Who holds the floor now (the director's answer, every tick): a party taking it has started
        answering, and the bench or the other side comes next."""
        key = speaker.key if speaker is not None else None
        if key == self._floor:
            return
        self._floor = key
        if speaker is None:
            return
        side = SIDE_OF[speaker.role]
        if side in (Side.BENCH, Side.CLERK):
            self._exchange = []
            return
        if not self._exchange or self._exchange[-1] != side:
            self._exchange.append(side)
        self._after(t, side, key, since=t, why=f"{_LABELS[side]}发言 (a party has the floor)")

    # -- the expectations -----------------------------------------------------------------------------

    def _after(self, t: float, side: Side, speaker: str | None, *, since: float, why: str) -> None:
        """Who follows a party: the sides still to answer the bench's question, the other party where
        the phase's order or the debate says so (or where the two have been answering each other), and
        the bench, which gives the next floor."""
        self._spoke.add(side)
        if side in self._pending:
            self._pending.remove(side)
        following: list[Side] = [*self._pending]
        order = _PHASE_ORDER.get(self._phase, ()) if self._phase is not None else ()
        for other in order:
            if other != side and (other not in self._spoke or self._phase in _ALTERNATING):
                following.append(other)
        # Two parties answering each other without the bench in between: the other answers back.
        if len(self._exchange) >= 2 and self._exchange[-1] == side:
            following.append(self._exchange[-2])
        following.append(Side.BENCH)
        # Not the party's own side: it shares their camera, so arming it gains nothing, and a cough
        # beside the speaker who has just finished would take the picture.
        keys = [
            k
            for k in self._keys(following)
            if k != speaker and SIDE_OF[self.director.speakers[k].role] != side
        ]
        self.director.expect(t, keys, why, since=since)

    def _arm(self, t: float, sides: Iterable[Side], why: str, *, since: float | None = None) -> None:
        self.director.expect(t, self._keys(sides), why, since=since)

    def _keys(self, sides: Iterable[Side]) -> list[str]:
        wanted = list(dict.fromkeys(sides))
        return [k for k, s in self.director.speakers.items() if SIDE_OF[s.role] in wanted]

    def _names(self) -> dict[str, Side]:
        """Participants' names as the captions give them (申请人 张伟 → 张伟): the bench may name them."""
        names: dict[str, Side] = {}
        for s in self.director.speakers.values():
            name = s.label.removeprefix(s.role.label).strip()
            if len(name) >= 2:
                names[name] = SIDE_OF[s.role]
        return names


_LABELS: dict[Side, str] = {
    Side.BENCH: "仲裁庭",
    Side.CLERK: "书记员",
    Side.APPLICANT: "申请人",
    Side.RESPONDENT: "被申请人",
    Side.THIRD_PARTY: "第三人",
    Side.WITNESS: "证人",
}
