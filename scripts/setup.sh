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
"$PY" scripts/make_assets.py --robots --gym  # Go2, Panda, SO-101 -> assets/usd/robots; gymnasium's XMLs -> assets/usd/gym (kept when there)
# the browser panel's end-to-end test drives Debian's chromium through Playwright
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; } \
    || echo "setup: could not install chromium; the browser panel test needs /usr/bin/chromium" >&2
fi
# the Unitree Go2 over DDS (the 'go2' extra): Debian's Cyclone DDS 0.10, then the cyclonedds binding built against it
# (its build looks for $CYCLONEDDS_HOME/{lib/libddsc.so,include,bin}: a folder of links into Debian's folders, kept in
# .venv because the binding remembers it) and unitree_sdk2py; the Go2 DDS tests skip without them (fail under CI)
if ! "$PY" -c "import cyclonedds.domain, unitree_sdk2py.core.channel" 2>/dev/null; then
  if [ ! -e /usr/include/dds/dds.h ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q cyclonedds-dev >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q cyclonedds-dev >/dev/null; } \
      || echo "setup: could not install cyclonedds-dev; the Go2 DDS link needs it" >&2
  fi
  DDS_LIB=$(dpkg -L cyclonedds-dev 2>/dev/null | grep '/libddsc\.so$' | head -n 1 || true)
  if [ -n "$DDS_LIB" ]; then
    DDS_HOME="$PWD/.venv/cyclonedds-prefix"
    mkdir -p "$DDS_HOME" && ln -sfn "$(dirname "$DDS_LIB")" "$DDS_HOME/lib" && ln -sfn /usr/include "$DDS_HOME/include" \
      && ln -sfn /usr/bin "$DDS_HOME/bin"
    CYCLONEDDS_HOME="$DDS_HOME" "$PY" -m pip install -q -e ".[go2]" 2>&1 | grep -v "^WARNING: Location" || true
  fi
  "$PY" -c "import cyclonedds.domain, unitree_sdk2py.core.channel" 2>/dev/null \
    || echo "setup: the 'go2' extra (Cyclone DDS, unitree_sdk2py) is not installed; the Go2 DDS link and tests need it" >&2
fi
bash scripts/setup_kit.sh  # Isaac Sim 6.2's Kit kernel (.venv-kit, Python 3.12) for tests/frontends/kit/real_kit
bash scripts/setup_isaacsim_pins.sh  # Isaac Sim 6.2's physics pins (newton 1.6.1, .venv-isaacsim-pins) for tests/test_isaacsim_pins.py
