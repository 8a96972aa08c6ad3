"""Diarization figures of a shared channel, each printed with its goal.

    python bench/bench_diarization.py [--only sample,librivox,mandarin,roles] [--cache DIR] [--old REV]

- sample: pyannote's own real 2-speaker recording (``sample.wav`` + ``sample.rttm`` in the
  pyannote.audio wheel).
- librivox: real read speech mixed into 2-, 3- and 4-speaker conversations: the LibriVox reading and
  the AN4 recording in the pocketsphinx source distribution (fetched once with pip into the cache;
  its LibriVox clips are all one reader) and the two speakers of pyannote's sample (cut where the RTTM
  has one of them alone), each cut at its pauses into pieces of 1.5-6 s.
- mandarin: synthesized Mandarin conversations (bench/data/asr_hearing.toml, one TTS voice per role)
  of 2, 3 and 4 speakers.
  Each set: DER with pyannote.metrics at collar 0 and 0.25 s, overlapped speech scored, over the whole
  recording; the pyannote pipeline (transcripts/diarization.py) against the hand-written one it
  replaced (numpy LSTM, hand mel filterbank, hand k-means; read from git at ``--old``), with their
  real-time factors. Goal: DER ≤ 15% at collar 0.25 s. The conversations take turns with gaps of
  -0.4 to 0.8 s: about one turn in five overlaps the previous one.
- roles: the demo's shared channel (the applicant and their agent on one phone or table microphone):
  each enrolled by one sentence read at the face check (or by their first words), then every other
  line of theirs split and matched by voiceprint; the share given to the right person (goal 100%) and
  the share left "未识别"; clean, and with the demo room's reverberation and noise.

Audio is synthesized (and downloads kept) under the cache folder, never in the repository.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tarfile
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devices.resample import resample  # noqa: E402
from devices.simulated.acoustics import RoomAcoustics, reverberate  # noqa: E402
from devices.tts import MandarinSynthesizer, voice_for_role  # noqa: E402
from devices.vad import SileroVad  # noqa: E402
from transcripts.diarization import (  # noqa: E402
    ChannelDiarization,
    SpeakerEncoder,
    Turn,
    VoiceprintSplitter,
    annotation_of,
    speech_regions,
)
from transcripts.vad import SpeechSegment  # noqa: E402

RATE = 16000
GOAL = 0.15
OLD_REVISION = "882cdb7"
"""The last commit with the hand-written diarizer (transcripts/diarization.py)."""
CORPUS = ROOT / "bench" / "data" / "asr_hearing.toml"
POCKETSPHINX = "pocketsphinx==5.1.1"


@dataclass
class Recording:
    name: str
    audio: np.ndarray
    reference: Any  # pyannote.core.Annotation
    speakers: int


# -- material ---------------------------------------------------------------------------------------------


def read_16k(path: Path) -> np.ndarray:
    data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    return resample(data if data.ndim == 1 else data.mean(axis=1), int(rate), RATE)


def pyannote_sample() -> Recording:
    from pyannote.core import Annotation, Segment

    spec = importlib.util.find_spec("pyannote.audio")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations))) / "sample"
    reference = Annotation(uri="sample")
    for row in (folder / "sample.rttm").read_text().splitlines():
        f = row.split()
        reference[Segment(float(f[3]), float(f[3]) + float(f[4]))] = f[7]
    return Recording("sample", read_16k(folder / "sample.wav"), reference, len(reference.labels()))


def conversation(name: str, voices: dict[str, list[np.ndarray]], turns: int, seed: int) -> Recording:
    """``turns`` pieces taken in turn from each voice's list (random order of speakers, never the same
    twice running), with gaps of -0.4 to 0.8 s (a negative gap overlaps the previous turn)."""
    from pyannote.core import Annotation, Segment

    rng = np.random.default_rng(seed)
    names = sorted(voices)
    used = dict.fromkeys(names, 0)
    placed: list[tuple[str, float, np.ndarray]] = []
    t, last = 0.5, ""
    for _ in range(turns):
        choices = [n for n in names if n != last and used[n] < len(voices[n])]
        if not choices:
            break
        who = choices[int(rng.integers(len(choices)))]
        piece = voices[who][used[who]]
        used[who] += 1
        placed.append((who, t, piece))
        t += len(piece) / RATE + float(rng.uniform(-0.4, 0.8))
        last = who
    end = max(start + len(p) / RATE for _, start, p in placed) + 0.5
    audio = np.zeros(round(end * RATE), np.float32)
    reference = Annotation(uri=name)
    for who, start, piece in placed:
        a = round(start * RATE)
        audio[a : a + len(piece)] += piece
        reference[Segment(start, start + len(piece) / RATE)] = who
    return Recording(name, audio, reference, len({w for w, _, _ in placed}))


def mandarin_voices(cache: Path) -> dict[str, list[np.ndarray]]:
    raw = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    tts = MandarinSynthesizer(cache_dir=cache / "tts")
    voices: dict[str, list[np.ndarray]] = {}
    for item in raw["lines"]:
        speech = tts.synthesize_cached(item["text"], voice_for_role(item["role"]))
        voices.setdefault(item["role"], []).append(resample(speech.samples, speech.sample_rate, RATE))
    return voices


def mandarin_set(cache: Path) -> list[Recording]:
    voices = mandarin_voices(cache)
    sets = [
        ["applicant", "applicant_agent"],
        ["presiding_arbitrator", "applicant", "respondent_agent"],
        ["presiding_arbitrator", "applicant", "applicant_agent", "respondent_agent"],
    ]
    return [
        conversation(f"mandarin-{len(s)}", {r: voices[r] for r in s}, 8 * len(s), seed=len(s)) for s in sets
    ]


def pocketsphinx_files(cache: Path) -> Path | str:
    """The pocketsphinx sdist's test recordings, fetched once with pip and unpacked into the cache; a
    reason string when they cannot be had."""
    folder = cache / "wheels"
    archives = sorted(folder.glob("pocketsphinx-*.tar.gz"))
    if not archives:
        folder.mkdir(parents=True, exist_ok=True)
        # Only pocketsphinx itself from source: its build tools (needed to read its metadata) as wheels.
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "pocketsphinx", "-q", "-d",
             str(folder), POCKETSPHINX],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        archives = sorted(folder.glob("pocketsphinx-*.tar.gz"))
        if not archives:
            return f"pip download {POCKETSPHINX} failed: {done.stderr.strip()[-200:]}"
    target = folder / archives[-1].name.removesuffix(".tar.gz")
    if not target.is_dir():
        with tarfile.open(archives[-1]) as tar:
            members = [m for m in tar.getmembers() if m.name.endswith(".wav")]
            tar.extractall(folder, members=members, filter="data")
    return target


def pieces_of(audio: np.ndarray, vad: SileroVad, longest: float = 6.0) -> list[np.ndarray]:
    """A reading cut at its pauses into pieces of speech 1.5-``longest`` s."""
    out: list[np.ndarray] = []
    for a, b in speech_regions(audio, vad):
        while b - a >= 1.5:
            c = min(b, a + longest)
            out.append(audio[round(a * RATE) : round(c * RATE)])
            a = c
    return out


def real_voices(cache: Path, vad: SileroVad) -> dict[str, list[np.ndarray]] | str:
    """Four real speakers whose identity is known: the LibriVox reader of *Sense and Sensibility* (five
    clips, 25 s) and the AN4 speaker of ``chan3.wav`` (21 s), both in the pocketsphinx sdist, and the
    two speakers of pyannote's sample, cut from it where the RTTM has one of them alone."""
    folder = pocketsphinx_files(cache)
    if isinstance(folder, str):
        return folder
    librivox = sorted(folder.glob("test/data/librivox/*.wav"))
    an4 = folder / "test" / "regression" / "chan3.wav"
    if not librivox or not an4.is_file():
        return f"the LibriVox clips or chan3.wav are missing from {folder.name}"
    voices = {
        "librivox": [p for f in librivox for p in pieces_of(read_16k(f), vad)],
        "an4": pieces_of(read_16k(an4), vad),
    }
    sample = pyannote_sample()
    overlap = sample.reference.get_overlap()
    for label in sample.reference.labels():
        alone = sample.reference.label_timeline(label).support().extrude(overlap)
        voices[f"sample-{label}"] = [
            sample.audio[round(s.start * RATE) : round(min(s.end, s.start + 6.0) * RATE)]
            for s in alone
            if s.duration >= 1.5
        ]
    return voices


