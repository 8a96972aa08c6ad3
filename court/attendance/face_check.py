"""Face-check attendance (人脸核验到庭): the door terminal recognises the expected participants as they
arrive, and the same check runs on a remote party's camera before they join.

:class:`FaceAttendance` is an :class:`~court.attendance.arrivals.AttendanceCheck`: it reads the door camera
(latest frame only, so a slow analysis never builds a queue), groups consecutive frames of one
person into a *visit*, and decides each visit on several frames against the enrolled templates of
the hearing's participants. A recognised participant (and, when liveness is required, a live one) is
yielded as an :class:`~court.attendance.arrivals.Arrival` with ``method="face"`` and the similarity. Nobody
else is admitted: unknown faces, undecided results and failed liveness checks are *reported* (the
controller writes ``attendance.unknown_face``, ``attendance.undecided``, ``attendance.liveness_failed``)
for the clerk, who can confirm a person by hand with a reason (:meth:`FaceAttendance.confirm`).

Reports carry names, roles, times and similarities only — never a picture or an embedding.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from court.attendance.arrivals import Arrival
from court.core.cases import ParticipantInfo
from court.core.events import EventType
from devices.clock import Clock
from devices.face import (
    Decision,
    Detection,
    Embedding,
    FaceAnalyzer,
    FaceTemplate,
    LivenessCheck,
    LivenessResult,
    LivenessSettings,
    MultiFrameVerifier,
    VerifierSettings,
    distance,
)
from devices.interfaces import Camera, DeviceFault
from devices.media import Image

log = logging.getLogger(__name__)

Report = Callable[[EventType, Mapping[str, Any]], object]
"""``report(event_type, payload)``: an attendance event for the timeline (no ``name`` key: that key
marks presence and absence rows)."""

Prompt = Callable[[str], None]
"""Shows an instruction on the terminal's screen (``请向左转头``)."""


@dataclass(frozen=True)
class FaceCheckSettings:
    verifier: VerifierSettings = field(default_factory=VerifierSettings)
    liveness: LivenessSettings | None = None
    """None: no liveness check (a simulated terminal shows photos; a real one should set it)."""
    timeout: float = 300.0
    """Hearing-clock seconds the door check runs at most; whoever has not come by then is absent."""
    gap: float = 1.5
    """Seconds without a face that end a visit: the next face is someone new."""
    new_person_distance: float = 0.6
    """A face this far from the current visit's first face is a new visit even without a gap."""
    same_place: float = 0.5
    """Box overlap (IoU) above which a face after the visit's decision is taken to be the same person
    without embedding it again."""
    min_interval: float = 0.0
    """Least hearing-clock seconds between two analysed frames (0: every frame the camera gives)."""


FACE_CONFIG_KEYS = {
    "accept_distance": ("verifier", float),
    "reject_distance": ("verifier", float),
    "margin": ("verifier", float),
    "min_frames": ("verifier", int),
    "max_frames": ("verifier", int),
    "timeout": ("check", float),
    "gap": ("check", float),
    "liveness": ("check", bool),
    "liveness_min_turn": ("liveness", float),
    "liveness_min_depth": ("liveness", float),
    "liveness_seconds": ("liveness", float),
}


def face_settings(raw: Mapping[str, Any]) -> FaceCheckSettings:
    """Settings from a config table (a room config's ``[face]``), e.g.
    ``{"accept_distance": 0.5, "reject_distance": 0.6, "min_frames": 3, "liveness": true}``.
    Raises ValueError naming the key for an unknown key or a bad value."""
    verifier: dict[str, Any] = {}
    check: dict[str, Any] = {}
    liveness: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in FACE_CONFIG_KEYS:
            raise ValueError(
                f"face.{key}: unknown key (expected one of: {', '.join(sorted(FACE_CONFIG_KEYS))})"
            )
        group, kind = FACE_CONFIG_KEYS[key]
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"face.{key}: must be true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"face.{key}: must be a positive number, got {value!r}")
        elif kind is int and not float(value).is_integer():
            raise ValueError(f"face.{key}: must be a whole number, got {value!r}")
        target = {"verifier": verifier, "check": check, "liveness": liveness}[group]
        target[key.removeprefix("liveness_") if group == "liveness" else key] = kind(value)
    try:
        verifier_settings = VerifierSettings(**verifier)
    except ValueError as exc:
        raise ValueError(f"face: {exc}") from None
    wants_liveness = check.pop("liveness", bool(liveness))
    return FaceCheckSettings(
        verifier=verifier_settings, liveness=LivenessSettings(**liveness) if wants_liveness else None, **check
    )


