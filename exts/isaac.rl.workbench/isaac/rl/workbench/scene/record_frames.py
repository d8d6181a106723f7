"""The camera frames of a recording, written beside its USD animation as PNG files (Pillow).

For a recording ``REC.usda`` the frames go to ``REC_frames/``::

    REC_frames/frames.json
    REC_frames/<camera>/<data type>/env<i>/frame_<k>.png

Frame ``k`` is the USD animation's time code ``k`` (the state before the k-th step), ``i`` the recorded env (the
animation's ``/World/env_<i>``). Per data type:

- ``depth``: 16-bit grey PNG, the depth along the view axis in millimetres (rounded; the camera's ``far`` where
  nothing is within it; at most 65535 mm).
- ``rgb``: 8-bit RGB PNG, as the camera rendered it.
- ``segmentation``: 8-bit RGB PNG, a colour per shape (:func:`.camera_pictures.segmentation_colors`: grey the
  ground, black nothing); ``frames.json`` lists the colours.

``frames.json`` holds ``fps``, the frame and env counts, each camera's size, ``near`` and ``far`` [m] and data
types, the depth unit and the segmentation colours. The folder is written whole: a recording saved again replaces
it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .camera_pictures import GROUND_COLOR, NOTHING_COLOR, SEGMENTATION_PALETTE, segmentation_colors

DEPTH_UNIT_M = 0.001
"""One step of a depth PNG [m]."""


def frames_folder(recording: Path) -> Path:
    """Where the camera frames of ``recording`` (``REC.usda``) go: ``REC_frames`` beside it."""
    recording = Path(recording)
    return recording.with_name(f"{recording.stem}_frames")


class CameraFrames:
    """Collects the cameras' images of the first ``num_envs`` envs frame by frame, converted for their PNG files on
    the images' device and kept on the host, and writes them with :meth:`save`.

    Args:
        cameras: camera name -> (width, height, near [m], far [m], data types).
        num_envs: K, the envs recorded (the first ones).
        fps: frames per second [1/s].
    """

    def __init__(self, cameras: dict[str, tuple[int, int, float, float, tuple[str, ...]]], num_envs: int, fps: float):
        self.cameras, self.num_envs, self.fps = cameras, int(num_envs), float(fps)
        self._frames: list[dict[tuple[str, str], np.ndarray]] = []

    @property
    def num_frames(self) -> int:
        """Frames added so far."""
        return len(self._frames)

    def add(self, images: dict[str, dict[str, torch.Tensor]]) -> None:
        """Append one frame: ``images`` camera name -> ``env.camera(name)`` (N >= K envs), every camera of
        ``cameras``."""
        frame = {}
        for name in self.cameras:
            for data_type, image in images[name].items():
                pixels = _png_pixels(data_type, image[: self.num_envs]).cpu().numpy()
                frame[(name, data_type)] = pixels.astype(np.uint16) if data_type == "depth" else pixels
        self._frames.append(frame)

    def save(self, folder: Path) -> Path:
        """Write the frames and ``frames.json`` to ``folder`` (replacing one there) and return it. The files are
        written into a new folder beside it that then takes its place."""
        folder = Path(folder)
        staging = folder.with_name(f".{folder.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            for k, frame in enumerate(self._frames):
                for (name, data_type), envs in frame.items():
                    for i, pixels in enumerate(envs):
                        file = staging / name / data_type / f"env{i}" / f"frame_{k:05d}.png"
                        file.parent.mkdir(parents=True, exist_ok=True)
                        Image.fromarray(pixels).save(file)
            staging.mkdir(parents=True, exist_ok=True)
            (staging / "frames.json").write_text(json.dumps(self._description(), indent=2) + "\n")
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    def _description(self) -> dict[str, Any]:
        cameras = {
            name: {"width": width, "height": height, "near_m": near, "far_m": far, "data_types": list(types)}
            for name, (width, height, near, far, types) in self.cameras.items()
        }
        return {
            "fps": self.fps,
            "frames": self.num_frames,
            "envs": self.num_envs,
            "cameras": cameras,
            "depth": "16-bit grey PNG, depth along the view axis in millimetres",
            "segmentation_colors": {
                "ground": list(GROUND_COLOR),
                "nothing": list(NOTHING_COLOR),
                "shape k": f"palette[k % {len(SEGMENTATION_PALETTE)}]",
                "palette": [list(c) for c in SEGMENTATION_PALETTE],
            },
        }


class RecorderWithFrames:
    """A USD recorder that also records camera frames: :meth:`add_frame` hands the poses to ``recorder`` and the
    images ``read_images()`` returns at that moment (camera name -> ``env.camera(name)``) to ``frames``. Used where
    a rollout takes a :class:`~.record.UsdRecorder`."""

    def __init__(self, recorder: Any, frames: CameraFrames, read_images: Callable[[], dict[str, dict]]):
        self.recorder, self.frames, self._read_images = recorder, frames, read_images

    @property
    def num_envs(self) -> int:
        """The envs recorded, K."""
        return self.recorder.num_envs

    def add_frame(self, body_poses: torch.Tensor, markers=None, origins=None) -> None:
        """:meth:`.record.UsdRecorder.add_frame`, and the cameras' images of this frame."""
        self.recorder.add_frame(body_poses, markers, origins)
        self.frames.add(self._read_images())

    def save(self, path: Path) -> tuple[Path, Path]:
        """Write the USD animation to ``path`` and the frames to :func:`frames_folder` of it; return both."""
        recording = self.recorder.save(path)
        return recording, self.frames.save(frames_folder(recording))


def _png_pixels(data_type: str, image: torch.Tensor) -> torch.Tensor:
    """Images (K, H, W[, 3]) as the pixels of their PNG files: depth [mm] in 0 .. 65535 as int32 (made uint16 on
    the host), colours uint8 (K, H, W, 3)."""
    if data_type == "depth":
        return (image.float() / DEPTH_UNIT_M).round().clamp(0, 65535).to(torch.int32)
    if data_type == "segmentation":
        return segmentation_colors(image)
    return image.to(torch.uint8)
