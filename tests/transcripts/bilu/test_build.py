from __future__ import annotations

import dataclasses

from tests.transcripts.bilu.samples import APPLICANT, document, facts, recognized
from transcripts.bilu import (
    Note,
    RecognizedLine,
    Speech,
    apply_corrections,
    build_document,
)
from transcripts.bilu.build import default_signers, unique_line_id


def test_sections_follow_the_phases_in_order() -> None:
    doc = document()
    assert [s.heading for s in doc.sections] == ["庭前准备", "开庭", "庭审调查", "举证质证", "闭庭"]
    opening = doc.sections[1]
    assert [i.text for i in opening.items if isinstance(i, Speech)] == ["现在开庭。"]


def test_a_line_recognized_late_lands_in_the_phase_it_was_spoken_in() -> None:
    late = RecognizedLine("u99", "applicant", "申请人", "补一句。", 395, 399)
    doc = build_document(facts(), apply_corrections([*recognized(), late]))
    investigation = next(s for s in doc.sections if s.phase == "investigation")
    assert "补一句。" in [i.text for i in investigation.items if isinstance(i, Speech)]


def test_recess_evidence_and_refused_request_are_notes_in_place() -> None:
    doc = document()
    evidence = next(s for s in doc.sections if s.phase == "evidence")
    notes = [i.text for i in evidence.items if isinstance(i, Note)]
    assert notes[0] == "09:06:40 进入举证质证"
    assert notes[1] == "出示证据：劳动合同（申请人 张伟 提交），SHA-256：" + "ab" * 32
    assert notes[2:] == ["09:07:30 休庭，原因：合议庭休庭评议", "09:08:20 继续开庭"]
    investigation = next(s for s in doc.sections if s.phase == "investigation")
    items = list(investigation.items)
    line = next(i for i in items if isinstance(i, Speech) and i.line_id == "u13")
    after = items[items.index(line) + 1]
    assert isinstance(after, Note) and after.kind == "refused_request"
    assert "申请将上述记录更正为“被申请人同意。”" in after.text and "不予更正，理由：与录音一致" in after.text


def test_signers_are_the_tribunal_the_recorder_and_who_came() -> None:
    assert [p.label for p in document().signers] == [
        "首席仲裁员 王建国",
        "仲裁员 陈静",
        "书记员 赵敏",
        "申请人 张伟",
        "被申请人代理人 周强",
    ]
    chosen = dataclasses.replace(facts(), signers=(APPLICANT,))
    assert default_signers(facts())[-1].name == "周强"
    assert build_document(chosen, apply_corrections(recognized())).signers == (APPLICANT,)


def test_mediation_is_a_mediation_record() -> None:
    doc = build_document(dataclasses.replace(facts(), kind="mediation"), apply_corrections(recognized()))
    assert doc.header.title == "调解笔录"


def test_unique_line_id() -> None:
    assert unique_line_id(["u1", "u1-1"], "u1") == "u1-2"
    assert unique_line_id([], "c") == "c-1"


def test_an_outage_and_a_stretch_not_transcribed_are_notes_in_place() -> None:
    """Items 8 and 9: the 笔录 says when the system stopped and for how long in real time (the hearing
    clock does not show it), and which stretch of whose speech could not be transcribed, and why."""
    from tests.transcripts.bilu.samples import at
    from transcripts.bilu.build import Milestone, duration_text

    milestones = (
        *facts().milestones,
        Milestone(
            "gap", 330, at(330), reason="系统中断时最后一段录音未能写入", detail="申请人 张伟", until=at(334)
        ),
        Milestone("outage", 334, at(334), seconds=125.4),
    )
    doc = build_document(dataclasses.replace(facts(), milestones=milestones), apply_corrections(recognized()))
    investigation = next(s for s in doc.sections if s.phase == "investigation")
    notes = [i.text for i in investigation.items if isinstance(i, Note)]
    assert "09:05:30 至 09:05:34 申请人 张伟的发言无法转写，原因：系统中断时最后一段录音未能写入" in notes
    assert "09:05:34 系统中断，录音录像中断 2 分 5 秒（实际时长）后恢复，其间无录音" in notes
    assert [duration_text(s) for s in (0.4, 12, 3605)] == ["0 秒", "12 秒", "1 小时 0 分 5 秒"]
