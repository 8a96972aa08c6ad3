"""What every job of the 笔录 shares: the events it reads and writes, its error, role labels and where
the server's signing key lives.

Kept apart so the job modules depend on this one and never on the facade in ``__init__``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from court.core.events import EventType
from court.core.roles import UNIDENTIFIED, UNIDENTIFIED_LABEL, Role

SIGNING_KEY_ENV = "COURT_SIGNING_KEY"
KEY_FILE_NAME = "court-signing-key.pem"

CORRECTED = EventType.UTTERANCE_CORRECTED
ROLE_CHANGED = EventType.UTTERANCE_ROLE_CHANGED
MERGED = EventType.UTTERANCE_MERGED
SPLIT = EventType.UTTERANCE_SPLIT
MARKED = EventType.UTTERANCE_MARKED
UNMARKED = EventType.UTTERANCE_UNMARKED
ADDED = EventType.UTTERANCE_ADDED
CORRECTION_EVENTS = (CORRECTED, ROLE_CHANGED, MERGED, SPLIT, MARKED, UNMARKED, ADDED)
REQUESTED = EventType.CORRECTION_REQUESTED
DECIDED = EventType.CORRECTION_DECIDED
EVIDENCE_PRESENTED = EventType.EVIDENCE_PRESENTED
LOCKED = EventType.BILU_LOCKED
SUPERSEDED = EventType.BILU_SUPERSEDED
SIGNED = EventType.BILU_SIGNED
SIGN_REFUSED = EventType.BILU_SIGN_REFUSED
CONTENT_EVENTS = frozenset({*CORRECTION_EVENTS, DECIDED, EVIDENCE_PRESENTED, EventType.UTTERANCE})
"""Events that change the 笔录's text: after a lock, any of them makes a new version necessary."""

UNKNOWN_ROLE_LABEL = "发言人"


class BiluError(Exception):
    """A 笔录 action the record does not allow or that is malformed; nothing was recorded."""


def default_key_path(url: str) -> Path:
    """Where the server's private signing key lives: ``$COURT_SIGNING_KEY``; else beside a SQLite
    store's file; else ``var/keys/`` under the current folder (like the default config's ``var/``)."""
    explicit = os.environ.get(SIGNING_KEY_ENV)
    if explicit:
        return Path(explicit)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database).resolve().parent / KEY_FILE_NAME
    return Path("var/keys") / KEY_FILE_NAME


def role_label(role: str) -> str:
    try:
        return Role(role).label
    except ValueError:
        if role == UNIDENTIFIED:
            return UNIDENTIFIED_LABEL
        return UNKNOWN_ROLE_LABEL if role in ("", "unknown") else role


def opt_int(value: Any) -> int | None:
    return int(value) if value is not None else None
