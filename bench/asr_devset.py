"""The speech-recognition development set: scripted hearings synthesized once, decoded once.

Each hearing is a TOML file (``bench/data/asr_dev/*.toml``, plus the bench hearing and the demo's
script): its case record (number, cause, participants with their company and voice) and its lines.
Synthesis (``devices.tts``) and decoding are cached on disk (``var/cache/asr-dev``), keyed by the
audio and the decoder settings: every knob after decoding (term correction, same-sound swaps,
rescoring weight, numbers, confidence marks) is then tuned by re-scoring cached n-best lists with
word probabilities, never by decoding again.

    python bench/asr_devset.py [--cache DIR] [--hearings a,b]   # fill the cache (nice it)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from court.core.roles import Role  # noqa: E402
from devices.resample import resample  # noqa: E402
from devices.tts import MandarinSynthesizer, Voice, voice_for_role  # noqa: E402
from transcripts.decoder import Decoded, DecodeOptions, Hypothesis, WhisperDecoder, Word  # noqa: E402
from transcripts.text import to_simplified  # noqa: E402
from transcripts.vocabulary import CaseVocabulary  # noqa: E402

RATE = 16000
DEV_DIR = ROOT / "bench" / "data" / "asr_dev"
BENCH_HEARING = ROOT / "bench" / "data" / "asr_hearing.toml"
DEMO_HEARING = ROOT / "court" / "demo" / "data" / "demo_hearing.toml"
DEV_OPTIONS = DecodeOptions(beam_size=5, num_hypotheses=5, word_confidence=True)
"""What the cache holds: the 5-best list and the best hypothesis's character probabilities."""
CACHE_VERSION = 1


@dataclass(frozen=True)
class Line:
    role: str
    speaker: str
    text: str
    audio: np.ndarray


