"""The tribunal discipline (庭审纪律) as sound: a recorded announcement when the config names one,
else Mandarin synthesized from the configured text with the packaged TTS, cached on disk so the
one-click start plays it at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from court.config import Config
from devices.media import Samples
from devices.tts import PRESET_VOICES, MandarinSynthesizer, SynthesisError


class AnnouncementError(Exception):
    pass


@dataclass(frozen=True, eq=False)
class AnnouncementAudio:
    samples: Samples
    sample_rate: int
    origin: str
    """``tts`` or the path of the recorded file."""

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


class Announcement:
    def __init__(
        self,
        title: str,
        text: str,
        *,
        synthesizer: MandarinSynthesizer | None = None,
        recorded: Path | None = None,
    ) -> None:
        if synthesizer is None and recorded is None:
            raise AnnouncementError("an announcement needs a synthesizer or a recorded file")
        self.title = title
        self.text = text
        self._synthesizer = synthesizer
        self._recorded = recorded

    @classmethod
    def from_config(cls, config: Config, synthesizer: MandarinSynthesizer | None) -> Announcement:
        return cls(
            config.rules.title, config.rules.text, synthesizer=synthesizer, recorded=config.rules.audio
        )

    def audio(self) -> AnnouncementAudio:
        if self._recorded is not None:
            try:
                data, rate = soundfile.read(str(self._recorded), dtype="float32", always_2d=True)
            except (OSError, RuntimeError) as exc:
                raise AnnouncementError(
                    f"cannot read the recorded announcement {self._recorded}: {exc}"
                ) from exc
            return AnnouncementAudio(np.ascontiguousarray(data.mean(axis=1)), int(rate), str(self._recorded))
        assert self._synthesizer is not None
        try:
            speech = self._synthesizer.synthesize_cached(self.text, PRESET_VOICES["announcer"])
        except SynthesisError as exc:
            raise AnnouncementError(f"cannot synthesize the tribunal discipline: {exc}") from exc
        return AnnouncementAudio(speech.samples, speech.sample_rate, "tts")

    def warm(self) -> float:
        """Make sure the audio is ready (synthesized and cached); return its duration."""
        return self.audio().duration
