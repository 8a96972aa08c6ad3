"""The hearing recording a court can trust: every camera and microphone in short segments, the
synchronized time burnt into the picture, each segment's SHA-256 chained into ``manifest.jsonl``,
every start/stop/interruption logged with its reason, defective segments kept and flagged, a verified
backup copy, and a verifier that names any altered, removed, reordered or added segment.

Modules: :mod:`.writer` (``SegmentedRecorder``), :mod:`.capture` (``CaptureLoop``), :mod:`.manifest`,
:mod:`.recovery` (``recover``), :mod:`.verify` (``verify_recording``, ``main``), :mod:`.encoders`,
:mod:`.overlay`, :mod:`.backup`, :mod:`.files`.
"""

from devices.recording.capture import CaptureLoop, Consumer, MediaSink, Only
from devices.recording.manifest import (
    EventAction,
    EventEntry,
    ManifestEntry,
    ManifestError,
    ManifestNeedsRecovery,
    Media,
    SegmentEntry,
    SegmentStatus,
)
from devices.recording.overlay import hearing_clock_text
from devices.recording.recovery import recover
from devices.recording.verify import VerifyReport, verify_recording
from devices.recording.writer import RecorderClosed, SegmentedRecorder

__all__ = [
    "CaptureLoop",
    "Consumer",
    "EventAction",
    "EventEntry",
    "ManifestEntry",
    "ManifestError",
    "ManifestNeedsRecovery",
    "Media",
    "MediaSink",
    "Only",
    "RecorderClosed",
    "SegmentEntry",
    "SegmentStatus",
    "SegmentedRecorder",
    "VerifyReport",
    "hearing_clock_text",
    "recover",
    "verify_recording",
]
