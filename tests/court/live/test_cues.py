"""The anticipation: who the hearing's words say speaks next, and what it arms in the director."""

from __future__ import annotations

import pytest

from court.config import DirectorConfig
from court.core.lifecycle import Phase
from court.core.roles import Role
from court.live.cues import Cues, Side, addressed
from court.live.director import Director, Speaker

SPEAKERS = (
    Speaker("presiding", "cam-bench", Role.PRESIDING_ARBITRATOR, "首席仲裁员 王建国"),
    Speaker("clerk", "cam-bench", Role.CLERK, "书记员 赵敏"),
    Speaker("applicant", "cam-applicant", Role.APPLICANT, "申请人 张伟"),
    Speaker("applicant-agent", "cam-applicant", Role.APPLICANT_AGENT, "申请人代理人 孙丽"),
    Speaker("respondent-agent", "cam-respondent", Role.RESPONDENT_AGENT, "被申请人代理人 周强"),
)
APPLICANT = frozenset({"applicant", "applicant-agent"})


@pytest.mark.parametrize(
    ("text", "sides"),
    [
        ("现在进行庭审调查。请申请人陈述仲裁请求和事实理由。", (Side.APPLICANT,)),
        ("被申请人是否同意调解？", (Side.RESPONDENT,)),
        ("请被申请人答辩。", (Side.RESPONDENT,)),
        ("被申请人对申请人提交的劳动合同有无异议？", (Side.RESPONDENT,)),
        ("申请人提交的考勤记录，被申请人有什么意见？", (Side.RESPONDENT,)),
        ("当事人对仲裁庭组成人员是否申请回避？", (Side.APPLICANT, Side.RESPONDENT)),
        ("请双方作最后陈述。", (Side.APPLICANT, Side.RESPONDENT)),
        ("请书记员核对当事人身份。", (Side.CLERK,)),
        ("请申请人的代理人发表意见。", (Side.APPLICANT,)),
        ("现在开庭。本庭依法审理申请人张伟与被申请人示范科技有限公司劳动报酬争议一案。", ()),
        ("本庭再次提醒双方，发言须经仲裁庭许可。", ()),
        ("现在进行辩论。", ()),
    ],
)
def test_who_a_line_gives_the_floor_to(text: str, sides: tuple[Side, ...]) -> None:
    assert addressed(text) == sides


def test_the_bench_may_name_a_party() -> None:
    assert addressed("张伟，你是哪一天入职的？", {"张伟": Side.APPLICANT}) == (Side.APPLICANT,)


def cues() -> tuple[Director, Cues]:
    d = Director(DirectorConfig(), SPEAKERS, wide_camera="cam-wide", bench_camera="cam-bench")
    d.update(0.0, [])
    return d, Cues(d)


def test_a_question_to_both_parties_arms_both_then_the_bench_after_the_answers() -> None:
    d, c = cues()
    c.utterance(5.0, "presiding", Role.PRESIDING_ARBITRATOR, "双方是否愿意调解？", end=4.5)
    assert d.expected() == APPLICANT | {"respondent-agent"}
    # The applicant answers: the respondent still has to, and the bench comes after them.
    c.utterance(7.0, "applicant", Role.APPLICANT, "愿意调解。", end=6.5)
    assert d.expected() == {"respondent-agent", "presiding"}
    c.utterance(9.0, "respondent-agent", Role.RESPONDENT_AGENT, "不同意调解。", end=8.5)
    assert d.expected() == {"presiding"}


def test_the_phase_order_arms_its_first_party_and_then_the_other() -> None:
    d, c = cues()
    c.phase(10.0, Phase.DEBATE)
    assert "presiding" in d.expected() and d.expected() >= APPLICANT
    c.utterance(12.0, "presiding", Role.PRESIDING_ARBITRATOR, "现在进行辩论。", end=11.5)
    assert d.expected() == APPLICANT, "no one named: the phase's order"
    c.floor(14.0, SPEAKERS[3])
    assert d.expected() == {"respondent-agent", "presiding"}, "not the agent's own side: same camera"
    # A line of the phase before, recognized after the clerk moved on, says nothing about this one.
    c.phase(30.0, Phase.FINAL_STATEMENTS)
    c.utterance(31.0, "respondent-agent", Role.RESPONDENT_AGENT, "……", end=29.0)
    assert d.expected() >= APPLICANT


def test_two_parties_answering_each_other_arm_each_other() -> None:
    d, c = cues()
    c.floor(5.0, SPEAKERS[2])
    c.floor(8.0, SPEAKERS[4])
    assert "applicant" in d.expected()
    c.floor(12.0, SPEAKERS[0])
    c.floor(15.0, SPEAKERS[2])
    assert "respondent-agent" not in d.expected(), "the bench spoke in between: not an exchange"