@dataclass(frozen=True)
class Hearing:
    name: str
    kind: str
    raw: dict[str, Any]
    lines: tuple[Line, ...]

    def vocabulary(self) -> CaseVocabulary:
        people = [(Role(p["role"]).label, p["name"]) for p in self.raw["participants"]]
        orgs = [
            p["organization"]
            for p in self.raw["participants"]
            if p.get("organization") and p["role"] in ("respondent", "respondent_agent")
        ]
        case = self.raw["case"]
        return CaseVocabulary.from_case(
            case_number=case["number"], cause=case.get("cause", ""), people=people, organizations=orgs
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The people and the company, as the case record spells them."""
        people = [p["name"] for p in self.raw["participants"]]
        orgs = [p["organization"] for p in self.raw["participants"] if p.get("organization")]
        return tuple(dict.fromkeys([*people, *orgs]))


def hearing_files() -> list[Path]:
    return [*sorted(DEV_DIR.glob("*.toml")), BENCH_HEARING, DEMO_HEARING]


def load_hearing(path: Path, tts: MandarinSynthesizer) -> Hearing:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    people = raw["participants"]
    by_seat = {p["seat"]: p for p in people if "seat" in p}
    lines = []
    leak = raw["case"].get("crosstalk_db")
    previous: np.ndarray | None = None
    for item in raw["lines"]:
        if "seat" in item:
            who = by_seat[item["seat"]]
        else:
            who = next(
                (p for p in people if p["name"] == item.get("speaker")),
                next((p for p in people if p["role"] == item["role"]), {"role": item["role"], "name": ""}),
            )
        role = who["role"]
        voice = Voice(**who["voice"]) if "voice" in who else voice_for_role(role)
        speech = tts.synthesize_cached(item["text"], voice)
        audio = resample(speech.samples, speech.sample_rate, RATE).astype(np.float32)
        if leak is not None and previous is not None and item.get("crosstalk", True):
            # The previous speaker still talking into the room: the tail of their line, heard on this
            # microphone ``crosstalk_db`` down, over the start of this one.
            tail = previous[-min(len(previous), len(audio) // 3, RATE * 2) :]
            audio = audio.copy()
            audio[: len(tail)] += tail * np.float32(10 ** (leak / 20))
        previous = audio
        lines.append(Line(role, who.get("name", ""), item["text"], audio))
    return Hearing(path.stem, raw["case"].get("kind", ""), raw, tuple(lines))


def load_hearings(cache: Path, only: Sequence[str] = ()) -> list[Hearing]:
    tts = MandarinSynthesizer(cache_dir=cache / "tts")
    return [load_hearing(p, tts) for p in hearing_files() if not only or p.stem in only]


# -- decode cache -------------------------------------------------------------------------------------


def _key(audio: np.ndarray, kind: str, extra: str) -> str:
    h = hashlib.sha256(np.ascontiguousarray(audio, np.float32).tobytes())
    h.update(json.dumps([CACHE_VERSION, kind, extra, asdict(DEV_OPTIONS)], ensure_ascii=False).encode())
    return h.hexdigest()


def _path(cache: Path, key: str) -> Path:
    return cache / "asr-dev" / key[:2] / f"{key}.json"


def _store(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _to_decoded(data: dict[str, Any]) -> Decoded:
    return Decoded(
        hypotheses=tuple(
            Hypothesis(h["text"], tuple(h["tokens"]), h["avg_logprob"], h["logprob"])
            for h in data["hypotheses"]
        ),
        chosen=0,
        no_speech_prob=data["no_speech_prob"],
        duration=data["duration"],
        words=tuple(Word(*w) for w in data["words"]),
    )


class DevCache:
    """Decoded lines on disk; decodes (and times) what is missing."""

    def __init__(self, cache: Path, whisper: Any | None = None) -> None:
        self.cache = cache
        self._whisper = whisper
        self._decoder: WhisperDecoder | None = None

    @property
    def whisper(self) -> Any:
        if self._whisper is None:
            from transcripts.model import ModelSpec, load_whisper

            self._whisper = load_whisper(ModelSpec(cpu_threads=2), self.cache / "asr")
        return self._whisper

    def has(self, audio: np.ndarray, prompt: str = "", hotwords: str = "") -> bool:
        return _path(self.cache, _key(audio, "n-best", f"{prompt}\x00{hotwords}")).is_file()

    def decoded(self, audio: np.ndarray, prompt: str = "", hotwords: str = "") -> tuple[Decoded, float]:
        """The 5-best decode of ``audio`` and the seconds it took (when it was decoded)."""
        path = _path(self.cache, _key(audio, "n-best", f"{prompt}\x00{hotwords}"))
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return _to_decoded(data), data["seconds"]
        if self._decoder is None:
            self._decoder = WhisperDecoder(self.whisper, DEV_OPTIONS)
        began = time.monotonic()
        d = self._decoder.decode(audio, prompt=prompt or None, hotwords=hotwords or None)
        seconds = time.monotonic() - began
        data = {
            "hypotheses": [
                {"text": h.text, "tokens": list(h.tokens), "avg_logprob": h.avg_logprob, "logprob": h.logprob}
                for h in d.hypotheses
            ],
            "no_speech_prob": d.no_speech_prob,
            "duration": d.duration,
            "words": [[w.text, w.start, w.end, w.probability] for w in d.words],
            "seconds": seconds,
        }
        _store(path, data)
        return d, seconds

    def stock(self, audio: np.ndarray, prompt: str = "") -> tuple[str, float]:
        """Stock faster-whisper (``transcribe``: beam 5, its VAD filter, OpenCC to Simplified) and the
        wall seconds it took."""
        path = _path(self.cache, _key(audio, "stock", prompt))
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return data["text"], data["seconds"]
        began = time.monotonic()
        segments, _ = self.whisper.transcribe(
            audio, language="zh", beam_size=5, vad_filter=True, initial_prompt=prompt or None
        )
        text = to_simplified("".join(s.text for s in segments).strip())
        seconds = time.monotonic() - began
        _store(path, {"text": text, "seconds": seconds})
        return text, seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fill the development set's decode cache")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "cache")
    parser.add_argument("--hearings", default="")
    parser.add_argument("--prompt", action="store_true", help="also decode with the case prompt")
    parser.add_argument("--hotwords", action="store_true", help="also decode with the case hot words")
    args = parser.parse_args(argv)
    only = [h for h in args.hearings.split(",") if h]
    cache = DevCache(args.cache)
    for hearing in load_hearings(args.cache, only):
        vocab = hearing.vocabulary()
        audio_s = sum(len(line.audio) for line in hearing.lines) / RATE
        print(f"{hearing.name}: {len(hearing.lines)} lines, {audio_s:.0f} s", flush=True)
        for line in hearing.lines:
            cache.decoded(line.audio)
            cache.stock(line.audio)
            if args.prompt:
                cache.decoded(line.audio, prompt=vocab.prompt())
            if args.hotwords:
                cache.decoded(line.audio, hotwords=vocab.hotwords())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
