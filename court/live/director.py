"""The camera director: which camera is the program's main picture, as the speaking role changes.

A pure rule machine on the hearing clock: it is told, every tick, which speakers are talking
(:meth:`Director.update`), and answers with the cuts to make, each with its rule and reason. It never
reads a clock or a device, so the rules are tested with a fake timeline of speech.

The rules, every number in :class:`~court.config.DirectorConfig`:

- a speaker's camera is taken once they have talked ``onset_seconds`` (a cough or a "嗯" is not a turn),
  counted from when the detector heard their voice begin, up to when it last heard them, and only
  while their voice is heard (never a cut to a voice that has just stopped); somebody who began over
  the current speaker counts only from that speaker's last word, so neither an interjection in the
  speaker's breath nor the end of an overlap in which the speaker's voice dropped for a moment takes
  the picture;
- a speaker the hearing has named as next (:meth:`Director.expect`, from :mod:`court.live.cues`: the
  presiding arbitrator gave them the floor, the phase's order, the question was put to them) needs only
  ``expected_onset_seconds`` of voice (the detector's hangover not counted, so a cough does not pass)
  for a turn begun after the cue, once the floor is free: a vision mixer arms that camera, and the first
  words cut to it. Nothing is cut on the cue alone, and taking the picture over somebody still talking
  always needs the full onset;
- no shot is cut away from within ``min_hold_seconds`` (except for a dead camera or the clerk);
- the current speaker is left after ``release_seconds`` of silence, for the wide view, unless somebody
  else is already starting to talk (then the picture waits for them instead of cutting twice);
- two or more people on different cameras talking at once for over ``overlap_seconds`` → wide, until
  fewer than two are talking (a short pause of one of them neither cuts back and forth nor starts the
  count again);
- everyone silent for over ``idle_seconds`` → the idle view (the arbitrators' bench, or wide);
- a close-up held over ``max_closeup_seconds`` → wide for ``relief_seconds``, then back;
- ``exchange_turns`` changes of speaker between cameras too fast to follow (the turn left was shorter
  than ``exchange_turn_seconds``, or came before its shot could be held ``min_hold_seconds``) within
  ``exchange_window_seconds`` → wide, until one speaker holds the floor (across their short pauses) for
  ``exchange_settle_seconds``; a question and a one-line answer are followed, not an exchange;
- a priority role (the presiding arbitrator) wins a tie, and speaking up over somebody who then yields
  takes the floor from their own first word, not the yielding speaker's last one; talking on together
  is an overlap like any other (a leak that made the bench seem to talk cannot take the picture);
- the clerk can lock a camera for a while, or turn automatic switching off (e.g. for the debate) and
  pick cameras by hand; automatic switching resumes when the lock runs out or the clerk resumes it;
- a camera that delivers no frames is skipped until it recovers; a dead main picture is left at once
  (under a clerk's lock or manual control it stays, as the feed's slate, until the clerk chooses).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from court.config import DirectorConfig
from court.core.roles import Role

EPSILON = 1e-6
"""Slack in comparing durations on the hearing clock: ticks 0.1 s apart must not miss a limit by a
rounding error (0.8 s of talk measured as 0.7999999 s would cost a whole tick)."""
BLIP_SECONDS = 0.25
"""A voice heard for less than this is no talker yet, for the overlap rule."""
CUE_LEAD = 0.5
"""An expected speaker's turn may begin this long before the cue's moment: the answer can start as the
recognizer's line of the question is still closing (its end pads the last word)."""


@runtime_checkable
class TimedSpeech(Protocol):
    """Who is talking, with since when: the activity monitor's answer (``devices.activity.Speaking``)."""

    @property
    def since(self) -> Mapping[str, float]:
        """Hearing-clock seconds at which each speaker's voice began, as the detector heard it."""
        ...


class DirectorError(Exception):
    """A request the director cannot carry out (unknown camera or speaker, wrong mode)."""


class Mode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"
    """Automatic switching off: the clerk picks the cameras."""
    LOCKED = "locked"
    """One camera held by the clerk until a time; automatic switching resumes after."""


