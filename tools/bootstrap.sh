#!/usr/bin/env bash
# Sets up everything smartcart needs on a fresh Debian/Ubuntu machine: the system packages that are
# missing, a virtualenv in .venv and the package with its dev extras. Safe to run again: it only
# does what is not done yet.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runtime: zbar for barcodes; Xvfb, Mesa GL and the X/SDL libraries for Kivy windows on a virtual
# screen; socat for pty pairs in scale tests and demos; python venv support.
SYSTEM_PACKAGES=(libzbar0 xvfb xauth socat libgl1 libegl1 libgl1-mesa-dri libgles2 libmtdev1
  libglib2.0-0 libxrender1 libxext6 libx11-6 libsm6 libice6 python3-venv make)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing system packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "bootstrap: smartcart needs Python 3.11 or newer; $PY is $("$PY" --version 2>&1)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi

# Reinstall only when the project's dependency list changed since the last install.
stamp=.venv/.smartcart-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing smartcart into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
