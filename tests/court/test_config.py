from __future__ import annotations

from pathlib import Path

import pytest

from court.config import DEFAULT_CONFIG, ConfigError, load_config
from court.core.roles import Role


def _with(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "room.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_default_config_is_the_simulated_room() -> None:
    config = load_config()
    assert [c.view for c in config.room.cameras] == ["bench", "applicant", "respondent", "wide"]
    assert all(c.simulated for c in config.room.cameras)
    assert config.room.seats_for(Role.PRESIDING_ARBITRATOR)[0].microphone.channel == 1
    assert config.storage_url.startswith("sqlite:///")
    assert "庭审纪律" in config.rules.text


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('camera = "cam-wide"', 'camera = "cam-x"', "room.seats[8].camera", "unknown camera 'cam-x'"),
        ('role = "witness"', 'role = "judge"', "room.seats[8].role", "unknown role 'judge'"),
        ("channel = 9", "channel = 8", "room.seats[8].microphone", "already another seat's microphone"),
        ('view = "wide"', 'view = "ceiling"', "room.cameras[3].view", "unknown view"),
        ("fps = 10", "fps = -1", "room.cameras[0].fps", "positive number"),
        ("segment_seconds = 4.0", 'segment_seconds = "4"', "recording.segment_seconds", "positive number"),
        ("[storage]", "[storage]\nurl_typo = 1", "storage.url_typo", "unknown key"),
        ("min_frames = 3", "min_frames = 0", "face.min_frames", "positive number"),
        ("liveness = false", "liveness = 1", "face.liveness", "true or false"),
        ('clustering = "kmeans"', 'clustering = "guess"', "diarization.clustering", "kmeans"),
        ("min_similarity = 0.75", "min_similarity = 1.5", "diarization.min_similarity", "between -1 and 1"),
    ],
)
def test_wrong_config_names_key_and_problem(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_with(tmp_path, old, new))
    assert info.value.key == key
    assert problem in str(info.value)
    assert str(tmp_path / "room.toml") in str(info.value)


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    config = load_config(_with(tmp_path, 'root = "var/recordings"', 'root = "store/rec"'))
    assert config.recording.root == tmp_path / "store" / "rec"
    assert config.storage_url == f"sqlite:///{tmp_path / 'var' / 'court.db'}"


def test_a_pretrained_diarization_pipeline_folder_follows_the_config_file(tmp_path: Path) -> None:
    assert load_config().diarization.pipeline is None
    config = load_config(_with(tmp_path, 'pipeline = ""', 'pipeline = "models/diarization"'))
    assert config.diarization.pipeline == tmp_path / "models" / "diarization"


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "bad.toml"
    broken.write_text("[room\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_the_institute_chooses_how_numbers_are_written(tmp_path: Path) -> None:
    assert load_config().transcription.number_style == "standard"
    old = 'number_style = "standard"'
    assert load_config(_with(tmp_path, old, 'number_style = "digits"')).transcription.number_style == "digits"
    with pytest.raises(ConfigError, match="number_style"):
        load_config(_with(tmp_path, old, 'number_style = "roman"'))
