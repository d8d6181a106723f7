#!/usr/bin/env bash
# Creates .venv in the repository (once) and installs the workbench with its test tools into it, and Debian's
# chromium (with apt-get, as root or through sudo) for the browser panel's end-to-end test.
# A machine without an NVIDIA GPU gets PyTorch's CPU build (torch==2.13.0), never the multi-GB CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
PY=.venv/bin/python
if ! "$PY" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then "$PY" -m pip install -q torch; else "$PY" -m pip install -q torch==2.13.0; fi
fi
"$PY" -m pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
"$PY" -c "import isaac.rl.workbench, newton, rsl_rl, viser" || { echo "setup failed: the workbench does not import" >&2; exit 1; }
# URDF and MJCF import: Newton's urdf-usd-converter and mujoco-usd-converter bring usd-exchange, whose own OpenUSD
# crashes beside usd-core in one environment (and mujoco-usd-converter wants mujoco<3.17, older than Newton's), so
# they live in a venv of their own (.venv-convert) that `import` runs as a subprocess; it also holds
# example-robot-data, the URDFs (with meshes) of the robots the tests and examples import
if ! .venv-convert/bin/python -c "import urdf_usd_converter, mujoco_usd_converter" 2>/dev/null; then
  python3 -m venv .venv-convert
  .venv-convert/bin/python -m pip install -q "urdf-usd-converter==0.3.4" "mujoco-usd-converter==0.8.0" \
    "example-robot-data==6.0.0" 2>&1 | grep -v "^WARNING: Location" || true
fi
"$PY" scripts/make_assets.py --robots  # Go2, Panda, SO-101 -> assets/usd/robots (kept when there) for their tasks
# the browser panel's end-to-end test drives Debian's chromium through Playwright
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; } \
    || echo "setup: could not install chromium; the browser panel test needs /usr/bin/chromium" >&2
fi
