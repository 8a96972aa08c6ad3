"""A small hearing as plain values, its document, a sealed version and a signed printable."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from datetime import UTC, datetime, timedelta

from PIL import Image, ImageDraw

from transcripts.bilu import (
    AttendanceEntry,
    BiluDocument,
    Correction,
    CorrectionRequest,
    Decision,
    EvidenceShown,
    HearingFacts,
    Mark,
    Merge,
    Milestone,
    Person,
    Printable,
    RecognizedLine,
    SignatureRecord,
    VersionSeal,
    apply_corrections,
    build_document,
    content_sha256,
    document_blocks,
)
from transcripts.bilu.seal import ServerKey
from transcripts.bilu.signatures import version_statement

T0 = datetime(2026, 12, 1, 1, 0, 0, tzinfo=UTC)  # 09:00:00 in UTC+8
CASE = "示劳人仲案字〔2026〕第118号"
PRESIDING = Person("presiding_arbitrator", "首席仲裁员", "王建国", participant_id=1)
ARBITRATOR = Person("arbitrator", "仲裁员", "陈静", participant_id=2)
CLERK = Person("clerk", "书记员", "赵敏", participant_id=3)
APPLICANT = Person("applicant", "申请人", "张伟", participant_id=4)
AGENT = Person("respondent_agent", "被申请人代理人", "周强", "示范科技有限公司", participant_id=5)
WITNESS = Person("witness", "证人", "吴强", participant_id=6)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def facts() -> HearingFacts:
    return HearingFacts(
        commission="示范市劳动人事争议仲裁委员会",
        case_number=CASE,
        cause="劳动报酬争议",
        place="第一仲裁庭",
        tribunal=(PRESIDING, ARBITRATOR),
        recorders=(CLERK,),
        attendance=(
            AttendanceEntry(APPLICANT, True, at(133), "face", 0.93),
            AttendanceEntry(AGENT, True, at(140), "clerk"),
            AttendanceEntry(WITNESS, False),
        ),
        milestones=(
            Milestone("preparing", 0, at(0)),
            Milestone("rules", 150, at(150)),
            Milestone("opened", 200, at(200)),
            Milestone("phase", 300, at(300), "investigation"),
            Milestone("phase", 400, at(400), "evidence"),
            Milestone("recessed", 450, at(450), reason="合议庭休庭评议"),
            Milestone("resumed", 500, at(500)),
            Milestone("closed", 600, at(600)),
        ),
        evidence=(EvidenceShown(410, at(410), "劳动合同", "申请人 张伟", "ab" * 32, "contract.pdf"),),
    )


def recognized() -> list[RecognizedLine]:
    return [
        RecognizedLine("u10", "presiding_arbitrator", "首席仲裁员", "现在开庭。", 201, 203, "王建国", 1),
        RecognizedLine("u11", "applicant", "申请人", "我请求确认劳动关系", 310, 314, "张伟", 4),
        RecognizedLine("u12", "applicant", "申请人", "并支付工资。", 314.5, 316, "张伟", 4),
        RecognizedLine("u13", "respondent_agent", "被申请人代理人", "被申请人不同意。", 320, 324, "周强", 5),
        RecognizedLine("u14", "applicant", "申请人", "证据一是劳动合同。", 405, 408, "张伟", 4),
    ]


def document() -> BiluDocument:
    transcript = apply_corrections(
        recognized(),
        [
            Correction(20, "书记员 赵敏", at(700), Merge(("u11", "u12"))),
            Correction(21, "书记员 赵敏", at(701), Mark("u13", "异议")),
        ],
        [CorrectionRequest(22, "u13", "申请人 张伟", "被申请人同意。", at(702), "听错了", 4)],
        [Decision(23, 22, False, "书记员 赵敏", at(703), "与录音一致")],
    )
    return build_document(facts(), transcript)


def signature_png(width: int = 300, height: int = 100) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).line([(10, 80), (100, 20), (200, 70), (290, 10)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def sealed(
    key: ServerKey, doc: BiluDocument | None = None, hearing_id: int = 7
) -> tuple[Printable, VersionSeal]:
    doc = doc or document()
    blocks = document_blocks(doc)
    sha = content_sha256(blocks)
    statement = version_statement(hearing_id, CASE, 1, sha, at(800), "书记员 赵敏")
    seal = VersionSeal(hearing_id, CASE, 1, sha, at(800), "书记员 赵敏", key.key_id, key.seal(statement))
    png = signature_png()
    records: list[SignatureRecord] = []
    for person, refused in ((APPLICANT, False), (AGENT, True)):
        record = SignatureRecord(
            hearing_id=hearing_id,
            case_number=CASE,
            version=1,
            sha256=sha,
            signer=person,
            refused=refused,
            at=at(900 + len(records)),
            device="iPhone Safari" if not refused else "PC Chrome",
            methods=() if refused else ("handwritten", "login"),
            login="" if refused else "zhangwei",
            reason="对第三行有异议" if refused else "",
            image_sha256="" if refused else hashlib.sha256(png).hexdigest(),
            key_id=key.key_id,
            image=None if refused else png,
        )
        records.append(dataclasses.replace(record, seal=key.seal(record.statement())))
    printable = Printable(
        case_number=CASE,
        title="庭审笔录",
        blocks=blocks,
        signers=doc.signers,
        version=1,
        sha256=sha,
        signatures=tuple(records),
        document=doc,
        version_seal=seal,
        public_key=key.public_key,
    )
    return printable, seal