def librivox_set(cache: Path, vad: SileroVad) -> list[Recording] | str:
    voices = real_voices(cache, vad)
    if isinstance(voices, str):
        return voices
    order = ["librivox", "an4", *sorted(k for k in voices if k.startswith("sample-"))]
    return [
        conversation(f"real-{n}", {r: voices[r] for r in order[:n]}, 6 * n, seed=n)
        for n in (2, 3, 4)
        if n <= len(order)
    ]


# -- the two pipelines ------------------------------------------------------------------------------------


def old_module(revision: str) -> ModuleType | str:
    """The hand-written diarizer as it was at ``revision`` (it is deleted from the tree)."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:transcripts/diarization.py"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return f"git show {revision} failed: {done.stderr.strip()}"
    path = Path(f"/tmp/old_diarization_{revision}.py")
    path.write_text(done.stdout, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_diarization", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_diarization"] = module
    spec.loader.exec_module(module)
    return module


Diarize = Callable[[np.ndarray, int], Any]


def runners(vad: SileroVad, revision: str) -> dict[str, Diarize]:
    new = ChannelDiarization(vad=vad)
    out: dict[str, Diarize] = {"pyannote pipeline": lambda audio, n: new(audio, speakers=n)}
    old = old_module(revision)
    if isinstance(old, str):
        print(f"  (the hand-written diarizer is not compared: {old})")
        return out
    encoder = old.SpeakerEncoder()

    def run_old(audio: np.ndarray, n: int) -> Any:
        turns = old.diarize(audio, speech_regions(audio, vad), encoder, speakers=n)
        return annotation_of([Turn(t.start, t.end, t.speaker) for t in turns])

    out[f"hand-written ({revision})"] = run_old
    return out


def score(name: str, recordings: Sequence[Recording], diarizers: dict[str, Diarize]) -> None:
    from pyannote.core import Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    total = sum(len(r.audio) for r in recordings) / RATE
    print(f"{name}: {len(recordings)} recording(s), {total:.0f} s, "
          f"{', '.join(f'{r.name} ({r.speakers} speakers)' for r in recordings)}")  # fmt: skip
    for label, run in diarizers.items():
        metrics = {c: DiarizationErrorRate(collar=c, skip_overlap=False) for c in (0.0, 0.25)}
        started = time.perf_counter()
        for r in recordings:
            hypothesis = run(r.audio, r.speakers)
            for metric in metrics.values():
                metric(r.reference, hypothesis, uem=Segment(0, len(r.audio) / RATE))
        rtf = (time.perf_counter() - started) / total
        der0, der25 = abs(metrics[0.0]), abs(metrics[0.25])
        verdict = "meets" if der25 <= GOAL else "misses"
        print(f"  {label:28s} DER {der0:6.1%} (collar 0)  {der25:6.1%} (collar 0.25 s, {verdict} the "
              f"goal ≤ {GOAL:.0%})  real-time factor {rtf:.3f}")  # fmt: skip


# -- roles on a shared channel -------------------------------------------------------------------------------


def in_the_room(audio: np.ndarray, seed: int) -> np.ndarray:
    """A line as the demo room's table microphone hears it (devices/simulated/acoustics.py): with the
    room's reverberation and -50 dBFS of noise."""
    room = RoomAcoustics()
    wet = reverberate(audio, RATE, room.rt60, room.reverb_db)
    noise = np.random.default_rng(seed).standard_normal(len(wet)).astype(np.float32)
    return wet + noise * np.float32(10 ** (room.noise_dbfs / 20))


