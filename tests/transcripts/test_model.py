"""The packaged Whisper model: assembled once from two wheels into the cache, checked by hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcripts.model import (
    PACKAGED_MODEL_SHA256,
    ModelError,
    ModelSpec,
    assemble_packaged_model,
    resolve_model_dir,
    sha256_of,
)


def test_assembled_once_and_checked(tmp_path: Path) -> None:
    folder = assemble_packaged_model(tmp_path)
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        assert (folder / name).is_file()
    assert sha256_of(folder / "model.bin") == PACKAGED_MODEL_SHA256
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert assemble_packaged_model(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime, "a good copy is not rebuilt"


def test_a_damaged_copy_is_rebuilt(tmp_path: Path) -> None:
    folder = assemble_packaged_model(tmp_path)
    with (folder / "model.bin").open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    assert sha256_of(folder / "model.bin") != PACKAGED_MODEL_SHA256
    assemble_packaged_model(tmp_path)
    assert sha256_of(folder / "model.bin") == PACKAGED_MODEL_SHA256


def test_parts_that_do_not_join_to_the_known_hash_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"SHA-256"):
        assemble_packaged_model(tmp_path, expected_sha256="0" * 64)
    assert not (tmp_path / "whisper-base-ct2").exists()
    assert not list(tmp_path.glob(".whisper-base-ct2.*")), "no half-written folder is left"


def test_a_configured_model_path_must_be_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a folder"):
        resolve_model_dir(ModelSpec(path=Path("base")), tmp_path)
    with pytest.raises(ModelError, match=r"lacks model\.bin"):
        resolve_model_dir(ModelSpec(path=tmp_path), tmp_path)
    with pytest.raises(ValueError):
        ModelSpec(device="tpu")
