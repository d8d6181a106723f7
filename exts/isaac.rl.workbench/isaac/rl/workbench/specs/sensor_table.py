"""The ``[sensors.<name>]`` tables of a spec (cameras rendered per env), read into :class:`.schema.CameraSpec`; the
terms' ``sensor`` parameters checked against them; a camera's orientation in its frame as a quaternion.

```toml
[sensors.front]
type = "camera"
body = "pole"                # absent: fixed in the env's frame
pos = [0.0, -2.0, 1.0]       # [m] in the body's (or the env's) frame
look_at = [0.0, 0.0, 1.0]    # or rot = [w, x, y, z]
width = 64
height = 64
fov_deg = 60.0
near = 0.05
far = 10.0
data_types = ["depth"]       # "depth", "rgb", "segmentation"
update_period_s = 0.0        # 0: every env step
samples_per_pixel = 1        # rays per pixel (> 1: supersampled; depth keeps the nearest, colour the mean)
```
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..terms.camera_observations import DATA_TYPE_READ
from .schema import CAMERA_DATA_TYPES, CameraSpec, EnvSpec, SpecError, TermSpec
from .tables import SpecTable, matching_names

MAX_IMAGE_SIDE = 4096
"""Largest image width or height [pixels]."""
SENSOR_TYPES = ("camera",)
MAX_SAMPLES_PER_PIXEL = 16
"""Most rays a camera casts per pixel (``samples_per_pixel``)."""


def load_sensors(t: SpecTable, body_names: list[str], root: str, env: EnvSpec) -> dict[str, CameraSpec]:
    """Every ``[sensors.<name>]`` table of ``t`` (the ``sensors`` table), in file order, keyed by sensor name.

    Args:
        body_names: the articulation's body names, which ``body`` may name (a name or a full-match regex).
        root: the articulation's root prim path, for messages.
        env: the spec's ``[env]`` (cameras render on the Newton engine only).

    Raises:
        SpecError: naming the key (``sensors.front.near``), the value and what was expected.
    """
    if t.data and env.physics != "newton":
        problem = f'[sensors] render on env.physics = "newton" only, not "{env.physics}"'
        raise SpecError(f"{t.file}: key 'env.physics': {problem}", key="env.physics")
    return {name: _load_camera(t.sub(name), body_names, root) for name in t.data}


def _load_camera(t: SpecTable, body_names: list[str], root: str) -> CameraSpec:
    kind = t.get("type", str, required=True)
    if kind not in SENSOR_TYPES:
        raise t.error("type", f"expected one of {', '.join(SENSOR_TYPES)}, got '{kind}'")
    t.check_keys(CameraSpec.__dataclass_fields__)
    d = CameraSpec()
    body = t.get("body", str)
    if body is not None:
        matches = matching_names(t, "body", body, body_names, "body")
        if len(matches) != 1:
            found = f"it matches {', '.join(matches)}" if matches else f"its bodies: {', '.join(body_names)}"
            raise t.error("body", f"expected one body of articulation {root}, got '{body}'; {found}")
        body = matches[0]
    pos = _vector(t, "pos", 3, d.pos)
    look_at = _vector(t, "look_at", 3, None)
    rot = _vector(t, "rot", 4, None)
    if look_at is not None and rot is not None:
        raise t.error("rot", "give look_at or rot, not both")
    if look_at is not None and math.dist(look_at, pos) < 1e-6:
        raise t.error("look_at", f"expected a point other than pos {list(pos)}, got {list(look_at)}")
    if rot is not None:
        norm = math.sqrt(sum(v * v for v in rot))
        if norm < 1e-6:
            raise t.error("rot", f"expected a quaternion [w, x, y, z] of length > 0, got {list(rot)}")
        rot = tuple(v / norm for v in rot)
    width, height = (_side(t, key, getattr(d, key)) for key in ("width", "height"))
    fov = t.number("fov_deg", d.fov_deg)
    if not 0.0 < fov < 180.0:
        raise t.error("fov_deg", f"expected degrees in (0, 180), got {fov}")
    near = t.number("near", d.near, positive=True)
    far = t.number("far", d.far)
    if not far > near:
        raise t.error("far", f"expected more than near ({near} m), got {far}")
    data_types = t.get("data_types", list, d.data_types)
    if not data_types:
        raise t.error("data_types", f"expected at least one of {', '.join(CAMERA_DATA_TYPES)}")
    for item in data_types:
        if item not in CAMERA_DATA_TYPES:
            raise t.error("data_types", f"expected any of {', '.join(CAMERA_DATA_TYPES)}, got {item!r}")
    if len(set(data_types)) != len(data_types):
        raise t.error("data_types", f"expected each data type once, got {data_types}")
    return CameraSpec(
        type=kind,
        body=body,
        pos=pos,
        look_at=look_at,
        rot=rot,
        width=width,
        height=height,
        fov_deg=fov,
        near=near,
        far=far,
        data_types=list(data_types),
        update_period_s=t.number("update_period_s", d.update_period_s, minimum=0.0),
        samples_per_pixel=_samples(t, d.samples_per_pixel),
    )


def _vector(t: SpecTable, key: str, size: int, default):
    value = t.get(key, list)
    if value is None:
        return default
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if len(value) != size or not numbers:
        raise t.error(key, f"expected {size} numbers, got {value!r}")
    return tuple(float(v) for v in value)


def _samples(t: SpecTable, default: int) -> int:
    value = t.number("samples_per_pixel", default, integer=True)
    if not 1 <= value <= MAX_SAMPLES_PER_PIXEL:
        raise t.error("samples_per_pixel", f"expected rays per pixel from 1 to {MAX_SAMPLES_PER_PIXEL}, got {value}")
    return value


def _side(t: SpecTable, key: str, default: int) -> int:
    value = t.number(key, default, integer=True)
    if not 1 <= value <= MAX_IMAGE_SIDE:
        raise t.error(key, f"expected pixels from 1 to {MAX_IMAGE_SIDE}, got {value}")
    return value


def check_sensor_terms(
    file: Path,
    sensors: dict[str, CameraSpec],
    observations: dict[str, list[TermSpec]],
    terms: dict[str, dict[str, TermSpec]],
) -> None:
    """Each term's ``sensor`` parameter names a ``[sensors.<name>]`` that renders what the term reads (for the
    library's image terms, :data:`~..terms.camera_observations.DATA_TYPE_READ`).

    Args:
        file: the spec file, for messages.
        sensors: the spec's sensors.
        observations: the observation groups' terms.
        terms: the other kinds' terms by kind (``rewards``, ``terminations``, ``metrics``, ``events``).

    Raises:
        SpecError: naming the term's ``params.sensor`` key (``observations.policy.terms[0].params.sensor``).
    """
    keyed = [
        (f"observations.{g}.terms[{i}]", term) for g, group in observations.items() for i, term in enumerate(group)
    ]
    keyed += [(f"{kind}.{name}", term) for kind, table in terms.items() for name, term in table.items()]
    for key, term in keyed:
        if "sensor" not in term.params:
            continue
        name = term.params["sensor"]
        where = f"{key}.params.sensor"
        if not isinstance(name, str) or name not in sensors:
            known = ", ".join(sensors) or "none: add a [sensors.<name>] table"
            raise SpecError(f"{file}: key '{where}': no sensor {name!r} in [sensors]; sensors: {known}", key=where)
        needed = DATA_TYPE_READ.get(term.func)
        if needed is not None and needed not in sensors[name].data_types:
            problem = f"{term.func_name} reads the camera's '{needed}': add it to sensors.{name}.data_types"
            raise SpecError(f"{file}: key '{where}': {problem}", key=where)


def camera_quat_xyzw(camera: CameraSpec) -> tuple[float, float, float, float]:
    """The camera frame's orientation in its mount's frame (the body's or the env's) as (x, y, z, w).

    ``look_at``: the camera's -Z axis points at the point, its +X (right) is ``forward x up`` with up the frame's +Z,
    or the frame's +X where the view is straight up or down; ``rot`` as given ([w, x, y, z], normalised at load);
    neither: the identity."""
    if camera.rot is not None:
        w, x, y, z = camera.rot
        return (x, y, z, w)
    if camera.look_at is None:
        return (0.0, 0.0, 0.0, 1.0)
    forward = np.subtract(camera.look_at, camera.pos)
    forward /= np.linalg.norm(forward)
    up = np.array([0.0, 0.0, 1.0])
    if np.linalg.norm(np.cross(forward, up)) < 1e-6:
        up = np.array([1.0, 0.0, 0.0])
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    back = -forward
    matrix = np.stack([right, np.cross(back, right), back], axis=1)  # columns: the camera's x, y, z axes
    from scipy.spatial.transform import Rotation  # only where a camera looks at a point

    return tuple(float(v) for v in Rotation.from_matrix(matrix).as_quat())  # (x, y, z, w)
