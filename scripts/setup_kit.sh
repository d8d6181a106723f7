#!/usr/bin/env bash
# Isaac Sim 6.2's real Kit kernel for the real-kernel tests (tests/frontends/kit/real_kit/), from PyPI, in .venv-kit
# (once): Python 3.12 (the only Python the 6.2 wheels are built for), isaacsim, isaacsim-kernel (libcarb,
# omni.kit.app, Kit's Python runtime) and isaacsim-app with their dependencies; isaacsim-core and isaacsim-gui without
# them (isaacsim-core pins an opencv build PyPI lacks and a multi-GB CUDA torch); isaacsim-extscache-physics (the
# omni.physx* / omni.physics* extensions and their Python sources); usd-core as the pxr the Kit layer imports.
# Nothing here accepts NVIDIA's licence: the tests set OMNI_KIT_ACCEPT_EULA=YES in the Kit processes they start.
#
# --autostart also makes .venv-kit-autostart for the opt-in autostart test (ISAAC_RL_WORKBENCH_KIT_AUTOSTART=1): the
# same kernel and extensions plus Isaac Sim 6.2's torch (2.11.0, PyPI's CUDA build: about 5.5 GB with its nvidia-*
# wheels), Isaac Sim's physics pins (Newton 1.6.1), the extension's [python.pipapi] requirements and this
# repository's package (no dependencies), so that Kit's Python can train. About 6 minutes and 6.7 GB here.
set -euo pipefail
cd "$(dirname "$0")/.."
ISAACSIM_VERSION=6.2.0.0
TORCH_VERSION=2.11.0  # isaacsim-core 6.2.0.0's pin
ISAACSIM_PHYSICS=("newton[sim]==1.6.1" "newton-usd-schemas==0.5.0" "mujoco==3.12.0" "mujoco-warp==3.12.0")  # its pins
PY312=""
for candidate in "$(command -v python3.12 || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
  if [ -n "$candidate" ] && "$candidate" -c "import sys; assert sys.version_info[:2] == (3, 12)" 2>/dev/null; then
    PY312="$candidate"; break
  fi
done
if [ -z "$PY312" ]; then
  echo "setup_kit: no Python 3.12 found (python3.12 on PATH or pyenv's 3.12); the real Kit kernel tests skip (fail under CI)" >&2
  exit 0
fi

quiet_pip() {  # pip, without the lines about this machine's absent local index folders
  "$@" 2>&1 | grep -v "^WARNING: Location" || true
}

install_kernel() {  # $1: the venv to make (once) and fill with Isaac Sim's kernel and app, with their dependencies
  [ -x "$1/bin/python" ] || "$PY312" -m venv "$1"
  quiet_pip "$1/bin/python" -m pip install -q "isaacsim==$ISAACSIM_VERSION" "isaacsim-kernel==$ISAACSIM_VERSION" \
    "isaacsim-app==$ISAACSIM_VERSION" "usd-core>=25.5"
}

install_extensions() {  # $1: the venv; Isaac Sim's core (with Kit's run loop omni.kit.loop-isaac), gui and physics
  # extensions without their dependencies, last (so that no later install weighs their pins)
  quiet_pip "$1/bin/python" -m pip install -q --no-deps "isaacsim-core==$ISAACSIM_VERSION" \
    "isaacsim-gui==$ISAACSIM_VERSION" "isaacsim-extscache-physics==$ISAACSIM_VERSION"
}

# (importing isaacsim itself would ask for the licence: only its files are looked for)
KERNEL_CHECK="import importlib.util, pathlib, pxr
root = pathlib.Path(importlib.util.find_spec('isaacsim').origin).parent
assert (root / 'kit' / 'kit_app.py').is_file() and (root / 'exts' / 'omni.kit.loop-isaac').is_dir()
assert list(root.glob('extscache/omni.physx-*'))"
if ! .venv-kit/bin/python -c "$KERNEL_CHECK" 2>/dev/null; then
  install_kernel .venv-kit
  install_extensions .venv-kit
  .venv-kit/bin/python -c "$KERNEL_CHECK" || { echo "setup_kit: .venv-kit has no Isaac Sim $ISAACSIM_VERSION kernel" >&2; exit 1; }
fi

if [ "${1:-}" = "--autostart" ]; then
  AUTOSTART_CHECK="$KERNEL_CHECK
import torch, newton, rsl_rl, isaac.rl.workbench.workbench"
  if ! .venv-kit-autostart/bin/python -c "$AUTOSTART_CHECK" 2>/dev/null; then
    install_kernel .venv-kit-autostart
    mapfile -t PIPAPI < <("$PY312" -c "import tomllib; m = tomllib.load(open('exts/isaac.rl.workbench/config/extension.toml', 'rb')); print('\n'.join(m['python']['pipapi']['requirements']))")
    # with Isaac Sim's own physics pins, as inside Isaac Sim: the extension's ranges then keep Newton 1.6.1
    quiet_pip .venv-kit-autostart/bin/python -m pip install -q "torch==$TORCH_VERSION" "${ISAACSIM_PHYSICS[@]}" "${PIPAPI[@]}"
    quiet_pip .venv-kit-autostart/bin/python -m pip install -q --no-deps -e .
    install_extensions .venv-kit-autostart
    .venv-kit-autostart/bin/python -c "$AUTOSTART_CHECK" \
      || { echo "setup_kit: .venv-kit-autostart cannot import the workbench's dependencies" >&2; exit 1; }
  fi
fi
