from __future__ import annotations

import pytest

from tests.transcripts.bilu.samples import at, recognized
from transcripts.bilu import (
    AddLine,
    Correction,
    CorrectionError,
    CorrectionRequest,
    Decision,
    EditRole,
    EditText,
    Mark,
    Merge,
    Split,
    Unmark,
    apply_corrections,
)


def fix(seq: int, change: object, actor: str = "书记员 赵敏", **extra: object) -> Correction:
    return Correction(seq, actor, at(1000 + seq), change, **extra)  # type: ignore[arg-type]


def test_edit_keeps_who_when_before_after_and_the_first_recognized_text() -> None:
    transcript = apply_corrections(
        recognized(),
        [
            fix(1, EditText("u13", "被申请人不同意申请人的请求。")),
            fix(2, EditText("u13", "被申请人不同意。 ")),
        ],
    )
    line = transcript.line("u13")
    assert line.text == "被申请人不同意。"
    assert line.recognized == "被申请人不同意。"
    assert [(h.kind, h.before, h.after, h.actor, h.seq) for h in line.history] == [
        ("text", "被申请人不同意。", "被申请人不同意申请人的请求。", "书记员 赵敏", 1),
        ("text", "被申请人不同意申请人的请求。", "被申请人不同意。", "书记员 赵敏", 2),
    ]
    assert line.history[0].at == at(1001)


def test_role_change_and_marks() -> None:
    transcript = apply_corrections(
        recognized(),
        [
            fix(1, EditRole("u14", "applicant_agent", "申请人代理人", "孙丽", 9)),
            fix(2, Mark("u14", "补充", note="庭后补充")),
            fix(3, Mark("u14", "异议")),
            fix(4, Unmark("u14", "补充")),
        ],
    )
    line = transcript.line("u14")
    assert (line.role, line.role_label, line.speaker, line.participant_id) == (
        "applicant_agent",
        "申请人代理人",
        "孙丽",
        9,
    )
    assert line.marks == ("异议",)
    assert line.history[0].before == "申请人 张伟" and line.history[0].after == "申请人代理人 孙丽"
    assert line.history[1].after == "补充：庭后补充"


def test_merge_keeps_the_merged_lines_and_their_recognized_text() -> None:
    transcript = apply_corrections(recognized(), [fix(1, Merge(("u11", "u12")))])
    ids = [line.line_id for line in transcript.lines]
    assert ids == ["u10", "u11", "u13", "u14"]
    merged = transcript.line("u11")
    assert merged.text == "我请求确认劳动关系并支付工资。"
    assert merged.merged == (("u12", "并支付工资。"),)
    assert merged.end == 316
    retired = transcript.line("u12")
    assert retired.merged_into == "u11" and retired.recognized == "并支付工资。"
    assert retired.history[-1].kind == "merged_into"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (Merge(("u12", "u13")), "different speakers"),
        (Merge(("u10", "u13")), "consecutive"),
        (Merge(("u11",)), "two or more"),
        (Split("u13", 0, "u13-1"), "split offset"),
        (Split("u13", 8, "u13-1"), "split offset"),
        (Split("u13", 3, "u12"), "taken"),
        (EditText("u13", "  "), "empty"),
        (EditText("u13", "被申请人不同意。"), "unchanged"),
        (EditText("u99", "x"), "no line"),
        (Mark("u13", "删除"), "unknown mark"),
        (Unmark("u13", "异议"), "not marked"),
        (AddLine("u10", "clerk", "书记员", "补充。", 1.0), "taken"),
    ],
)
def test_bad_corrections_are_clear_errors(change: object, message: str) -> None:
    with pytest.raises(CorrectionError, match=message):
        apply_corrections(recognized(), [fix(1, change)])


def test_a_merged_away_line_cannot_be_edited() -> None:
    with pytest.raises(CorrectionError, match="merged into 'u11'"):
        apply_corrections(recognized(), [fix(1, Merge(("u11", "u12"))), fix(2, EditText("u12", "x"))])


def test_split_and_add_place_lines_in_spoken_order() -> None:
    transcript = apply_corrections(
        recognized(),
        [
            fix(1, Split("u11", 4, "u11-1")),
            fix(2, AddLine("c-1", "clerk", "书记员", "（申请人出示身份证）", 317.0, "赵敏")),
        ],
    )
    texts = [(line.line_id, line.text) for line in transcript.lines]
    assert texts[1:5] == [
        ("u11", "我请求确"),
        ("u11-1", "认劳动关系"),
        ("u12", "并支付工资。"),
        ("c-1", "（申请人出示身份证）"),
    ]
    first, second = transcript.line("u11"), transcript.line("u11-1")
    assert first.recognized == "我请求确认劳动关系" and second.recognized == ""
    assert first.end == second.start == pytest.approx(310 + 4 * 4 / 9)
    assert second.history[0].kind == "split_from" and second.history[0].before == "u11"


def test_refused_request_stays_and_follows_a_merge() -> None:
    request = CorrectionRequest(5, "u12", "申请人 张伟", "并支付拖欠的工资。", at(1005), "漏了拖欠")
    transcript = apply_corrections(
        recognized(),
        [fix(7, Merge(("u11", "u12")))],
        [request],
        [Decision(6, 5, False, "书记员 赵敏", at(1006), "与录音一致")],
    )
    (outcome,) = transcript.requests
    assert outcome.status == "refused"
    assert outcome.text_then == "并支付工资。"
    assert outcome.line_id == "u11"  # the request now belongs to the merged line
    assert outcome.decision is not None and outcome.decision.reason == "与录音一致"


def test_decisions_are_checked() -> None:
    request = CorrectionRequest(5, "u13", "申请人 张伟", "被申请人同意。", at(1005))
    with pytest.raises(CorrectionError, match="refusal needs a reason"):
        apply_corrections(recognized(), [], [request], [Decision(6, 5, False, "书记员", at(1006))])
    with pytest.raises(CorrectionError, match="already decided"):
        apply_corrections(
            recognized(),
            [],
            [request],
            [Decision(6, 5, True, "书记员", at(1006)), Decision(7, 5, False, "书记员", at(1007), "x")],
        )
    with pytest.raises(CorrectionError, match="no such request"):
        apply_corrections(recognized(), [fix(8, EditText("u13", "x"), request_id=99)])
    pending = apply_corrections(recognized(), [], [request])
    assert [o.request.request_id for o in pending.pending_requests()] == [5]


def test_lenient_replay_skips_a_bad_correction_and_keeps_the_rest() -> None:
    transcript = apply_corrections(
        recognized(),
        [fix(1, EditText("u99", "x")), fix(2, EditText("u13", "被申请人不同意全部请求。"))],
        strict=False,
    )
    assert transcript.line("u13").text == "被申请人不同意全部请求。"
    assert [seq for seq, _ in transcript.rejected] == [1]