def bench_roles(cache: Path, encoder: SpeakerEncoder) -> None:
    voices = mandarin_voices(cache)
    people = ["applicant", "applicant_agent"]
    for room in (False, True):
        heard = {p: [in_the_room(a, i) if room else a for i, a in enumerate(voices[p])] for p in people}
        lines = [(who, audio) for pair in zip(*(heard[p][1:] for p in people), strict=False) for who, audio in
                 zip(people, pair, strict=True)]  # fmt: skip
        for how in ("a sentence read at the face check", "first words"):
            splitter = VoiceprintSplitter(encoder, people)
            if how.startswith("a sentence"):
                for p in people:
                    splitter.enroll(p, heard[p][0])
            right = unknown = 0
            t = 0.0
            for who, audio in lines:
                parts = splitter.split(SpeechSegment("shared", t, t + len(audio) / RATE, audio))
                right += len(parts) == 1 and parts[0][1] == who
                unknown += any(s is None for _, s in parts)
                t += len(audio) / RATE + 0.5
            share = right / len(lines)
            where = "room acoustics" if room else "clean"
            print(f"  {where:14s} enrolled by {how:34s} {right}/{len(lines)} lines to the right person "
                  f"({share:.0%}, goal 100%), {unknown} 未识别")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", default="sample,librivox,mandarin,roles")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "cache")
    parser.add_argument("--old", default=OLD_REVISION, help="git revision of the hand-written diarizer")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    vad = SileroVad()
    started = time.perf_counter()
    diarizers = runners(vad, args.old)
    print(f"(pipelines loaded in {time.perf_counter() - started:.1f} s)")
    if "sample" in only:
        score("pyannote sample.wav (real speech)", [pyannote_sample()], diarizers)
    if "librivox" in only:
        librivox = librivox_set(args.cache, vad)
        if isinstance(librivox, str):
            print(f"LibriVox conversations: skipped ({librivox})")
        else:
            score(
                "real readings (LibriVox, AN4, pyannote sample) mixed into conversations", librivox, diarizers
            )
    if "mandarin" in only:
        score("synthesized Mandarin conversations (TTS voices)", mandarin_set(args.cache), diarizers)
    if "roles" in only:
        print("Roles on the demo's shared channel (applicant + applicant's agent, TTS voices)")
        bench_roles(args.cache, SpeakerEncoder())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
