#!/usr/bin/env bash
# Set-up, in parts: each says what it installs before it starts and how long it took when it ends; a part that finds
# its work done ends at once. Run it again at any time.
#
#   bash scripts/setup.sh          what training, the panel and `import` need: .venv with PyTorch (the CPU build,
#                                  torch==2.13.0, on a machine without an NVIDIA GPU: never the multi-GB CUDA wheels)
#                                  and the workbench; .venv-convert with the URDF and MJCF converters; the robots
#                                  and Gymnasium's robots converted for the shipped tasks. No system package.
#   bash scripts/setup.sh --test   the same, then what only the tests need: pytest, ruff, import-linter and
#                                  Playwright in .venv; Debian's chromium (the browser panel's test) and
#                                  cyclonedds-dev with the 'go2' extra (the Go2 DDS tests), with apt-get as root or
#                                  through sudo; Isaac Sim 6.2's Kit kernel (.venv-kit) and physics pins
#                                  (.venv-isaacsim-pins). The tests need all of it (CI runs this, .ci/run).
#   bash scripts/setup.sh --go2    the first, then only the Go2 DDS link (cyclonedds-dev and the 'go2' extra), to
#                                  drive a real Go2 (`deploy --robot go2`, `go2-bridge`) without the test set-up.
#   bash scripts/setup.sh --list [--test|--go2]   the parts it would run, one a line; runs none.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST=0
GO2=0
LIST=0
for arg in "$@"; do
  case "$arg" in
    --test) TEST=1 ;;
    --go2) GO2=1 ;;
    --list) LIST=1 ;;
    *) echo "setup: unknown option '$arg'; expected --test, --go2 or --list" >&2; exit 2 ;;
  esac
done
PY=.venv/bin/python

part() {  # part NAME WHAT FUNCTION: a line before (what it installs), run FUNCTION, a line after (its time)
  if [ "$LIST" = 1 ]; then echo "$1: $2"; return; fi
  echo "setup: $1: $2 ..."
  local started=$SECONDS
  "$3"
  echo "setup: $1: done in $((SECONDS - started)) s"
}

quiet_pip() {  # pip, without the lines about this machine's absent local index folders
  "$@" 2>&1 | grep -v "^WARNING: Location" || true
}

apt_install() {  # apt_install PACKAGE: Debian's package, as root or through sudo (apt-get update only when needed)
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get install -y -q "$1" >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "$1" >/dev/null; }
}

# -- what training and the panel need --------------------------------------------------------------------------------
install_workbench() {
  [ -x "$PY" ] || python3 -m venv .venv
  if ! "$PY" -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1; then "$PY" -m pip install -q torch; else "$PY" -m pip install -q torch==2.13.0; fi
  fi
  # gym: gymnasium, whose MuJoCo XMLs become the gym/* tasks' robots (assets below)
  quiet_pip "$PY" -m pip install -q -e ".[gym]"
  "$PY" -c "import isaac.rl.workbench, newton, rsl_rl, viser" || { echo "setup failed: the workbench does not import" >&2; exit 1; }
}

# URDF and MJCF import: Newton's urdf-usd-converter and mujoco-usd-converter bring usd-exchange, whose own OpenUSD
# crashes beside usd-core in one environment (and mujoco-usd-converter wants mujoco<3.17, older than Newton's), so
# they live in a venv of their own (.venv-convert) that `import` runs as a subprocess; it also holds
# example-robot-data, the URDFs (with meshes) of the robots the tasks, tests and examples import
install_converters() {
  if ! .venv-convert/bin/python -c "import urdf_usd_converter, mujoco_usd_converter" 2>/dev/null; then
    python3 -m venv .venv-convert
    quiet_pip .venv-convert/bin/python -m pip install -q "urdf-usd-converter==0.3.4" "mujoco-usd-converter==0.8.0" \
      "example-robot-data==6.0.0"
  fi
}

make_assets() {  # kept when there
  "$PY" scripts/make_assets.py --robots --gym
}

# -- what only the tests need ------------------------------------------------------------------------------------------
install_test_tools() {
  quiet_pip "$PY" -m pip install -q -e ".[test]"
}

install_chromium() {  # the browser panel's end-to-end test drives Debian's chromium through Playwright
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium || echo "setup: could not install chromium; the browser panel test needs /usr/bin/chromium" >&2
  fi
}

# the Unitree Go2 over DDS (the 'go2' extra): Debian's Cyclone DDS 0.10, then the cyclonedds binding built against it
# (its build looks for $CYCLONEDDS_HOME/{lib/libddsc.so,include,bin}: a folder of links into Debian's folders, kept in
# .venv because the binding remembers it) and unitree_sdk2py; the Go2 DDS tests skip without them (fail under CI)
install_dds() {
  "$PY" -c "import cyclonedds.domain, unitree_sdk2py.core.channel" 2>/dev/null && return 0
  if [ ! -e /usr/include/dds/dds.h ]; then
    apt_install cyclonedds-dev || echo "setup: could not install cyclonedds-dev; the Go2 DDS link needs it" >&2
  fi
  local dds_lib
  dds_lib=$(dpkg -L cyclonedds-dev 2>/dev/null | grep '/libddsc\.so$' | head -n 1 || true)
  if [ -n "$dds_lib" ]; then
    local dds_home="$PWD/.venv/cyclonedds-prefix"
    mkdir -p "$dds_home" && ln -sfn "$(dirname "$dds_lib")" "$dds_home/lib" && ln -sfn /usr/include "$dds_home/include" \
      && ln -sfn /usr/bin "$dds_home/bin"
    CYCLONEDDS_HOME="$dds_home" quiet_pip "$PY" -m pip install -q -e ".[go2]"
  fi
  "$PY" -c "import cyclonedds.domain, unitree_sdk2py.core.channel" 2>/dev/null \
    || echo "setup: the 'go2' extra (Cyclone DDS, unitree_sdk2py) is not installed; the Go2 DDS link and tests need it" >&2
}

install_kit() { bash scripts/setup_kit.sh; }
install_isaacsim_pins() { bash scripts/setup_isaacsim_pins.sh; }

part workbench "PyTorch, the workbench and its Python packages (Newton, rsl-rl, viser, gymnasium) in .venv" install_workbench
part converters "the URDF and MJCF converters and example-robot-data in .venv-convert (for import)" install_converters
part assets "the Go2, Panda and SO-101 and Gymnasium's robots as USD (assets/usd/robots, assets/usd/gym)" make_assets
if [ "$TEST" = 1 ]; then
  part test-tools "pytest, ruff, import-linter and Playwright in .venv" install_test_tools
  part chromium "Debian's chromium (apt-get) for the browser panel's test" install_chromium
fi
if [ "$TEST" = 1 ] || [ "$GO2" = 1 ]; then
  part dds "Debian's cyclonedds-dev (apt-get) and the 'go2' extra for the Go2 DDS link and its tests" install_dds
fi
if [ "$TEST" = 1 ]; then
  part kit "Isaac Sim 6.2's Kit kernel in .venv-kit (Python 3.12) for the real-Kit tests" install_kit
  part isaacsim-pins "Isaac Sim 6.2's physics pins in .venv-isaacsim-pins for tests/test_isaacsim_pins.py" install_isaacsim_pins
fi
if [ "$LIST" = 0 ]; then
  echo "setup: done in $SECONDS s"
fi
