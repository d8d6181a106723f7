"""Throughput benchmark (``isaac-rl-workbench bench``): python scripts/bench.py TASK --device cuda --num-envs ..."""

import sys

from isaac.rl.workbench.frontends.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