def _noop_report(event_type: str, payload: Mapping[str, Any]) -> None:
    log.info("attendance event %s", event_type)


def _noop_prompt(text: str) -> None:
    return None


@dataclass(eq=False)
class _Visit:
    verifier: MultiFrameVerifier
    liveness: LivenessCheck | None
    anchor: Embedding = field(repr=False)
    first_seen: float
    last_seen: float
    box: Detection | None = None
    """Where the face was last seen."""
    decision: Decision | None = None
    live: LivenessResult | None = None
    done: bool = False


class FaceAttendance:
    """The door check. Thread-safe for :meth:`confirm` and :meth:`stop` from the clerk's console."""

    def __init__(
        self,
        camera: Camera,
        templates: Sequence[FaceTemplate],
        clock: Clock,
        *,
        analyzer: FaceAnalyzer,
        settings: FaceCheckSettings | None = None,
        report: Report = _noop_report,
        prompt: Prompt = _noop_prompt,
        rng: random.Random | None = None,
    ) -> None:
        self.camera = camera
        self.templates = tuple(templates)
        self.clock = clock
        self.analyzer = analyzer
        self.settings = settings or FaceCheckSettings()
        self.report = report
        self.prompt = prompt
        self._rng = rng or random.SystemRandom()
        self._manual: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self.frames_analysed = 0
        if self.settings.liveness is not None:
            analyzer.embedder.load_landmarks68()  # before the door opens, not on the first face

    # -- the clerk's hand ------------------------------------------------------------------------------

    def confirm(self, participant_id: int, reason: str) -> None:
        """The clerk confirms a participant in person (e.g. after an undecided face check); the
        reason is required and goes into the attendance record."""
        if not reason.strip():
            raise ValueError("人工确认需要填写理由 (a manual confirmation needs a reason)")
        self._manual.put((participant_id, reason.strip()))

    def stop(self) -> None:
        """End the check now (the clerk closes attendance); who has not come is absent."""
        self._stop.set()

    # -- AttendanceCheck -------------------------------------------------------------------------------

    def arrivals(self, expected: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        people = {p.id: p for p in expected}
        templates = [t for t in self.templates if t.key in people]
        enrolled = {t.key for t in templates}
        for p in expected:
            if p.id not in enrolled:
                self.report(
                    EventType.ATTENDANCE_NOT_ENROLLED,
                    {"participant_id": p.id, "participant": p.label, "reason": "未登记证件照，需书记员核对"},
                )
        found: set[int] = set()
        start = self.clock.now()
        last_analysed = -float("inf")
        visit: _Visit | None = None
        fault_reported = False
        while not self._stop.is_set() and len(found) < len(people):
            yield from self._manual_arrivals(people, found)
            if len(found) >= len(people):
                break
            if self.clock.now() - start > self.settings.timeout:
                break
            if not templates:
                self.clock.sleep_until(self.clock.now() + 0.2)
                continue
            try:
                frame = self.camera.read()
            except DeviceFault as exc:
                if not fault_reported:
                    self.report(
                        EventType.ATTENDANCE_TERMINAL_FAULT, {"device": exc.device_id, "detail": exc.problem}
                    )
                    fault_reported = True
                continue
            if frame.t - last_analysed < self.settings.min_interval:
                continue
            last_analysed = frame.t
            visit, admitted = self._step(frame.image, frame.t, visit, templates, people, found)
            for arrival in admitted:
                found.add(arrival.participant_id)
                yield arrival
        if visit is not None and not visit.done:
            last = self._conclude(visit, people, found, final=True)
            if last is not None:
                found.add(last.participant_id)
                yield last
        yield from self._manual_arrivals(people, found)

    def _manual_arrivals(self, people: Mapping[int, ParticipantInfo], found: set[int]) -> Iterator[Arrival]:
        while True:
            try:
                participant_id, reason = self._manual.get_nowait()
            except queue.Empty:
                return
            if participant_id not in people:
                self.report(
                    EventType.ATTENDANCE_REJECTED_CONFIRMATION,
                    {"participant_id": participant_id, "reason": "不是本次庭审应到人员 (not expected)"},
                )
                continue
            if participant_id in found:
                continue
            found.add(participant_id)
            yield Arrival(participant_id, method="clerk", note=f"书记员人工核验：{reason}")

    # -- one frame -------------------------------------------------------------------------------------

    def _step(
        self,
        image: Image,
        t: float,
        visit: _Visit | None,
        templates: Sequence[FaceTemplate],
        people: Mapping[int, ParticipantInfo],
        found: set[int],
    ) -> tuple[_Visit | None, list[Arrival]]:
        s = self.settings
        analysis = self.analyzer.analyze(image, embed=False)
        self.frames_analysed += 1
        observed = analysis.subject
        admitted: list[Arrival] = []
        if observed is not None and not (
            visit is not None
            and visit.done
            and visit.box is not None
            and observed.detection.overlap(visit.box) >= s.same_place
        ):
            # Embedding is most of a frame's cost: a decided visit whose face stays in place is
            # followed by its box alone; anything new is embedded.
            observed = self.analyzer.embed(observed)

        def close(old: _Visit) -> None:
            if not old.done:
                arrival = self._conclude(old, people, found, final=True)
                if arrival is not None:
                    admitted.append(arrival)

        if observed is None:
            if visit is not None and t - visit.last_seen > s.gap:
                close(visit)
                return None, admitted
            return visit, admitted
        if visit is not None:
            visit.last_seen = t
            visit.box = observed.detection
        if observed.embedding is None:
            return visit, admitted  # a face, but too small, blurred or turned away: wait for a better one
        if visit is not None and distance(observed.embedding, visit.anchor) > s.new_person_distance:
            close(visit)
            visit = None
        if visit is None:
            liveness = LivenessCheck(s.liveness, rng=self._rng) if s.liveness is not None else None
            visit = _Visit(
                MultiFrameVerifier(templates, s.verifier),
                liveness,
                observed.embedding,
                t,
                t,
                observed.detection,
            )
            if liveness is not None:
                self.prompt(liveness.prompt)
        if visit.done:
            return visit, admitted
        if visit.decision is None:
            visit.decision = visit.verifier.add(observed.embedding)
        if visit.liveness is not None and visit.live is None:
            points = self.analyzer.landmarks68(image, observed.detection)
            visit.live = visit.liveness.add(points, t)
        arrival = self._conclude(visit, people, found, final=False)
        if arrival is not None:
            admitted.append(arrival)
        return visit, admitted

    def _conclude(
        self, visit: _Visit, people: Mapping[int, ParticipantInfo], found: set[int], *, final: bool
    ) -> Arrival | None:
        """Act on a visit once its answers are in (or, with ``final``, on what there is)."""
        decision = visit.decision or (visit.verifier.finish() if final else None)
        if decision is None:
            return None
        if decision.match is False:
            visit.done = True
            self.report(
                EventType.ATTENDANCE_UNKNOWN_FACE,
                {
                    "similarity": decision.similarity,
                    "frames": decision.frames,
                    "reason": "未识别的人员，未予放行 (unknown face, not admitted)",
                },
            )
            return None
        if visit.liveness is not None and visit.live is None:
            if not final:
                return None
            visit.live = visit.liveness.finish()
        visit.done = True
        candidate = people.get(decision.key) if isinstance(decision.key, int) else None
        about: dict[str, Any] = {"similarity": decision.similarity, "frames": decision.frames}
        if candidate is not None:
            about |= {"candidate_id": candidate.id, "candidate": candidate.label}
        if decision.match is None:
            self.report(
                EventType.ATTENDANCE_UNDECIDED, {**about, "reason": f"{decision.reason}，需书记员核对"}
            )
            return None
        if visit.live is not None and visit.live.live is not True:
            self.report(
                EventType.ATTENDANCE_LIVENESS_FAILED,
                {**about, "reason": visit.live.reason, "turn": visit.live.turn, "depth": visit.live.depth},
            )
            return None
        assert candidate is not None and decision.similarity is not None
        if candidate.id in found:
            return None
        note = "人脸核验通过" + ("，活体检测通过" if visit.live is not None else "")
        return Arrival(candidate.id, method="face", similarity=decision.similarity, note=note)


# -- remote join ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteVerification:
    """The face check of a remote party before they enter the hearing."""

    decision: Decision
    liveness: LivenessResult | None
    frames_seen: int
    frames_used: int

    @property
    def admitted(self) -> bool:
        return self.decision.match is True and (self.liveness is None or self.liveness.live is True)

    @property
    def reason(self) -> str:
        if self.decision.match is not True:
            return self.decision.reason
        if self.liveness is not None and self.liveness.live is not True:
            return self.liveness.reason
        return "人脸核验通过"

    def arrival(self) -> Arrival | None:
        """The attendance record to write when admitted (``method="face"``, note says remote)."""
        if not self.admitted or not isinstance(self.decision.key, int):
            return None
        return Arrival(
            self.decision.key, method="face", similarity=self.decision.similarity, note="远程人脸核验通过"
        )

    def report_payload(self) -> dict[str, Any]:
        """What the timeline may hold about this check (no picture, no embedding)."""
        return {
            "participant_id": self.decision.key if isinstance(self.decision.key, int) else None,
            "match": self.decision.match,
            "similarity": self.decision.similarity,
            "frames": self.frames_used,
            "live": None if self.liveness is None else self.liveness.live,
            "reason": self.reason,
        }


def verify_remote(
    frames: Sequence[Image] | Iterator[Image],
    templates: Sequence[FaceTemplate],
    *,
    analyzer: FaceAnalyzer,
    settings: VerifierSettings | None = None,
    liveness: LivenessSettings | None = None,
    rng: random.Random | None = None,
    max_frames: int = 30,
) -> RemoteVerification:
    """Verify frames from a remote party's camera against their enrolled template(s) (pass only the
    templates of the participant who is joining). Uses at most ``max_frames`` frames; the web layer
    shows :attr:`LivenessCheck.prompt` when liveness is required."""
    if not templates:
        raise ValueError("该参与人未登记证件照，无法人脸核验 (no enrolled photo for this participant)")
    verifier = MultiFrameVerifier(templates, settings)
    check = LivenessCheck(liveness, rng=rng) if liveness is not None else None
    live: LivenessResult | None = None
    decision: Decision | None = None
    seen = used = 0
    anchor: Embedding | None = None
    for image in frames:
        seen += 1
        if seen > max_frames:
            break
        analysis = analyzer.analyze(image)
        observed = analysis.subject
        if observed is None or observed.embedding is None:
            continue
        if anchor is None:
            anchor = observed.embedding
        used += 1
        if decision is None:
            decision = verifier.add(observed.embedding)
        if check is not None and live is None:
            live = check.add(analyzer.landmarks68(image, observed.detection))
        if decision is not None and (check is None or live is not None or decision.match is not True):
            break
    decision = decision or verifier.finish()
    if check is not None and live is None and decision.match is True:
        live = check.finish()
    return RemoteVerification(decision, live, seen, used)


def embedding_free(payload: Mapping[str, Any]) -> bool:
    """Whether a payload holds nothing that looks like an embedding or a picture (a guard for tests
    and for callers that build their own payloads)."""
    for value in payload.values():
        if isinstance(value, bytes | bytearray | np.ndarray):
            return False
        if isinstance(value, list | tuple) and len(value) >= 16:
            return False
    return True
