"""pyannote.audio imported the way this project runs it: offline, telemetry off, audio handed over as
waveforms.

pyannote.audio 4 reports usage to its makers unless ``PYANNOTE_METRICS_ENABLED`` is off, and looks
models up on a hub unless ``HF_HUB_OFFLINE`` is set: a courtroom sends neither, so both are set before
its first import. Its audio reader, torchcodec, is published only as a CUDA build that cannot load
beside the CPU torch this project pins; pyannote warns about it on import and works on in-memory
waveforms (``{"waveform", "sample_rate"}``), which is all this project gives it.
"""

from __future__ import annotations

import os
import warnings
from functools import cache


class DiarizationError(Exception):
    """Diarization cannot run: pyannote.audio, the speaker encoder or the configured pipeline is missing."""


class PyannoteMissing(DiarizationError):
    """pyannote.audio (or torch) is not installed or does not import."""


@cache
def load_pyannote() -> None:
    """Import pyannote.audio once, offline and without telemetry; :class:`PyannoteMissing` if it
    cannot be imported."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    os.environ["HF_HUB_OFFLINE"] = "1"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*torchcodec is not installed correctly")
        try:
            import pyannote.audio  # noqa: F401
        except (ImportError, OSError) as exc:
            raise PyannoteMissing(
                "说话人分离需要 pyannote.audio (diarization needs pyannote.audio and the pinned CPU "
                f"torch: run scripts/setup.sh): {exc}"
            ) from exc
