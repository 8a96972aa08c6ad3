"""One room runs a hearing at a time: the claim, its lease, and the fencing token on every append.

An institute's rooms share one database. Starting a hearing claims it for the starting room in one
transaction (the ``hearing_leases`` row, locked while it is decided): free, released, or whose lease
has expired → the room takes it under a new *generation*; held by another room whose lease still
runs → refused, naming that room. The room's heartbeat renews the lease; a node that dies stops
renewing, and the lease lapses ``[rooms] lease_seconds`` after its last beat.

Expiry only decides when someone else may take over. What keeps the record whole is the generation:
:meth:`court.core.timeline.Timeline.append` calls :func:`fence` inside the transaction that writes
the event, with the claim its writer holds; the lease row is locked and the event stored only if that
claim is still the current generation (the event keeps it, ``events.fence``). A node that lost its
lease — paused past its expiry and taken over meanwhile — cannot write a single further event, and
a takeover waits for an append in flight, so a hearing's events of one generation all come before the
next one's. While a room holds a hearing, a writer without a claim (another node's web request) is
refused too: only the room writes to a running hearing's timeline.

Clocks: expiry compares the nodes' own UTC clocks (they are NTP-synchronized for the record's
Beijing times anyway); a skew of seconds delays or hastens a takeover, it never lets two write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from court.core.timeutil import as_utc, utcnow
from court.db.rooms import HearingLease

HELD_ELSEWHERE = "held_elsewhere"
LEASE_LOST = "lease_lost"
STORE_NOT_SHARED = "store_not_shared"


@dataclass(frozen=True, slots=True)
class Claim:
    """A room's hold on one hearing: what its timeline appends carry."""

    hearing_id: int
    room: str
    node: str
    generation: int


@dataclass(frozen=True, slots=True)
class Holder:
    """What the lease row says about who holds (or last held) a hearing."""

    hearing_id: int
    room: str
    node: str
    generation: int
    claimed_at: datetime
    expires_at: datetime
    released_at: datetime | None

    @property
    def held(self) -> bool:
        return self.released_at is None

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now


