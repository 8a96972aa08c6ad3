"""The payloads of the transcript's events: speech recognition (``transcription.*``) and the lines
and the clerk's corrections to them (``utterance.*``), as in :mod:`court.core.payloads` (whose
conventions apply: no ``from __future__ import annotations``, lists never tuples)."""

from typing import NotRequired, TypedDict

# -- transcription: speech recognition ------------------------------------------------------------------


class TranscriptionStarted(TypedDict):
    sources: list[str]
    model: str
    device: str
    compute_type: str


class TranscriptionFault(TypedDict):
    """The transcript (not the evidence) failed somewhere; the hearing goes on."""

    detail: str


class TranscriptionStopped(TypedDict):
    lines_rejected: int
    decode_seconds: float
    audio_seconds: float
    latency_p50: NotRequired[float]
    latency_max: NotRequired[float]


class TranscriptionRecovered(TypedDict):
    """After a restart: the speech recorded before it but not yet transcribed (recognition was behind,
    or the line was still being decoded), transcribed from the recorded segments."""

    start: float
    end: float
    """The hearing-clock stretch read back from the recording."""
    sources: list[str]
    lines: int
    rejected: int
    audio_seconds: float
    decode_seconds: float


class TranscriptionGap(TypedDict):
    """A stretch of the hearing whose speech cannot be transcribed (its audio was not saved, or could
    not be read back): printed in the 笔录 with its time span and reason."""

    start: float
    end: float
    sources: list[str]
    reason: str


class TranscriptionTermsAdded(TypedDict):
    """The clerk's additions to the case vocabulary."""

    terms: list[str]


# -- utterance: transcript lines and the clerk's corrections of them ----------------------------------

WordTiming = list[str | float]
"""One recognized character or word: ``[text, start, end, probability]``."""


class Utterance(TypedDict):
    """A recognized line (projected into ``utterances``); ``start``/``end`` locate its audio."""

    role: str
    role_label: NotRequired[str]
    """Set by the transcriber; lines written by hand may lack it."""
    text: str
    start: float
    end: float
    source: str
    participant_id: NotRequired[int | None]
    name: NotRequired[str]
    confidence: NotRequired[float]
    words: NotRequired[list[WordTiming]]
    uncertain: NotRequired[list[list[int]]]
    """[start, end) spans of ``text`` the recognizer was unsure of (marked in the clerk's console)."""


class UtteranceCorrected(TypedDict):
    line: str
    before: str
    after: str
    reason: NotRequired[str]
    request_id: NotRequired[int]
    """The correction request it carries out."""


class UtteranceRoleChanged(TypedDict):
    line: str
    role: str
    role_label: str
    speaker: str
    participant_id: int | None
    before: str
    after: str
    reason: NotRequired[str]


class UtteranceMerged(TypedDict):
    lines: list[str]
    before: list[str]
    """The lines' texts."""
    after: str
    reason: NotRequired[str]


class UtteranceSplit(TypedDict):
    line: str
    offset: int
    new_line: str
    before: str
    after: list[str]
    """The two halves."""
    reason: NotRequired[str]


class UtteranceMarked(TypedDict):
    line: str
    mark: str
    note: str
    before: list[str]
    """The line's marks before."""


class UtteranceUnmarked(TypedDict):
    line: str
    mark: str
    before: list[str]


class UtteranceAdded(TypedDict):
    """A line the recognizer missed, added by the clerk."""

    line: str
    role: str
    role_label: str
    speaker: str
    participant_id: int | None
    text: str
    start: float
    reason: NotRequired[str]
