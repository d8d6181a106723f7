#!/usr/bin/env bash
# Creates .venv-isaacsim-pins: the physics stack that Isaac Sim 6.2 ships (the versions isaacsim-core 6.2.0.0 pins:
# newton, newton-usd-schemas, mujoco, mujoco-warp, and the warp-lang that pip resolves for them) with everything else
# shared from .venv, so that the workbench's smoke tests run on the Newton the extension uses inside Isaac Sim.
# The pins are read from isaacsim-core's wheel metadata on the index (a 16 MB download, nothing installed); those of
# the five that .venv does not hold at the same version go in with --no-deps, and a .pth file adds .venv's
# site-packages after them (torch, rsl-rl, usd-core, the editable workbench and any shared pin come from there).
# Python 3.11 like .venv, where Isaac Sim runs 3.12: the five are pure Python or ship cp311 builds of the same
# release, and no Newton or MuJoCo API differs by Python version. About 30 s and 150 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-isaacsim-pins
ISAACSIM_CORE="isaacsim-core==6.2.0.0"
[ -x .venv/bin/python ] || { echo "setup_isaacsim_pins: .venv is missing; run scripts/setup.sh first" >&2; exit 1; }
if [ -s "$VENV/isaacsim_pins.txt" ] && "$VENV/bin/python" -c "import newton" 2>/dev/null; then
  exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# isaacsim-core's Requires-Dist (no install: --dry-run --no-deps; the wheel is for CPython 3.12 on manylinux_2_35)
.venv/bin/python -m pip install -q --dry-run --no-deps --ignore-installed --ignore-requires-python --only-binary=:all: \
  --python-version 3.12 --platform manylinux_2_35_x86_64 --target "$TMP/target" --report "$TMP/core.json" \
  "$ISAACSIM_CORE" 2>&1 | grep -v "^WARNING: Location" || true
if [ ! -s "$TMP/core.json" ]; then
  echo "setup_isaacsim_pins: could not read $ISAACSIM_CORE's pins from the index" >&2; exit 1
fi
.venv/bin/python - "$TMP/core.json" > "$TMP/pins.txt" <<'EOF'
import json, sys
from packaging.requirements import Requirement
wanted = {"newton", "newton-usd-schemas", "mujoco", "mujoco-warp"}
metadata = json.load(open(sys.argv[1]))["install"][0]["metadata"]
pins = {r.name: str(r.specifier) for r in map(Requirement, metadata["requires_dist"]) if r.name in wanted}
if set(pins) != wanted:
    sys.exit(f"setup_isaacsim_pins: isaacsim-core's metadata lacks pins for {sorted(wanted - set(pins))}")
print("\n".join(f"{name}{spec}" for name, spec in sorted(pins.items())))
print("warp-lang>=1.17.0")  # newton 1.6.1's own requirement: pip takes the newest, as it does for Isaac Sim
EOF
# the exact versions pip picks for them; a package .venv already holds at that version is shared, not installed again
.venv/bin/python -m pip install -q --dry-run --no-deps --ignore-installed --report "$TMP/picked.json" \
  -r "$TMP/pins.txt" 2>&1 | grep -v "^WARNING: Location" || true
if [ ! -s "$TMP/picked.json" ]; then
  echo "setup_isaacsim_pins: pip found no wheels for $(paste -sd' ' "$TMP/pins.txt")" >&2; exit 1
fi
.venv/bin/python - "$TMP/picked.json" "$TMP/wanted.txt" > "$TMP/install.txt" <<'EOF'
import importlib.metadata, json, sys
picked = [(i["metadata"]["name"], i["metadata"]["version"]) for i in json.load(open(sys.argv[1]))["install"]]
open(sys.argv[2], "w").write("".join(f"{name}=={version}\n" for name, version in picked))
for name, version in picked:
    try:
        shared = importlib.metadata.version(name) == version
    except importlib.metadata.PackageNotFoundError:
        shared = False
    if not shared:
        print(f"{name}=={version}")
EOF
rm -rf "$VENV"
"$(.venv/bin/python -c 'import sys; print(sys._base_executable)')" -m venv "$VENV"
if [ -s "$TMP/install.txt" ]; then
  "$VENV/bin/python" -m pip install -q --no-deps -r "$TMP/install.txt" 2>&1 | grep -v "^WARNING: Location" || true
fi
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
SHARED=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo "import site; site.addsitedir('$SHARED')" > "$SITE/zz_shared_dot_venv.pth"  # after this venv's own packages
# each of the five at the version picked (installed here or shared), and the workbench imports on them
"$VENV/bin/python" - "$TMP/wanted.txt" <<'EOF'
import importlib.metadata, sys
for line in open(sys.argv[1]).read().split():
    name, version = line.split("==")
    if importlib.metadata.version(name) != version:
        sys.exit(f"setup_isaacsim_pins: {name} {importlib.metadata.version(name)} in the venv, {version} wanted")
import isaac.rl.workbench, newton
EOF
cp "$TMP/wanted.txt" "$VENV/isaacsim_pins.txt"  # marks the venv complete
