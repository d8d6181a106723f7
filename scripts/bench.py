"""Throughput benchmark (see ``isaac.rl.workbench.bench``): python scripts/bench.py TASK --device cuda --num-envs ..."""

import sys
from pathlib import Path

try:
    import isaac.rl.workbench  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exts" / "isaac.rl.workbench"))

from isaac.rl.workbench.bench import main

if __name__ == "__main__":
    sys.exit(main())