class Rule(StrEnum):
    START = "start"
    SPEAKER = "speaker"
    PRIORITY = "priority"
    OVERLAP = "overlap"
    EXCHANGE = "exchange"
    LONG_CLOSEUP = "long_closeup"
    RELEASED = "released"
    IDLE = "idle"
    FAULT = "fault"
    LOCK = "lock"
    CLERK = "clerk"


@dataclass(frozen=True, slots=True)
class Speaker:
    """Somebody whose voice can take the picture: a seat, or a remote party."""

    key: str
    """The seat id, or the remote participant's key (as the activity detector names the channel)."""
    camera: str
    """The camera that shows them: the seat's close-up, or a remote party's own video source."""
    role: Role
    label: str
    """What the caption says, e.g. 申请人 张伟."""


@dataclass(frozen=True, slots=True)
class Cut:
    t: float
    camera: str
    previous: str | None
    rule: Rule
    reason: str
    speaker: str | None = None
    """The speaker the new shot is for, when it is a speaker's shot."""
    held: float = 0.0
    """How long the previous shot was on air."""
    expected: bool = False
    """The speaker was expected (armed by a cue) and took the camera after the short onset."""


@dataclass(frozen=True, slots=True)
class ModeChange:
    t: float
    mode: Mode
    reason: str
    camera: str | None = None
    until: float | None = None


DirectorEvent = Cut | ModeChange


@dataclass(frozen=True, slots=True)
class _Want:
    camera: str
    rule: Rule
    reason: str
    speaker: str | None = None
    expected: bool = False


