"""The 笔录 on the store (SQLite and PostgreSQL): corrections as timeline events with their history,
correction requests (Art. 42), locking, signing, new versions, exports verified, forgeries caught,
the CLI contract and the demo's locked 笔录."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import NewParticipant, create_case, create_hearing, load_hearing, set_clock_origin
from court.core.events import EventType
from court.core.lifecycle import HearingState, Lifecycle, PendingEvent, Phase
from court.core.roles import Role
from court.core.timeline import Timeline, read_events
from court.db.bilu import BiluCorrection, BiluCorrectionRequest
from court.db.models import Signature, Utterance
from court.record.bilu import Bilu, BiluError, SignerNotVerified, verify_file
from court.record.signer_identity import FACE_CHECK_MAX_AGE, SignerFaceCheck
from devices.clock import ScaledClock
from tests.court.helpers import SHORT_SCRIPT, write_test_config
from tests.transcripts.bilu.helpers import alter_docx, alter_json, alter_txt, swap_first_pdf_glyphs
from tests.transcripts.bilu.samples import signature_png
from transcripts.bilu import document_blocks

ORIGIN = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@dataclass
class Hearing:
    sessions: sessionmaker[Session]
    hearing_id: int
    timeline: Timeline
    lifecycle: Lifecycle
    ids: dict[Role, int]
    key: Path

    def commit(self, pending: PendingEvent, t: float) -> None:
        event = self.timeline.append(pending.type, pending.payload, t=t)
        self.lifecycle.apply(event.type, event.payload)

    def bilu(self) -> Bilu:
        return Bilu(self.sessions, self.hearing_id, key_path=self.key)

    def events(self) -> list[str]:
        return [e.type for e in read_events(self.sessions, self.hearing_id)]

    def close(self) -> None:
        self.commit(self.lifecycle.close(), 60)

    def face(
        self, similarity: float = 0.9, *, age: float = 5.0, session_id: int | None = None
    ) -> SignerFaceCheck:
        """A face check the signer passed ``age`` seconds ago on the 笔录's clock."""
        now = self.bilu().timeline.clock.now()
        return SignerFaceCheck(similarity, now - age, session_id, seq=None)


def hearing_in_session(sessions: sessionmaker[Session], tmp_path: Path) -> Hearing:
    case_id = create_case(
        sessions,
        case_number="测劳人仲案字〔2026〕第9号",
        cause="确认劳动关系争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.PRESIDING_ARBITRATOR, "王建国"),
            NewParticipant(Role.CLERK, "赵敏"),
            NewParticipant(Role.APPLICANT, "张伟"),
            NewParticipant(Role.RESPONDENT_AGENT, "周强", organization="示范科技有限公司"),
            NewParticipant(Role.WITNESS, "吴强"),
        ],
    )
    hearing_id = create_hearing(sessions, case_id, room="第一仲裁庭")
    set_clock_origin(sessions, hearing_id, ORIGIN, str(tmp_path))
    timeline = Timeline(sessions, hearing_id, ScaledClock(1.0, origin=ORIGIN))
    ids = {p.role: p.id for p in load_hearing(sessions, hearing_id).participants}
    h = Hearing(sessions, hearing_id, timeline, Lifecycle(), ids, tmp_path / "key.pem")
    h.commit(h.lifecycle.prepare(), 1)
    for role, name, method in ((Role.APPLICANT, "张伟", "face"), (Role.RESPONDENT_AGENT, "周强", "clerk")):
        payload = {"participant_id": ids[role], "name": name, "role": role.value, "method": method}
        timeline.append(EventType.ATTENDANCE_PRESENT, payload, t=5)
    timeline.append(
        EventType.ATTENDANCE_ABSENT,
        {"participant_id": ids[Role.WITNESS], "name": "吴强", "role": "witness"},
        t=6,
    )
    h.commit(h.lifecycle.check_attendance(["张伟", "周强"], ["吴强"]), 7)
    h.commit(h.lifecycle.announce_rules(8, 10), 18)
    h.commit(h.lifecycle.open(), 20)
    said = [
        ("presiding_arbitrator", ids[Role.PRESIDING_ARBITRATOR], "现在开庭", 21),
        ("applicant", ids[Role.APPLICANT], "我请求确认劳动关系", 31),
        ("applicant", ids[Role.APPLICANT], "并支付工资。", 34.5),
        ("unknown", None, "被申请人不同意。", 38),
    ]
    for i, (speaker_role, pid, words, start) in enumerate(said):
        if i == 1:
            h.commit(h.lifecycle.change_phase(Phase.INVESTIGATION), 30)
        payload = {
            "source": f"mic-{speaker_role}",
            "role": speaker_role,
            "participant_id": pid,
            "text": words,
            "start": start,
        }
        timeline.append(EventType.UTTERANCE, {**payload, "end": start + 2.5, "confidence": 0.9}, t=start + 3)
    return h


