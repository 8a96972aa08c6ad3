#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian/Ubuntu machine: system packages, a virtual
# environment in .venv with the project and its packaged models. Safe to run again (it skips what is
# already there). Used by `make demo` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# chromium: the browser the web tests drive (Playwright's own browser download is never used);
# npm: fetches hls.js, the public page's HLS player; nginx: the public stream's server; coturn: the
# TURN relay for remote parties (both started by scripts/services.sh, never as system services).
APT_PACKAGES=(fonts-wqy-microhei libportaudio2 chromium nginx coturn)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# npm may come with a Node.js from elsewhere (NodeSource): Debian's npm only when there is none.
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing system packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "warning: please install ${need_apt[*]} (a CJK font, PortAudio, Chromium, npm) with your package manager" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup.sh -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first, alone and pinned (pyproject.toml pins the same): on this project's machines pip takes
  # the CPU build that lies on disk (/opt/wheels, pip's find-links); anything unpinned would pull a
  # CUDA build of several GB. Elsewhere set PIP_EXTRA_INDEX_URL to PyTorch's CPU index first.
  .venv/bin/python -m pip install -q "$(grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')"
  .venv/bin/python -m pip install -q -e ".[dev]"
  # torchaudio (pulled by pyannote.audio) is published built for CUDA and a different torch: its
  # native extension cannot load beside the CPU torch, and `import torchaudio` fails while it is
  # there. pyannote.audio uses only torchaudio's pure-Python parts (mel features, resampling), which
  # work without it, so the extension is removed (torchaudio then imports without it).
  if ! .venv/bin/python -c 'import torchaudio' 2>/dev/null; then
    ta_lib=$(.venv/bin/python -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("torchaudio").origin).parent / "lib")')
    rm -f "$ta_lib"/*.so
    .venv/bin/python -c 'import torchaudio'
  fi
  # Packages imported for the data they carry (TTS model files, the statutes database, the speaker
  # encoder's weights) whose own declared dependencies (TensorFlow, an MCP server, torch, librosa) are
  # not needed: pyproject.toml lists them as the `no-deps` extra, installed here without dependencies.
  mapfile -t no_deps < <(.venv/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["no-deps"]))')
  .venv/bin/python -m pip install -q --no-deps "${no_deps[@]}"
  touch "$stamp"
fi
# The recognizer's models in the default cache (var/cache/asr): the joined Whisper model, checked by
# hash, and the legal-text model built from the statutes (seconds; skipped when already there).
.venv/bin/court prepare-asr >/dev/null
# Real face photos for the face check's demo, tests and benchmark, taken from PyPI packages (the
# face-recognition sdist's test images, scikit-image's astronaut, …) into var/cache/faces; skipped
# when already there.
.venv/bin/python -m court.demo.face_material var/cache/faces >/dev/null
# The real Mandarin clip the recognizer tests and benchmark use (from the f5-tts wheel on PyPI) into
# var/cache/speech, so no test downloads anything; skipped when already there.
.venv/bin/python -m transcripts.speech_material var/cache/speech >/dev/null
# hls.js for the public livestream page (from the npm registry into web/static/vendor, git-ignored).
bash scripts/fetch_hlsjs.sh >/dev/null
