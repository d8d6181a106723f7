"""The browser panel's Cameras section: what the watched envs' cameras see, live while a task with cameras trains
or plays. One image per camera and data type, the envs in a grid as wide as the panel (env 0 top left, then along
the row), sent as PNG; depth in grey (white at the camera's near, black at its far, both in the caption),
segmentation in colours, colour as rendered. A task without cameras shows no section."""

from __future__ import annotations

import math
import threading

import numpy as np
import viser

from ..panel import PanelModel
from ..panel_state import CameraPictures

DISPLAY_WIDTH = 320
"""[px] the width the envs' grid fits in: as many envs a row as fit (at least one), and a small grid magnified by a
whole factor (nearest pixel) up to about this width."""
GAP = 2
"""White pixels between two envs' pictures."""
SECTION_ORDER = 2.5  # between Progress and Policy


def tiled(pictures: np.ndarray, width: int = DISPLAY_WIDTH) -> np.ndarray:
    """K envs' pictures (K, H, W, 3) as one image: a grid of as many envs a row as fit in ``width`` pixels (at least
    one; env 0 top left), :data:`GAP` white pixels between them, each pixel repeated f x f times, f the largest
    whole factor that keeps the grid within ``width`` (at least 1)."""
    count, height, side = pictures.shape[:3]
    columns = min(count, max(1, (width + GAP) // (side + GAP)))
    rows = math.ceil(count / columns)
    grid = np.full((rows * (height + GAP) - GAP, columns * (side + GAP) - GAP, 3), 255, dtype=np.uint8)
    for env, picture in enumerate(pictures):
        top, left = (env // columns) * (height + GAP), (env % columns) * (side + GAP)
        grid[top : top + height, left : left + side] = picture
    factor = max(1, width // grid.shape[1])
    return grid if factor == 1 else grid.repeat(factor, axis=0).repeat(factor, axis=1)


class CameraView:
    """Shows ``model.run.cameras`` (:class:`~..panel_state.CameraPictures`) in a "Cameras" folder, made when the
    first pictures arrive and removed when the run shows none."""

    def __init__(self, server: viser.ViserServer, model: PanelModel):
        self.server, self.model = server, model
        self.folder: viser.GuiFolderHandle | None = None
        self.images: dict[str, viser.GuiImageHandle] = {}
        """Caption -> the image element showing it."""
        self._shown: CameraPictures | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Show the model's latest pictures (nothing to do when they are the ones shown)."""
        latest = self.model.run.cameras
        with self._lock:
            if latest is self._shown:
                return
            self._shown = latest
            if latest is None or list(latest.pictures) != list(self.images):
                self._clear()
            if latest is None:
                return
            with self.server.atomic():
                if self.folder is None:
                    with self.server.gui.add_folder("Cameras", order=SECTION_ORDER) as self.folder:
                        for caption, envs in latest.pictures.items():
                            self.images[caption] = self.server.gui.add_image(tiled(envs), label=caption, format="png")
                else:
                    for caption, envs in latest.pictures.items():
                        self.images[caption].image = tiled(envs)

    def _clear(self) -> None:
        if self.folder is not None:
            self.folder.remove()
        self.folder, self.images = None, {}