def line_ids(h: Hearing) -> list[str]:
    return [line.line_id for line in h.bilu().lines()]


def test_corrections_are_timeline_events_with_history(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    h = hearing_in_session(sessions, tmp_path)
    opening, claim, wages, answer = line_ids(h)
    bilu = h.bilu()
    bilu.edit_text(opening, "现在开庭。", actor="书记员 赵敏")
    bilu.merge([claim, wages])
    bilu.change_role(answer, Role.RESPONDENT_AGENT, participant_id=h.ids[Role.RESPONDENT_AGENT])
    bilu.mark(answer, "异议", note="被申请人当庭表示异议")
    bilu.split(claim, 9)
    events = list(read_events(sessions, h.hearing_id))
    corrected = next(e for e in events if e.type == EventType.UTTERANCE_CORRECTED)
    assert corrected.actor == "书记员 赵敏"
    assert (corrected.payload["before"], corrected.payload["after"]) == ("现在开庭", "现在开庭。")
    assert [e.type for e in events][-5:] == [
        EventType.UTTERANCE_CORRECTED,
        EventType.UTTERANCE_MERGED,
        EventType.UTTERANCE_ROLE_CHANGED,
        EventType.UTTERANCE_MARKED,
        EventType.UTTERANCE_SPLIT,
    ]
    lines = {line.line_id: line for line in bilu.lines()}
    assert lines[opening].text == "现在开庭。" and lines[opening].recognized == "现在开庭"
    assert lines[claim].text == "我请求确认劳动关系" and lines[claim].recognized == "我请求确认劳动关系"
    assert lines[f"{claim}-1"].text == "并支付工资。"
    assert (lines[answer].role_label, lines[answer].speaker, lines[answer].marks) == (
        "被申请人代理人",
        "周强",
        ("异议",),
    )
    with sessions() as session:
        rows = session.scalars(select(BiluCorrection).order_by(BiluCorrection.event_seq)).all()
        recognized = session.scalars(select(Utterance.text).order_by(Utterance.event_seq)).all()
    assert [r.kind for r in rows] == ["corrected", "merged", "role_changed", "marked", "split"]
    assert rows[0].before == "现在开庭" and rows[0].after == "现在开庭。" and rows[0].actor == "书记员 赵敏"
    assert rows[2].before == "发言人" and rows[2].after == "被申请人代理人 周强"
    assert list(recognized) == ["现在开庭", "我请求确认劳动关系", "并支付工资。", "被申请人不同意。"]
    texts = [b.text for b in document_blocks(bilu.draft())]
    assert "首席仲裁员：现在开庭。" in texts
    assert "被申请人代理人：被申请人不同意。〔异议〕" in texts


def test_a_bad_correction_records_nothing(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    h = hearing_in_session(sessions, tmp_path)
    opening, claim, _, answer = line_ids(h)
    before = h.events()
    bilu = h.bilu()
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: bilu.merge([opening, answer]), "consecutive"),
        (lambda: bilu.edit_text("u999", "x"), "no line"),
        (lambda: bilu.split(claim, 0), "split offset"),
        (lambda: bilu.mark(claim, "删除"), "unknown mark"),
        (
            lambda: bilu.change_role(claim, Role.APPLICANT, participant_id=h.ids[Role.WITNESS]),
            "is not applicant",
        ),
    ]
    for attempt, message in attempts:
        with pytest.raises(BiluError, match=message):
            attempt()
    assert h.events() == before