class ClaimRefused(Exception):
    """The hearing cannot be claimed or written to from here: ``code`` for the API (409), ``room``
    the room that holds it, the message for people (Chinese, naming the room)."""

    def __init__(self, code: str, message: str, room: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.room = room


def held_message(room: str) -> str:
    return f"该庭审正在「{room}」进行，请在该庭的控制台操作 (the hearing runs in room {room})"


def fence(session: Session, hearing_id: int, claim: Claim | None) -> int | None:
    """Inside an append's transaction, after its write: lock the hearing's lease row and return the
    fencing token the event carries, or raise :class:`ClaimRefused` (the transaction is rolled back)."""
    row = session.scalar(select(HearingLease).where(HearingLease.hearing_id == hearing_id).with_for_update())
    if claim is None:
        if row is None or row.released_at is not None:
            return None
        raise ClaimRefused(HELD_ELSEWHERE, held_message(row.room), row.room)
    if row is None or row.generation != claim.generation:
        holder = row.room if row is not None else claim.room
        raise ClaimRefused(
            LEASE_LOST,
            f"本庭对该庭审的主持已失效，现由「{holder}」主持，不能再写入庭审记录 "
            f"(this room lost the hearing to {holder})",
            holder,
        )
    return claim.generation


def holder(sessions: sessionmaker[Session], hearing_id: int) -> Holder | None:
    with sessions() as session:
        row = session.get(HearingLease, hearing_id)
        return _holder(row) if row is not None else None


def holders(sessions: sessionmaker[Session]) -> dict[int, Holder]:
    """Every hearing a room holds now or held last, by hearing id."""
    with sessions() as session:
        return {row.hearing_id: _holder(row) for row in session.scalars(select(HearingLease))}


TakeOver = Callable[[Holder], None]
"""Asked before a room takes a hearing another room held: raises :class:`ClaimRefused` when it
cannot carry it on (its recording store is not visible here)."""


def claim_hearing(
    sessions: sessionmaker[Session],
    hearing_id: int,
    *,
    room: str,
    node: str,
    lease_seconds: float,
    may_take_over: TakeOver | None = None,
    gone: Callable[[Holder], bool] | None = None,
    now: Callable[[], datetime] = utcnow,
) -> tuple[Claim, Holder | None]:
    """Claim the hearing for ``room`` (the process ``node``) atomically. Returns the claim and the
    previous holder (None for a first claim). Already held by this node: the same claim, renewed.
    ``gone``: whether a holder whose lease still runs is known to be dead (then it is taken over)."""
    for attempt in range(3):
        try:
            with sessions.begin() as session:
                return _claim(session, hearing_id, room, node, lease_seconds, may_take_over, gone, now())
        except (IntegrityError, OperationalError, _Raced):
            # Two rooms creating the first lease row at once (a key conflict), or taking it over at
            # once (the generation moved under one of them): decide again on what is there now.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class _Raced(Exception):
    """Another claim changed the lease between reading and writing it."""


def _claim(
    session: Session,
    hearing_id: int,
    room: str,
    node: str,
    lease_seconds: float,
    may_take_over: TakeOver | None,
    gone: Callable[[Holder], bool] | None,
    now: datetime,
) -> tuple[Claim, Holder | None]:
    expires = now + timedelta(seconds=lease_seconds)
    row = session.scalar(select(HearingLease).where(HearingLease.hearing_id == hearing_id).with_for_update())
    if row is None:
        session.add(
            HearingLease(
                hearing_id=hearing_id, room=room, node=node, generation=1, claimed_at=now, expires_at=expires
            )
        )
        session.flush()
        return Claim(hearing_id, room, node, 1), None
    previous = _holder(row)
    if previous.held and row.node == node:
        row.expires_at = expires
        return Claim(hearing_id, room, node, row.generation), previous
    if previous.held and not previous.expired(now) and not (gone is not None and gone(previous)):
        raise ClaimRefused(HELD_ELSEWHERE, held_message(row.room), row.room)
    if may_take_over is not None and previous.room != room:
        may_take_over(previous)
    # Conditional on the generation read: SQLite reads outside the write lock, so two rooms taking an
    # expired lease at once must not both get the next generation.
    taken = session.execute(
        update(HearingLease)
        .where(HearingLease.hearing_id == hearing_id, HearingLease.generation == previous.generation)
        .values(
            generation=previous.generation + 1,
            room=room,
            node=node,
            claimed_at=now,
            expires_at=expires,
            released_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise _Raced
    return Claim(hearing_id, room, node, previous.generation + 1), previous


def renew(
    sessions: sessionmaker[Session], node: str, lease_seconds: float, *, now: datetime | None = None
) -> set[int]:
    """Extend every lease ``node`` holds; returns the hearings it still holds."""
    at = now or utcnow()
    mine = (HearingLease.node == node, HearingLease.released_at.is_(None))
    with sessions.begin() as session:
        session.execute(
            update(HearingLease)
            .where(*mine)
            .values(expires_at=at + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        return set(session.scalars(select(HearingLease.hearing_id).where(*mine)))


def release(sessions: sessionmaker[Session], claim: Claim) -> bool:
    """Let the hearing go (closed, a failed start, a clean stop): another room may claim it at once.
    False when the claim was no longer current (nothing to release)."""
    with sessions.begin() as session:
        released = session.execute(
            update(HearingLease)
            .where(
                HearingLease.hearing_id == claim.hearing_id,
                HearingLease.generation == claim.generation,
                HearingLease.released_at.is_(None),
            )
            .values(released_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(released.rowcount == 1)  # type: ignore[attr-defined]


def _holder(row: HearingLease) -> Holder:
    return Holder(
        hearing_id=row.hearing_id,
        room=row.room,
        node=row.node,
        generation=row.generation,
        claimed_at=as_utc(row.claimed_at),
        expires_at=as_utc(row.expires_at),
        released_at=as_utc(row.released_at) if row.released_at is not None else None,
    )
