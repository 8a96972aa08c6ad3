"""``court transcribe`` and ``court eval-asr`` on WAV files: the CLI contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from devices.tts import MandarinSynthesizer, voice_for_role
from tests.court.helpers import write_test_config
from transcripts.text import cer, to_simplified

LINE = "请求裁决被申请人示范科技有限公司支付加班费三万六千元。"


def court(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COURT_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "court.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    speech = MandarinSynthesizer(cache_dir=model_cache / "tts").synthesize_cached(
        LINE, voice_for_role("applicant_agent")
    )
    wav = folder / "corpus" / "line1.wav"
    wav.parent.mkdir()
    sf.write(wav, speech.samples, speech.sample_rate)
    (folder / "corpus" / "line1.txt").write_text(LINE + "\n", encoding="utf-8")
    vocab = folder / "vocab.txt"
    vocab.write_text("示范科技有限公司\n加班费\n", encoding="utf-8")
    bad = folder / "not-audio.wav"
    bad.write_text("this is not a wav file", encoding="utf-8")
    return {"wav": wav, "vocab": vocab, "bad": bad, "config": write_test_config(folder, model_cache)}


def test_transcribe_prints_one_json_object_per_file(files: dict[str, Path]) -> None:
    result = court("--config", str(files["config"]), "transcribe", str(files["wav"]), str(files["wav"]),
                   "--vocab", str(files["vocab"]), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 2
    first = objects[0]
    assert first["file"] == str(files["wav"])
    assert to_simplified(first["text"]) == first["text"]
    edits, n = cer(LINE, first["text"])
    assert edits / n < 0.25, first["text"]
    assert first["segments"] and {"start", "end", "text"} <= first["segments"][0].keys()
    assert 0 <= first["segments"][0]["start"] < first["segments"][0]["end"] <= first["duration"] + 0.01
    assert "示范科技有限公司" in first["text"]


def test_a_bad_file_is_named_and_the_others_still_done(files: dict[str, Path]) -> None:
    result = court(
        "--config", str(files["config"]), "transcribe", str(files["bad"]), str(files["wav"]), "--plain"
    )
    assert result.returncode == 1
    assert str(files["bad"]) in result.stderr
    assert json.loads(result.stdout)["file"] == str(files["wav"]), "indented JSON without --json"
    missing = court(
        "--config", str(files["config"]), "transcribe", str(files["wav"]), "--vocab", "/nonexistent"
    )
    assert missing.returncode == 2 and "vocabulary file not found" in missing.stderr


def test_eval_asr_reports_cer_and_term_recall(files: dict[str, Path]) -> None:
    result = court("--config", str(files["config"]), "eval-asr", str(files["wav"].parent),
                   "--vocab", str(files["vocab"]), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["files"] == 1 and 0 <= report["cer"] < 0.25
    assert report["terms_in_references"] == 2 and report["term_recall"] == 1.0
    empty = court("eval-asr", str(files["vocab"].parent / "nowhere"))
    assert empty.returncode == 2
