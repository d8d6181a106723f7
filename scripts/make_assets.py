"""Write the project's USD assets from code: ``python scripts/make_assets.py [--out assets/usd]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from isaac.rl.workbench.assets import write_all

REPO_ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    """Write every asset into ``--out`` and print each written path with its size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "assets" / "usd", help="output folder")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
