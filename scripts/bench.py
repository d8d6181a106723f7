"""Throughput benchmark (see ``isaac.rl.workbench.frontends.bench``): python scripts/bench.py TASK --device cuda ..."""

import sys

from isaac.rl.workbench.frontends.bench import main

if __name__ == "__main__":
    sys.exit(main())