def test_a_refused_request_stays_in_the_record(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    h = hearing_in_session(sessions, tmp_path)
    _, claim, _, answer = line_ids(h)
    bilu = h.bilu()
    refused = bilu.request_correction(answer, h.ids[Role.APPLICANT], "被申请人同意。", reason="记录有误")
    accepted = bilu.request_correction(claim, h.ids[Role.APPLICANT], "我请求确认与被申请人的劳动关系")
    with pytest.raises(BiluError, match="needs a reason"):
        bilu.decide(refused, accept=False)
    bilu.decide(refused, accept=False, reason="经回放录音，记录无误")
    bilu.decide(accepted, accept=True)
    with pytest.raises(BiluError, match="already refused"):
        bilu.decide(refused, accept=True)
    with sessions() as session:
        rows = {r.event_seq: r for r in session.scalars(select(BiluCorrectionRequest))}
    assert rows[refused].status == "refused" and rows[refused].decision_reason == "经回放录音，记录无误"
    assert rows[refused].requested_by == "申请人 张伟" and rows[accepted].status == "accepted"
    line = next(x for x in bilu.lines() if x.line_id == claim)
    assert line.text == "我请求确认与被申请人的劳动关系" and line.history[-1].request_id == accepted
    notes = [b.text for b in document_blocks(bilu.draft())]
    assert any(
        "申请将上述记录更正为“被申请人同意。”" in t and "不予更正，理由：经回放录音，记录无误" in t
        for t in notes
    )


def test_locking_needs_a_closed_hearing_and_decided_requests(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    h = hearing_in_session(sessions, tmp_path)
    bilu = h.bilu()
    with pytest.raises(BiluError, match="closed first"):
        bilu.lock()
    h.close()
    request = bilu.request_correction(line_ids(h)[0], h.ids[Role.APPLICANT], "现在开庭。")
    with pytest.raises(BiluError, match="await a decision"):
        bilu.lock()
    bilu.decide(request, accept=True)
    version = bilu.lock()
    assert h.events()[-2:] == [EventType.HEARING_SIGNING, EventType.BILU_LOCKED]
    assert Lifecycle.replay((e.type, e.payload) for e in read_events(sessions, h.hearing_id)).state is (
        HearingState.SIGNING
    )
    assert bilu.lock() == version  # nothing changed: the same version
    assert version.number == 1 and len(version.sha256) == 64


def signed_hearing(sessions: sessionmaker[Session], tmp_path: Path) -> tuple[Hearing, str]:
    h = hearing_in_session(sessions, tmp_path)
    h.close()
    bilu = h.bilu()
    sha = bilu.lock().sha256
    bilu.sign(
        h.ids[Role.APPLICANT], sha, device="iPhone 15 Safari", image=signature_png(), login="zhangwei",
        face=h.face(0.87),
    )  # fmt: skip
    bilu.refuse(h.ids[Role.RESPONDENT_AGENT], sha, reason="对第三行的记录有异议", device="PC Chrome")
    return h, sha


def test_signing_and_refusing(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    h, sha = signed_hearing(sessions, tmp_path)
    bilu = h.bilu()
    presiding, clerk = h.ids[Role.PRESIDING_ARBITRATOR], h.ids[Role.CLERK]
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: bilu.sign(presiding, "0" * 64, device="PC", login="wang"), "not the current version"),
        (lambda: bilu.sign(h.ids[Role.WITNESS], sha, device="PC", login="wu"), "not a signer"),
        (lambda: bilu.sign(presiding, sha, device="PC", image=b"not an image"), "not a PNG/JPEG"),
        (lambda: bilu.sign(presiding, sha, device="PC"), "handwritten signature or a login"),
        (lambda: bilu.sign(presiding, sha, device=" ", login="wang"), "device"),
        (
            lambda: bilu.sign(h.ids[Role.APPLICANT], sha, device="PC", login="zhangwei", face=h.face()),
            "already",
        ),
        (lambda: bilu.refuse(clerk, sha, reason=" ", device="PC"), "reason"),
        (lambda: bilu.archive(), "not yet signed"),
    ]
    for attempt, message in attempts:
        with pytest.raises(BiluError, match=message):
            attempt()
    records = {r.signer.name: r for r in bilu.signatures(1)}
    assert set(records) == {"张伟", "周强"}
    assert (
        records["张伟"].methods == ("handwritten", "login", "face")
        and records["张伟"].device == "iPhone 15 Safari"
    )
    assert records["张伟"].image == signature_png() and records["张伟"].at.tzinfo is not None
    assert records["周强"].refused and records["周强"].reason == "对第三行的记录有异议"
    bilu.sign(presiding, sha, device="法庭终端", login="wangjianguo", face=h.face(0.91))
    bilu.sign(clerk, sha, device="书记员工作站", login="zhaomin")
    bilu.archive()
    assert h.events()[-1] == EventType.HEARING_ARCHIVED
    with pytest.raises(BiluError, match="cannot be corrected"):
        bilu.edit_text(line_ids(h)[0], "现在开庭。")


def test_a_party_signs_only_after_a_recent_face_check_in_that_session(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Item 7: the signature is bound to the signer's face — a party's login alone (a code passed on,
    a session left open) does not sign, nor does an old check or one made in another session; the
    check's similarity and event are sealed with the signature. The tribunal signs with its account."""
    h = hearing_in_session(sessions, tmp_path)
    h.close()
    bilu = h.bilu()
    sha = bilu.lock().sha256
    applicant = h.ids[Role.APPLICANT]
    refused: list[tuple[SignerFaceCheck | None, int | None, str]] = [
        (None, 7, "须在本设备完成人脸核验"),
        (h.face(session_id=8), 7, "不是在本设备的登录中完成"),
        (h.face(age=FACE_CHECK_MAX_AGE + 30, session_id=7), 7, "超过 10 分钟"),
    ]
    for face, session_id, message in refused:
        with pytest.raises(SignerNotVerified, match=message):
            bilu.sign(applicant, sha, device="PC", login="party:3", face=face, session_id=session_id)
    assert bilu.signatures(1) == []

    check = bilu.timeline.append(
        EventType.ATTENDANCE_REMOTE_CHECK,
        {
            "participant_id": applicant,
            "name": "张伟",
            "role": "applicant",
            "reason": "",
            "similarity": 0.8731,
        },
    )
    face = SignerFaceCheck(0.8731, check.t, 7, check.seq)
    signed = bilu.sign(applicant, sha, device="PC", login="party:3", face=face, session_id=7)
    assert signed.methods == ("login", "face") and signed.face_similarity == 0.8731
    assert signed.face_check_seq == check.seq
    stored = bilu.signatures(1)[0]
    assert (
        stored.statement()["face_check_seq"] == check.seq and stored.statement()["face_similarity"] == 0.8731
    )
    event = next(e for e in read_events(sessions, h.hearing_id) if e.type == EventType.BILU_SIGNED)
    assert event.payload["face_similarity"] == 0.8731 and event.payload["face_check_seq"] == check.seq
    # The tribunal: no face check asked of the presiding arbitrator's account.
    bilu.sign(h.ids[Role.PRESIDING_ARBITRATOR], sha, device="法庭终端", login="arbitrator:wang")
    exported = tmp_path / "signed.txt"
    bilu.export("txt", exported)
    assert "人脸核验（相似度 0.87）" in exported.read_text(encoding="utf-8")
    assert verify_file(sessions, exported).ok


def test_a_restart_puts_its_outage_and_its_gaps_in_the_bilu(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Items 8 and 9: the stretch whose speech was lost and the outage's real length, from the
    timeline into the 笔录, in the phase they happened in."""
    from court.live.catch_up import NOT_SAVED

    h = hearing_in_session(sessions, tmp_path)
    h.timeline.append(
        EventType.TRANSCRIPTION_GAP,
        {"start": 32.0, "end": 36.5, "sources": ["mic-applicant", "mic-respondent"], "reason": NOT_SAVED},
        t=41,
    )
    h.timeline.append(
        EventType.RECORDING_RECOVERED,
        {
            "manifest_seq": 9,
            "source": "*",
            "reason": "crash",
            "outage_seconds": 75.2,
            "outage_from": "2026-12-01T01:00:36.500+00:00",
            "outage_to": "2026-12-01T01:01:51.700+00:00",
            "interrupted_at": 36.5,
        },
        t=37.5,
    )
    h.close()
    text = "\n".join(b.text for b in h.bilu().lock().blocks)
    investigation = text.index("庭审调查")
    gap = text.index(
        "（09:00:32 至 09:00:36 申请人席、被申请人席的发言无法转写，原因：系统中断时最后一段录音未能写入）"
    )
    outage = text.index("（09:00:36 系统中断，录音录像中断 1 分 15 秒（实际时长）后恢复，其间无录音）")
    assert investigation < gap < outage < text.index("闭庭）")


def test_a_correction_after_signing_starts_a_new_version(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    h, first_sha = signed_hearing(sessions, tmp_path)
    bilu = h.bilu()
    bilu.edit_text(line_ids(h)[0], "现在开庭。")
    assert h.events()[-2:] == [EventType.UTTERANCE_CORRECTED, EventType.BILU_SUPERSEDED]
    assert bilu.current_version() is None
    with pytest.raises(BiluError, match="lock a new version first"):
        bilu.sign(h.ids[Role.PRESIDING_ARBITRATOR], first_sha, device="PC", login="wang")
    second = bilu.lock()
    assert second.number == 2 and second.sha256 != first_sha
    assert bilu.signatures(2) == [] and len(bilu.signatures(1)) == 2
    assert bilu.printable().version == 2 and bilu.printable().signatures == ()
    with pytest.raises(BiluError, match="not the current version"):
        bilu.sign(h.ids[Role.APPLICANT], first_sha, device="PC", login="zhangwei", face=h.face())
    bilu.sign(h.ids[Role.APPLICANT], second.sha256, device="PC", login="zhangwei", face=h.face())
    old = tmp_path / "v1.txt"
    bilu.export("txt", old, version=1)
    report = verify_file(sessions, old)
    assert report.ok and report.signatures == 2
    assert any("newer version" in n for n in report.notes)


ALTER = {"txt": alter_txt, "docx": alter_docx, "json": alter_json}


@pytest.mark.parametrize("fmt", ["txt", "docx", "pdf", "json"])
def test_exports_verify_and_an_edit_is_named(
    fmt: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    h, _ = signed_hearing(sessions, tmp_path)
    path = tmp_path / f"bilu.{fmt}"
    printable = h.bilu().export(fmt, path)
    assert "首席仲裁员：现在开庭" in [b.text for b in printable.blocks]
    report = verify_file(sessions, path)
    assert report.ok, report.problems
    assert report.signatures == 2
    if fmt == "pdf":
        swap_first_pdf_glyphs(path)
        changed = "范示市"
    else:
        ALTER[fmt](path, "我请求确认劳动关系", "我请求确认劳动关系和赔偿")
        changed = "和赔偿"
    report = verify_file(sessions, path)
    assert not report.ok
    assert any(changed in p for p in report.problems), report.problems


def test_a_forged_or_moved_signature_in_the_store_is_caught(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    h, _ = signed_hearing(sessions, tmp_path)
    path = tmp_path / "bilu.txt"
    h.bilu().export("txt", path)
    assert verify_file(sessions, path).ok
    with sessions.begin() as session:
        session.execute(update(Signature).where(Signature.signer_name == "张伟").values(signer_name="李四"))
    report = verify_file(sessions, path)
    assert any("forged or altered" in p for p in report.problems), report.problems
    with sessions.begin() as session:
        session.execute(update(Signature).where(Signature.signer_name == "李四").values(signer_name="张伟"))
        session.execute(update(Signature).where(Signature.signer_name == "周强").values(document_version=2))
    report = verify_file(sessions, path)
    assert any("moved" in p for p in report.problems), report.problems
    with sessions.begin() as session:
        session.execute(update(Signature).values(document_version=1))
        session.execute(
            text("UPDATE bilu_versions SET blocks = :b"), {"b": json.dumps([{"kind": "title", "text": "x"}])}
        )
    report = verify_file(sessions, path)
    assert any("hashes to" in p for p in report.problems), report.problems


def court(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "court.cli", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env}, check=False,
    )  # fmt: skip


def test_cli_export_and_verify_bilu(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'court.db'}"
    from court.db.engine import close_store, open_store

    sessions = open_store(url)
    try:
        h, _ = signed_hearing(sessions, tmp_path)
    finally:
        close_store(sessions)
    env = {"COURT_DATABASE_URL": url}
    txt = tmp_path / "b.txt"
    result = court("export", "--hearing", str(h.hearing_id), "--format", "txt", "--out", str(txt), env=env)
    assert result.returncode == 0, result.stderr
    assert "首席仲裁员：现在开庭" in txt.read_text(encoding="utf-8").splitlines()
    ok = court("verify-bilu", str(txt), env=env)
    assert ok.returncode == 0 and "核验通过" in ok.stdout, ok.stdout + ok.stderr
    alter_txt(txt, "申请人：我请求确认劳动关系", "申请人：我请求确认劳动关系并赔偿十万元")
    bad = court("verify-bilu", str(txt), env=env)
    assert bad.returncode == 1
    assert "并赔偿十万元" in bad.stdout and "申请人：我请求确认劳动关系" in bad.stdout
    missing = court(
        "export", "--hearing", "999", "--format", "txt", "--out", str(tmp_path / "x.txt"), env=env
    )
    assert missing.returncode == 2 and "999" in missing.stderr


@pytest.mark.slow
def test_demo_ends_locked_and_its_export_verifies(tmp_path: Path, model_cache: Path) -> None:
    config = write_test_config(tmp_path, model_cache)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "COURT_DATABASE_URL"}
    demo = subprocess.run(
        [sys.executable, "-m", "court.cli", "--config", str(config), "demo", "--out", str(out),
         "--speed", "8", "--script", str(SHORT_SCRIPT)],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    info = json.loads((out / "hearing.json").read_text(encoding="utf-8"))
    assert info["state"] == "signing"
    db = {"COURT_DATABASE_URL": info["database"]}
    pdf = out / "bilu.pdf"
    result = court("export", "--hearing", str(info["id"]), "--format", "pdf", "--out", str(pdf), env=db)
    assert result.returncode == 0, result.stderr
    assert court("verify-bilu", str(pdf), env=db).returncode == 0
    swap_first_pdf_glyphs(pdf)
    assert court("verify-bilu", str(pdf), env=db).returncode == 1


def test_a_shared_channel_line_nobody_matched_reads_unidentified() -> None:
    """A line whose voice matched nobody on a shared channel (transcription writes role
    ``unidentified``) shows as 未识别 in the 笔录, for the clerk to assign."""
    from court.core.roles import UNIDENTIFIED
    from court.record.bilu.common import role_label

    assert role_label(UNIDENTIFIED) == "未识别"
    assert role_label("unknown") == "发言人" and role_label("applicant") == "申请人"
