"""Code that authors the project's own robot scenes with pxr + UsdPhysics, byte-for-byte reproducibly.

Build time only (``scripts/make_assets.py``): the committed ``assets/usd/*.usda`` files are its output, and nothing
that runs a task imports this package. One module per robot, on the helpers of :mod:`.usd_physics`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .ant import ANT_FILE_NAME, write_ant
from .cartpole import CARTPOLE_FILE_NAME, write_cartpole
from .point_nav import POINT_NAV_FILE_NAME, write_point_nav

WRITERS = {CARTPOLE_FILE_NAME: write_cartpole, ANT_FILE_NAME: write_ant, POINT_NAV_FILE_NAME: write_point_nav}
"""File name -> the function that writes that robot's scene."""


def write_all(out_dir: str | os.PathLike) -> list[Path]:
    """Write every robot scene into ``out_dir`` (created if missing); returns the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, write in WRITERS.items():
        write(out / name)
        paths.append(out / name)
    return paths