class Director:
    """The rule machine. Not thread-safe: one owner calls it (the live program's ticker)."""

    def __init__(
        self,
        config: DirectorConfig,
        speakers: Collection[Speaker],
        *,
        wide_camera: str,
        bench_camera: str | None = None,
        cameras: Collection[str] = (),
    ) -> None:
        """
        :param wide_camera: the whole-room view (overlaps, exchanges, leaving a speaker).
        :param bench_camera: the arbitrators' bench, for the idle view ``bench`` (default: wide).
        :param cameras: every camera the director may choose (the speakers' cameras are added).
        """
        self.config = config
        self.speakers: dict[str, Speaker] = {}
        self.wide_camera = wide_camera
        self.bench_camera = bench_camera or wide_camera
        self.cameras: set[str] = {wide_camera, self.bench_camera, *cameras}
        for speaker in speakers:
            self.add_speaker(speaker)
        self._available: dict[str, bool] = {}
        self._last_t = -math.inf
        self._spurt_start: dict[str, float] = {}
        self._last_active: dict[str, float] = {}
        self._voiced: dict[str, float] = {}
        self._floor: str | None = None
        self._floor_camera: str | None = None
        self._floor_spoke_since = 0.0
        self._overlapping = False
        self._together_since: float | None = None
        """Since when people on two or more cameras have been talking together (pauses bridged)."""
        self._together_last = -math.inf
        self._overlapped_at = -math.inf
        """The last update at which there was an overlap."""
        self._released: str | None = None
        self._floor_since = 0.0
        self._floor_expected = ""
        self._floor_priority = False
        """The floor's speaker is a priority role who spoke up over the one before."""
        """Why the floor's speaker was expected ("" when they were not)."""
        self._armed: dict[str, float] = {}
        self._armed_until = -math.inf
        self._armed_reason = ""
        self._floor_changes: deque[float] = deque()
        self._relief_until = -math.inf
        self._camera: str | None = None
        self._shot_start = 0.0
        self._mode = Mode.AUTO
        self._lock_until = math.inf
        self._mode_before_lock = Mode.AUTO

    # -- set-up and state ----------------------------------------------------------------------------

    def add_speaker(self, speaker: Speaker) -> None:
        """Add a speaker (e.g. a remote party joining) with the camera that shows them."""
        self.speakers[speaker.key] = speaker
        self.cameras.add(speaker.camera)

    @property
    def camera(self) -> str | None:
        """The camera on air (None before the first update)."""
        return self._camera

    @property
    def mode(self) -> Mode:
        return self._mode

    def on_air_since(self) -> float:
        return self._shot_start

    def floor(self) -> Speaker | None:
        """The speaker holding the floor at the last update (for the caption): nobody once they have
        been silent for ``release_seconds``."""
        return self.speakers[self._floor] if self._floor is not None else None

    def talking(self) -> list[Speaker]:
        """Everyone talking at the last update, longest-talking first."""
        return [self.speakers[k] for k in sorted(self._spurt_start, key=self._spurt_start.__getitem__)]

    def available(self, camera: str) -> bool:
        return self._available.get(camera, True)

    def set_available(self, camera: str, ok: bool) -> None:
        """Mark a camera as delivering (or not); a dead main picture is left at the next update."""
        self._check_camera(camera)
        self._available[camera] = ok

    # -- anticipation --------------------------------------------------------------------------------

    def expect(self, t: float, keys: Collection[str], reason: str, *, since: float | None = None) -> None:
        """Arm the speakers ``keys`` as the ones expected to speak next (replacing what was armed):
        a turn of theirs begun after ``since`` (default ``t``; e.g. the end of the question) takes the
        camera after ``expected_onset_seconds``, for ``expect_seconds``. Cuts nothing by itself."""
        unknown = [k for k in keys if k not in self.speakers]
        if unknown:
            raise DirectorError(f"unknown speaker(s): {', '.join(sorted(unknown))}")
        start = t if since is None else min(since, t)
        self._armed = dict.fromkeys(keys, start)
        self._armed_until = start + self.config.expect_seconds
        self._armed_reason = reason

    def expected(self) -> frozenset[str]:
        """The speakers armed at the last update."""
        if self._last_t > self._armed_until + EPSILON:
            return frozenset()
        return frozenset(self._armed)

    def _attack(self, key: str) -> float:
        """The onset ``key``'s current turn needs: short when they were armed before it began."""
        since = self._armed.get(key)
        if (
            since is not None
            and self._last_t <= self._armed_until + EPSILON
            and self._spurt_start[key] >= since - CUE_LEAD - EPSILON
        ):
            return self.config.expected_onset_seconds
        return self.config.onset_seconds

    # -- the clerk -----------------------------------------------------------------------------------

    def lock(self, t: float, camera: str, seconds: float, reason: str = "") -> list[DirectorEvent]:
        """Hold ``camera`` for ``seconds``; automatic switching (or manual mode) resumes after."""
        self._check_camera(camera)
        if not seconds > 0:
            raise DirectorError(f"a lock needs a positive duration, got {seconds}")
        if self._mode is not Mode.LOCKED:
            self._mode_before_lock = self._mode
        self._mode = Mode.LOCKED
        self._lock_until = t + seconds
        why = reason or f"书记员锁定 {camera} {seconds:g} 秒 (clerk lock)"
        events: list[DirectorEvent] = [ModeChange(t, Mode.LOCKED, why, camera, self._lock_until)]
        events += self._cut_to(t, _Want(camera, Rule.LOCK, why))
        return events

    def manual(self, t: float, reason: str = "", camera: str | None = None) -> list[DirectorEvent]:
        """Turn automatic switching off (e.g. for a phase); the picture stays, or goes to ``camera``."""
        if camera is not None:
            self._check_camera(camera)
        self._mode = Mode.MANUAL
        self._lock_until = math.inf
        why = reason or "书记员关闭自动切换 (automatic switching off)"
        events: list[DirectorEvent] = [ModeChange(t, Mode.MANUAL, why, camera)]
        if camera is not None:
            events += self._cut_to(t, _Want(camera, Rule.CLERK, why))
        return events

    def select(self, t: float, camera: str, reason: str = "") -> list[DirectorEvent]:
        """The clerk's cut while automatic switching is off."""
        self._check_camera(camera)
        if self._mode is not Mode.MANUAL:
            raise DirectorError("turn automatic switching off (or lock a camera) before choosing cameras")
        return self._cut_to(t, _Want(camera, Rule.CLERK, reason or f"书记员切换 {camera} (clerk's cut)"))

    def resume(self, t: float, reason: str = "") -> list[DirectorEvent]:
        """Automatic switching on again; the next update may cut at once."""
        if self._mode is Mode.AUTO:
            return []
        self._mode = Mode.AUTO
        self._lock_until = math.inf
        return [ModeChange(t, Mode.AUTO, reason or "恢复自动切换 (automatic switching resumed)")]

    # -- the rules -----------------------------------------------------------------------------------

    def update(self, t: float, active: Collection[str]) -> list[DirectorEvent]:
        """Tell the director who is talking at hearing-clock ``t``; returns the events to act on.

        ``active`` may also say since when each speaker has been talking: a mapping of speaker to
        hearing-clock seconds, or the activity monitor's answer (:class:`TimedSpeech`). A turn then
        counts from when the detector heard the voice begin, not from the tick that first reported it
        (up to a chunk and a tick later), so a speaker's camera is taken after they have really
        talked ``onset_seconds``. Without it, a turn counts from the tick."""
        unknown = [k for k in active if k not in self.speakers]
        if unknown:
            raise DirectorError(f"unknown speaker(s): {', '.join(sorted(unknown))}")
        t = max(t, self._last_t)
        self._last_t = t
        events: list[DirectorEvent] = []
        if self._mode is Mode.LOCKED and t >= self._lock_until:
            self._mode = self._mode_before_lock
            self._lock_until = math.inf
            events.append(ModeChange(t, self._mode, "锁定到期 (lock expired)"))
        voiced: Mapping[str, float] = {}
        if isinstance(active, Mapping):
            since: Mapping[str, float] = active
        elif isinstance(active, TimedSpeech):
            since = active.since
            voiced = getattr(active, "voiced", {})
        else:
            since = {}
        self._follow_speech(t, active, since, voiced)
        if self._camera is None:
            start = _Want(self._idle_camera(), Rule.START, "开始导播 (director started)")
            return events + self._cut_to(t, self._usable(start))
        want = self._choose(t)
        dead = not self.available(self._camera)
        if want is None or want.camera == self._camera:
            if dead and self._mode is Mode.AUTO:
                why = f"{self._camera} 无画面 (camera delivers no frames)"
                events += self._cut_to(t, self._usable(_Want(self._camera, Rule.FAULT, why)))
            return events
        if dead or t - self._shot_start >= self.config.min_hold_seconds - EPSILON:
            events += self._cut_to(t, want)
        return events

    def _follow_speech(
        self, t: float, active: Collection[str], since: Mapping[str, float], voiced: Mapping[str, float]
    ) -> None:
        c = self.config
        for key in active:
            # Until when the voice itself was heard (the detector's hangover after it is no voice).
            self._voiced[key] = min(t, voiced.get(key, t))
            last = self._last_active.get(key)
            if key not in self._spurt_start or last is None or t - last > c.bridge_seconds + EPSILON:
                # A new turn: from when the voice began, if the detector says (never in the future,
                # nor before this speaker was last heard).
                began = since.get(key, t)
                start = min(t, began) if math.isfinite(began) else t
                self._spurt_start[key] = max(start, last) if last is not None else start
            self._last_active[key] = t
        for key in list(self._spurt_start):
            if t - self._last_active[key] > c.bridge_seconds + EPSILON:
                del self._spurt_start[key]
        talking = self._spurt_start
        if self._floor is not None and t - self._last_active[self._floor] >= c.release_seconds - EPSILON:
            # Released: coming back takes a full onset, like anybody else (a cough does not recall them).
            self._released, self._floor = self._floor, None
        # Two or more on different cameras: an overlap once they have talked together long enough,
        # and it lasts until fewer than two are talking (a short pause of one of them, which restarts
        # their turn, does not end it and cut back and forth).
        heard: dict[str, float] = {}
        cameras = {self.speakers[k].camera for k in talking}
        for k in talking:
            if self._last_active[k] - talking[k] < BLIP_SECONDS:
                continue  # a blip (a leak's echo, a click) is not a voice to count together
            camera = self.speakers[k].camera
            heard[camera] = max(heard.get(camera, -math.inf), self._last_active[k])
        if len(cameras) < 2:
            self._overlapping = False
        elif len(heard) >= 2:
            if self._together_since is None or t - self._together_last > c.bridge_seconds + EPSILON:
                # Together from when the one who joined began (the latest turn's start).
                self._together_since = max(talking.values())
            self._together_last = t
            # Counted while both were heard: a pause of one of them within the bridge does not start
            # the count again, and the bridged silence after an interjection does not lengthen it.
            both = sorted(heard.values())[-2] - self._together_since
            if both > c.overlap_seconds + EPSILON:
                self._overlapping = True
        if self._overlapping:
            self._overlapped_at = t
        new_floor: str | None = None
        if self._floor not in talking:
            # The floor's speaker has paused (or been released). Who began talking over them has not
            # yet talked as the speaker: their onset counts from the floor's last word, so neither a
            # short interjection in the speaker's breath between sentences nor the end of an overlap in
            # which the speaker's voice dropped for a moment hands them the picture (a priority role's
            # counts from their own first word, when the speaker yielded before it became an overlap).
            # Talked long enough: counted up to when they were last heard, so the bridged silence after
            # a cough or a "嗯" does not make it a turn.
            quiet = -math.inf
            if self._floor is not None:
                quiet = self._last_active[self._floor]
            candidates = []
            for k, start in talking.items():
                spoke_up = self.speakers[k].role in c.priority_roles and self._overlapped_at < start
                begun = start if spoke_up else max(start, quiet)
                attack = self._attack(k)
                # The short onset counts voice only: a cough's burst and hangover must not pass it.
                until = self._last_active[k] if attack >= c.onset_seconds else self._voiced[k]
                if k != self._floor and self._heard_now(t, k) and until - begun >= attack - EPSILON:
                    candidates.append(k)
            if candidates:
                new_floor = self._pick(candidates)
                start = talking[new_floor]
                spoke_up = self.speakers[new_floor].role in c.priority_roles and self._overlapped_at < start
                self._floor_priority = spoke_up and start < quiet
        if new_floor is not None:
            camera = self.speakers[new_floor].camera
            if self._floor_camera is not None and camera != self._floor_camera and self._too_fast(t):
                self._floor_changes.append(t)
            expected = self._attack(new_floor) < c.onset_seconds
            self._floor_expected = self._armed_reason if expected else ""
            if new_floor in self._armed:
                del self._armed[new_floor]
            else:
                self._armed.clear()  # the hearing went elsewhere: the cues will say what comes next
            self._floor, self._floor_camera, self._released = new_floor, camera, None
            self._floor_since = t
            self._floor_spoke_since = talking[new_floor]
        while self._floor_changes and t - self._floor_changes[0] > c.exchange_window_seconds + EPSILON:
            self._floor_changes.popleft()
        # Holding the floor counts from the start of the turn that took it, across the short pauses
        # in which nobody else takes it (a turn's own pauses do not make the exchange go on).
        if self._floor in talking and t - self._floor_spoke_since >= c.exchange_settle_seconds - EPSILON:
            self._floor_changes.clear()

    def _heard_now(self, t: float, key: str) -> bool:
        """Whether ``key``'s voice was heard just now: one that has already stopped (the detector's
        hangover, or the bridge after it) is not worth a cut that would show silence."""
        return key in self._spurt_start and self._voiced[key] >= t - 2 * self.config.tick_seconds - EPSILON

    def _too_fast(self, t: float) -> bool:
        """Whether the turn now being left was too short to follow: shorter than
        ``exchange_turn_seconds`` of voice, or left before its shot could be held."""
        c = self.config
        left = self._floor if self._floor is not None else self._released
        if left is None:
            return False
        spoke = self._last_active.get(left, t) - self._floor_spoke_since
        return (
            spoke < c.exchange_turn_seconds - EPSILON or t - self._floor_since < c.min_hold_seconds - EPSILON
        )

    def _pick(self, keys: list[str]) -> str:
        roles = self.config.priority_roles
        return min(keys, key=lambda k: (self.speakers[k].role not in roles, self._spurt_start[k], k))

    def _choose(self, t: float) -> _Want | None:
        """The shot the rules want now (None: keep whatever is on air)."""
        if self._mode is Mode.LOCKED or self._mode is Mode.MANUAL:
            return None
        c = self.config
        talking = self._spurt_start
        floor = self.speakers[self._floor] if self._floor is not None else None
        if self._overlapping:
            names = "、".join(self.speakers[k].label for k in sorted(talking, key=talking.__getitem__))
            why = f"{names}同时发言 (two or more talking over {c.overlap_seconds:g} s)"
            return self._usable(_Want(self.wide_camera, Rule.OVERLAP, why))
        if len(self._floor_changes) >= c.exchange_turns:
            why = (
                f"快速交替发言 (rapid back-and-forth: {len(self._floor_changes)} changes of speaker "
                f"within {c.exchange_window_seconds:g} s)"
            )
            return self._usable(_Want(self.wide_camera, Rule.EXCHANGE, why))
        if floor is not None and (self._heard_now(t, floor.key) or self._camera == floor.camera):
            return self._closeup(t, self._speaker_shot(floor))
        if floor is not None and self._camera != self.wide_camera:
            return None  # the speaker paused while another shot is up: no cut to silence
        if talking:
            return None  # somebody is starting to talk: wait for them rather than cut twice
        last_voice = max(self._last_active.values(), default=-math.inf)
        if t - last_voice > c.idle_seconds + EPSILON:
            why = f"全场静默超过 {c.idle_seconds:g} 秒 (all silent)"
            return self._usable(_Want(self._idle_camera(), Rule.IDLE, why))
        if self._camera not in (self.wide_camera, self._idle_camera()):
            who = self.speakers[self._released].label if self._released is not None else "发言人"
            why = f"{who}停止发言 {c.release_seconds:g} 秒 (speaker silent)"
            return self._usable(_Want(self.wide_camera, Rule.RELEASED, why))
        return None

    def _speaker_shot(self, floor: Speaker) -> _Want:
        if self._floor_priority:
            why = f"{floor.label}发言优先 (priority role took the floor from the speaker it talked over)"
            return _Want(floor.camera, Rule.PRIORITY, why, floor.key)
        if self._floor_expected:
            why = f"{floor.label}发言，预期 (expected speaker: {self._floor_expected})"
            return _Want(floor.camera, Rule.SPEAKER, why, floor.key, expected=True)
        return _Want(floor.camera, Rule.SPEAKER, f"{floor.label}发言 (speaker)", floor.key)

    def _closeup(self, t: float, want: _Want) -> _Want | None:
        """``want`` unless the speaker's close-up has been on air too long: then the wide view for a
        while (None while that relief shot runs)."""
        c = self.config
        if t < self._relief_until:
            return None
        on_closeup = self._camera == want.camera and want.camera != self.wide_camera
        # A close-up's length counts from when it showed this speaker (not from an idle shot before).
        if on_closeup and t - max(self._shot_start, self._floor_since) >= c.max_closeup_seconds - EPSILON:
            self._relief_until = t + c.relief_seconds
            why = f"特写超过 {c.max_closeup_seconds:g} 秒 (close-up held too long)"
            return self._usable(_Want(self.wide_camera, Rule.LONG_CLOSEUP, why))
        return self._usable(want)

    def _idle_camera(self) -> str:
        return self.bench_camera if self.config.idle_view == "bench" else self.wide_camera

    def _usable(self, want: _Want) -> _Want:
        """``want``, or the nearest working camera when its own delivers no frames."""
        if self.available(want.camera):
            return want
        for fallback in (self.wide_camera, self.bench_camera, *sorted(self.cameras)):
            if self.available(fallback):
                return _Want(
                    fallback,
                    want.rule,
                    f"{want.reason}; {want.camera} 无画面，改用 {fallback} (camera down, fallback)",
                    want.speaker,
                    want.expected,
                )
        return want

    def _cut_to(self, t: float, want: _Want) -> list[DirectorEvent]:
        if want.camera == self._camera:
            return []
        held = t - self._shot_start if self._camera is not None else 0.0
        cut = Cut(
            t, want.camera, self._camera, want.rule, want.reason, want.speaker, round(held, 3), want.expected
        )
        self._camera = want.camera
        self._shot_start = t
        if want.rule is not Rule.LONG_CLOSEUP:
            self._relief_until = -math.inf
        return [cut]

    def _check_camera(self, camera: str) -> None:
        if camera not in self.cameras:
            raise DirectorError(f"unknown camera {camera!r} (known: {', '.join(sorted(self.cameras))})")
