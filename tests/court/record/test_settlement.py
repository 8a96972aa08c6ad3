"""The mediation settlement (调解协议) read back from the timeline: drafted, signed by the parties,
concluded; a stale text, a non-party, a refusal without reason and a double signature refused; a new
draft supersedes the earlier version and its signatures."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import NewParticipant, create_case, create_hearing, load_hearing
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import Timeline
from court.record.settlement import (
    CONCLUDED,
    DRAFTED,
    SIGNED,
    Settlement,
    SettlementError,
    settlement_sha256,
)
from court.record.signer_identity import FACE_CHECK_MAX_AGE, SignerFaceCheck
from devices.clock import ScaledClock

TEXT = "一、被申请人于2026年5月31日前向申请人支付拖欠工资人民币三万元；\n二、双方再无其他争议。"
DEVICE = "web test-browser"


@dataclass
class Mediation:
    settlement: Settlement
    timeline: Timeline
    ids: dict[Role, int]


def _mediation(sessions: sessionmaker[Session], kind: str = "mediation") -> Mediation:
    case_id = create_case(
        sessions,
        case_number=f"示劳人仲案字〔2026〕第{'301' if kind == 'mediation' else '302'}号",
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.PRESIDING_ARBITRATOR, "王建国"),
            NewParticipant(Role.CLERK, "陈静"),
            NewParticipant(Role.APPLICANT, "张伟", remote=True),
            NewParticipant(Role.RESPONDENT, "李娜", organization="示范科技有限公司"),
            NewParticipant(Role.WITNESS, "赵强"),
        ],
    )
    hearing_id = create_hearing(sessions, case_id, room="第一仲裁庭", kind=kind)
    ids = {p.role: p.id for p in load_hearing(sessions, hearing_id).participants}
    timeline = Timeline(sessions, hearing_id, ScaledClock())
    return Mediation(Settlement(sessions, hearing_id, timeline), timeline, ids)


def _face(
    m: Mediation, similarity: float = 0.9, *, age: float = 5.0, session_id: int | None = None
) -> SignerFaceCheck:
    """A face check passed ``age`` hearing seconds ago."""
    return SignerFaceCheck(similarity, m.timeline.clock.now() - age, session_id)


def _present(m: Mediation, *roles: Role) -> None:
    for role in roles:
        m.timeline.append(
            EventType.ATTENDANCE_PRESENT,
            {"participant_id": m.ids[role], "name": str(role), "role": role.value, "method": "clerk"},
        )


def test_draft_sign_by_both_parties_concludes(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    s = m.settlement
    assert s.current() is None
    _present(m, Role.APPLICANT, Role.RESPONDENT, Role.WITNESS)
    v1 = s.draft(f"  {TEXT}\n", actor="clerk:chen")
    assert v1.version == 1 and v1.text == TEXT and v1.sha256 == settlement_sha256(TEXT)
    assert v1.kind == "mediation" and v1.drafted_by == "clerk:chen" and not v1.concluded
    assert set(v1.required) == {m.ids[Role.APPLICANT], m.ids[Role.RESPONDENT]}  # not the witness

    first = s.sign(m.ids[Role.APPLICANT], v1.sha256, device=DEVICE, login="party:1", face=_face(m, 0.812))
    assert not first.refused and first.method == "login,face" and first.face_similarity == 0.812
    current = s.current()
    assert current is not None and not current.concluded and len(current.signatures) == 1

    s.sign(m.ids[Role.RESPONDENT], v1.sha256, device=DEVICE, login="party:2", face=_face(m))
    current = s.current()
    assert current is not None and current.concluded
    assert [x.participant_id for x in current.signatures] == [m.ids[Role.APPLICANT], m.ids[Role.RESPONDENT]]

    events = m.timeline.events()
    drafted = next(e for e in events if e.type == DRAFTED)
    assert drafted.payload["kind"] == "mediation" and drafted.payload["sha256"] == v1.sha256
    signed = [e for e in events if e.type == SIGNED]
    assert {e.payload["participant_id"] for e in signed} == set(v1.required)
    assert all(e.payload["sha256"] == v1.sha256 and e.payload["device"] == DEVICE for e in signed)
    concluded = [e for e in events if e.type == CONCLUDED]
    assert len(concluded) == 1 and concluded[0].payload == {
        "version": 1,
        "sha256": v1.sha256,
        "signed_by": sorted(v1.required),
    }
    # Concluded: not changed afterwards.
    with pytest.raises(SettlementError) as late:
        s.draft("另一个文本", actor="clerk:chen")
    assert late.value.code == "concluded"


def test_only_present_parties_are_needed(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    _present(m, Role.APPLICANT)
    m.timeline.append(
        EventType.ATTENDANCE_ABSENT,
        {"participant_id": m.ids[Role.RESPONDENT], "name": "李娜", "role": "respondent"},
    )
    v = m.settlement.draft(TEXT, actor="clerk:chen")
    assert v.required == (m.ids[Role.APPLICANT],)
    m.settlement.sign(m.ids[Role.APPLICANT], v.sha256, device=DEVICE, login="party:1", face=_face(m))
    current = m.settlement.current()
    assert current is not None and current.concluded


def test_without_attendance_every_party_must_sign(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    v = m.settlement.draft(TEXT, actor="clerk:chen")
    assert set(v.required) == {m.ids[Role.APPLICANT], m.ids[Role.RESPONDENT]}
    m.settlement.sign(m.ids[Role.APPLICANT], v.sha256, device=DEVICE, login="party:1", face=_face(m))
    current = m.settlement.current()
    assert current is not None and not current.concluded


def test_stale_sha_is_refused(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    v1 = m.settlement.draft(TEXT, actor="clerk:chen")
    v2 = m.settlement.draft(TEXT + "\n三、本协议自双方签字之日起生效。", actor="arbitrator:wang")
    assert v2.version == 2 and v2.sha256 != v1.sha256
    with pytest.raises(SettlementError) as stale:
        m.settlement.sign(m.ids[Role.APPLICANT], v1.sha256, device=DEVICE, login="party:1", face=_face(m))
    assert stale.value.code == "stale_version"
    assert "不是当前版本" in str(stale.value)
    with pytest.raises(SettlementError) as nonsense:
        m.settlement.refuse(m.ids[Role.APPLICANT], "0" * 64, reason="不同意", device=DEVICE)
    assert nonsense.value.code == "stale_version"


def test_non_parties_cannot_sign(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    v = m.settlement.draft(TEXT, actor="clerk:chen")
    for who in (m.ids[Role.PRESIDING_ARBITRATOR], m.ids[Role.CLERK], m.ids[Role.WITNESS], 999_999):
        with pytest.raises(SettlementError) as refused:
            m.settlement.sign(who, v.sha256, device=DEVICE, login="x", face=_face(m))
        assert refused.value.code == "not_a_signer"
        assert "签署" in str(refused.value) or "不是本案当事人" in str(refused.value)
    current = m.settlement.current()
    assert current is not None and current.signatures == ()


def test_nothing_to_sign_before_a_draft_and_empty_text_refused(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    with pytest.raises(SettlementError) as nothing:
        m.settlement.sign(m.ids[Role.APPLICANT], "0" * 64, device=DEVICE, login="party:1", face=_face(m))
    assert nothing.value.code == "no_settlement"
    for empty in ("", "   \n\t "):
        with pytest.raises(SettlementError) as refused:
            m.settlement.draft(empty, actor="clerk:chen")
        assert refused.value.code == "empty_text"
    assert m.settlement.current() is None


def test_refusal_needs_a_reason_and_blocks_the_conclusion(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    v = m.settlement.draft(TEXT, actor="clerk:chen")
    with pytest.raises(SettlementError) as bare:
        m.settlement.refuse(m.ids[Role.RESPONDENT], v.sha256, reason="  ", device=DEVICE)
    assert bare.value.code == "reason_required"
    refusal = m.settlement.refuse(m.ids[Role.RESPONDENT], v.sha256, reason="金额不同意", device=DEVICE)
    assert refusal.refused and refusal.reason == "金额不同意"
    with pytest.raises(SettlementError) as twice:
        m.settlement.sign(m.ids[Role.RESPONDENT], v.sha256, device=DEVICE, login="party:2", face=_face(m))
    assert twice.value.code == "already_signed"
    m.settlement.sign(m.ids[Role.APPLICANT], v.sha256, device=DEVICE, login="party:1", face=_face(m))
    current = m.settlement.current()
    assert current is not None and not current.concluded
    assert [s.refused for s in current.signatures] == [True, False]
    assert not any(e.type == CONCLUDED for e in m.timeline.events())


def test_one_signature_per_party_per_version(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    v = m.settlement.draft(TEXT, actor="clerk:chen")
    m.settlement.sign(m.ids[Role.APPLICANT], v.sha256, device=DEVICE, login="party:1", face=_face(m))
    with pytest.raises(SettlementError) as again:
        m.settlement.sign(m.ids[Role.APPLICANT], v.sha256, device=DEVICE, login="party:1", face=_face(m))
    assert again.value.code == "already_signed"


def test_a_new_draft_supersedes_signatures(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    v1 = m.settlement.draft(TEXT, actor="clerk:chen")
    m.settlement.sign(m.ids[Role.APPLICANT], v1.sha256, device=DEVICE, login="party:1", face=_face(m))
    v2 = m.settlement.draft(TEXT.replace("三万元", "三万二千元"), actor="clerk:chen")
    assert v2.version == 2 and v2.signatures == () and not v2.concluded
    drafted = [e for e in m.timeline.events() if e.type == DRAFTED]
    assert drafted[-1].payload["supersedes"] == 1
    # The applicant signs again (the new text), then the respondent: version 2 concludes.
    m.settlement.sign(m.ids[Role.APPLICANT], v2.sha256, device=DEVICE, login="party:1", face=_face(m))
    m.settlement.sign(m.ids[Role.RESPONDENT], v2.sha256, device=DEVICE, login="party:2", face=_face(m))
    current = m.settlement.current()
    assert current is not None and current.version == 2 and current.concluded
    assert m.settlement.versions() == [1, 2]


def test_a_settlement_in_an_ordinary_hearing_says_so(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions, kind="hearing")
    v = m.settlement.draft(TEXT, actor="arbitrator:wang")
    assert v.kind == "hearing"
    drafted = next(e for e in m.timeline.events() if e.type == DRAFTED)
    assert drafted.payload["kind"] == "hearing" and drafted.payload["drafted_by"] == "arbitrator:wang"


def test_the_hash_is_of_the_nfc_text(sessions: sessionmaker[Session]) -> None:
    m = _mediation(sessions)
    decomposed = "Cafe\u0301 协议"  # e + combining acute
    v = m.settlement.draft(decomposed, actor="clerk:chen")
    assert v.text == "Café 协议" and v.sha256 == settlement_sha256("Café 协议")
    assert v.sha256 == settlement_sha256(decomposed)


def test_signing_needs_a_recent_face_check_in_the_signers_session(sessions: sessionmaker[Session]) -> None:
    """Item 7: a redeemed code (or an open session) alone does not agree to a settlement; the face
    check's similarity and event go on the signature."""
    m = _mediation(sessions)
    v = m.settlement.draft(TEXT, actor="clerk:chen")
    applicant = m.ids[Role.APPLICANT]
    for face, message in (
        (None, "须在本设备完成人脸核验"),
        (_face(m, session_id=12), "不是在本设备的登录中完成"),
        (_face(m, age=FACE_CHECK_MAX_AGE + 1, session_id=11), "请重新核验"),
    ):
        with pytest.raises(SettlementError, match=message) as refused:
            m.settlement.sign(applicant, v.sha256, device=DEVICE, login="party:1", face=face, session_id=11)
        assert refused.value.code == "face_check_required"
    assert m.settlement.current().signatures == ()  # type: ignore[union-attr]
    # A stale text is refused as such, before anyone's face is asked for.
    with pytest.raises(SettlementError) as stale:
        m.settlement.sign(applicant, "0" * 64, device=DEVICE, login="party:1", face=None)
    assert stale.value.code == "stale_version"

    check = m.timeline.append(
        EventType.ATTENDANCE_REMOTE_CHECK,
        {"participant_id": applicant, "name": "张伟", "role": "applicant", "reason": "", "similarity": 0.77},
    )
    face = SignerFaceCheck(0.77, check.t, 11, check.seq)
    done = m.settlement.sign(applicant, v.sha256, device=DEVICE, login="party:1", face=face, session_id=11)
    assert done.method == "login,face" and done.face_similarity == 0.77
    signed = [e for e in m.timeline.events() if e.type == SIGNED][-1]
    assert signed.payload["face_check_seq"] == check.seq
