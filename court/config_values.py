"""Reading values out of a parsed TOML config: each check raises :class:`ConfigError` naming the key
(``room.seats[2].camera``) and what is wrong with it, so a clerk's typo is one clear line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(Exception):
    def __init__(self, key: str, problem: str, source: Path | None = None) -> None:
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {problem}")
        self.key = key
        self.problem = problem


MISSING: Any = object()


def leaf(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def get(raw: Mapping[str, Any], key: str, kind: type[T], default: T = MISSING) -> T:
    value = raw.get(leaf(key), MISSING)
    if value is MISSING:
        if default is MISSING:
            raise ConfigError(key, "is required")
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(key, f"must be a {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def source(raw: Mapping[str, Any], key: str, default: str | int = MISSING) -> str | int:
    value = raw.get(leaf(key), default)
    if value is MISSING:
        raise ConfigError(key, "is required")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(key, f'must be "sim", a device index or a URL/name, got {value!r}')
    if isinstance(value, str) and not value.strip():
        raise ConfigError(key, "is empty")
    return value


def positive(raw: Mapping[str, Any], key: str, default: float | None) -> float:
    value = raw.get(leaf(key), MISSING)
    if value is MISSING:
        if default is None:
            raise ConfigError(key, "is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(key, f"must be a positive number, got {value!r}")
    return float(value)


def table(
    raw: Mapping[str, Any], key: str, *, required: bool = True, name: str | None = None
) -> Mapping[str, Any]:
    value = raw.get(name or leaf(key), MISSING)
    if value is MISSING:
        if required:
            raise ConfigError(key, "is required")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(key, f"must be a table, got {type(value).__name__}")
    return value


def table_list(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = raw.get(leaf(key), [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(key, "must be an array of tables ([[...]])")
    return value


def only(raw: Mapping[str, Any], key: str, allowed: set[str]) -> None:
    for name in raw:
        if name not in allowed:
            full = f"{key}.{name}" if key else name
            raise ConfigError(full, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def resolve_path(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()
