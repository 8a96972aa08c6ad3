"""The roles of a labour-arbitration hearing and how the 笔录 and the room name them."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PRESIDING_ARBITRATOR = "presiding_arbitrator"
    ARBITRATOR = "arbitrator"
    CLERK = "clerk"
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    APPLICANT_AGENT = "applicant_agent"
    RESPONDENT_AGENT = "respondent_agent"
    THIRD_PARTY = "third_party"
    WITNESS = "witness"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def is_tribunal(self) -> bool:
        return self in (Role.PRESIDING_ARBITRATOR, Role.ARBITRATOR, Role.CLERK)

    @property
    def is_party_side(self) -> bool:
        """Parties, their agents, third parties and witnesses: the people whose attendance is checked."""
        return not self.is_tribunal


UNIDENTIFIED = "unidentified"
"""The role of a line on a shared channel whose voice matched nobody enrolled there: the clerk assigns
it (see :mod:`transcripts.diarization`)."""
UNIDENTIFIED_LABEL = "未识别"


_LABELS = {
    Role.PRESIDING_ARBITRATOR: "首席仲裁员",
    Role.ARBITRATOR: "仲裁员",
    Role.CLERK: "书记员",
    Role.APPLICANT: "申请人",
    Role.RESPONDENT: "被申请人",
    Role.APPLICANT_AGENT: "申请人代理人",
    Role.RESPONDENT_AGENT: "被申请人代理人",
    Role.THIRD_PARTY: "第三人",
    Role.WITNESS: "证人",
}
