"""Shared by the access tests: a settable clock, a hearing to invite to, and checks on the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import NewParticipant, create_case, create_hearing, load_hearing
from court.core.roles import Role
from court.db.models import Account, AuditLog, LoginSession

START = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


class FakeNow:
    def __init__(self) -> None:
        self.value = START

    def __call__(self) -> datetime:
        return self.value

    def advance(self, delta: timedelta) -> None:
        self.value += delta


def make_case(
    sessions: sessionmaker[Session], number: str = "示劳人仲案字〔2026〕第118号"
) -> tuple[int, int, int]:
    """A hearing of a case: (hearing id, applicant id, respondent id)."""
    case_id = create_case(
        sessions,
        case_number=number,
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.RESPONDENT, "李娜", organization="示范科技有限公司", remote=True),
            NewParticipant(Role.CLERK, "王芳", seat_id="clerk"),
        ],
    )
    hearing_id = create_hearing(sessions, case_id, room="第一仲裁庭")
    info = load_hearing(sessions, hearing_id)
    return hearing_id, info.participants[0].id, info.participants[1].id


def audit_rows(sessions: sessionmaker[Session]) -> list[AuditLog]:
    with sessions() as session:
        return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def assert_no_secret(sessions: sessionmaker[Session], *secrets: str) -> None:
    """None of ``secrets`` (nor a code without its dash) is in the audit log, the sessions or the hashes."""
    dump = json.dumps(
        [[row.actor, row.action, row.detail] for row in audit_rows(sessions)], ensure_ascii=False
    )
    for secret in secrets:
        assert secret not in dump
        assert secret.replace("-", "") not in dump
    with sessions() as session:
        stored = json.dumps([[r.token_sha256, r.client] for r in session.scalars(select(LoginSession))])
        hashes = [h for (h,) in session.execute(select(Account.password_hash))]
    for secret in secrets:
        assert secret not in stored
        assert all(secret not in h for h in hashes)
