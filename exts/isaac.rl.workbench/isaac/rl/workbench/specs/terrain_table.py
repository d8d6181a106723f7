"""The ``[terrain]`` table of a spec (a height grid of tiles in place of the flat ground), read into
:class:`~..scene.terrain.TerrainSpec`; without the table the envs stand on the flat ground plane as before.

```toml
[terrain]
rows = 5                       # levels, easiest first
tile_size = 8.0                # [m]
[terrain.types.stairs_up]
step_height = [0.05, 0.20]     # [m] on the first row, on the last row
[terrain.types.random_rough]
amplitude = 0.05               # [m] on every row
proportion = 2.0               # twice the columns of each other type
```
"""

from __future__ import annotations

import math

from ..scene.terrain import TerrainSpec, TileType, column_types
from ..scene.terrain_tiles import MAX_SLOPE_DEG, POSITIVE_PARAMETERS, TILE_PARAMETERS
from .schema import EnvSpec, SpecError
from .tables import SpecTable

MAX_SAMPLES = 16_000_000
"""Most height samples a terrain may hold (64 MB of float32)."""
_WHOLE_CELLS = ("tile_size", "border")


def load_terrain(t: SpecTable, env: EnvSpec) -> TerrainSpec:
    """``[terrain]``, validated, defaults filled in (a spec without the table has no terrain: the loader leaves it
    None).

    Raises:
        SpecError: naming the key (``terrain.rows``, ``terrain.types.stairs_up.step_height``) and what was expected.
    """
    t.check_keys(TerrainSpec.__dataclass_fields__)
    d = TerrainSpec()
    if env.physics != "newton":
        problem = f'a [terrain] loads on env.physics = "newton" only, not "{env.physics}"'
        raise SpecError(f"{t.file}: key 'env.physics': {problem}", key="env.physics")
    if env.ground is False:
        problem = "a [terrain] is the envs' ground: remove env.ground = false or the [terrain] table"
        raise SpecError(f"{t.file}: key 'env.ground': {problem}", key="env.ground")
    scale = t.number("horizontal_scale", d.horizontal_scale, positive=True)
    lengths = {}
    for key in _WHOLE_CELLS:
        value = t.number(key, getattr(d, key), positive=key == "tile_size", minimum=0.0)
        cells = value / scale
        if abs(cells - round(cells)) > 1e-6 * max(1.0, cells):
            raise t.error(key, f"expected a whole number of terrain.horizontal_scale cells ({scale} m), got {value}")
        lengths[key] = value
    if round(lengths["tile_size"] / scale) < 2:
        raise t.error("tile_size", f"expected at least 2 cells of terrain.horizontal_scale ({scale} m)")
    rows = t.number("rows", d.rows, minimum=1, integer=True)
    types = _load_types(t.sub("types"), d)
    columns = t.number("columns", len(types), minimum=1, integer=True) if "columns" in t.data else None
    samples = (rows * lengths["tile_size"] + 2 * lengths["border"]) / scale
    samples *= ((columns or len(types)) * lengths["tile_size"] + 2 * lengths["border"]) / scale
    if samples > MAX_SAMPLES:
        raise t.error(
            "horizontal_scale",
            f"the height grid would hold {samples:,.0f} samples, at most {MAX_SAMPLES:,}: fewer rows or columns, "
            f"smaller tiles or border, or a coarser scale",
        )
    max_start_level = t.get("max_start_level", int)
    if max_start_level is not None and not 0 <= max_start_level < rows:
        raise t.error("max_start_level", f"expected an integer from 0 to terrain.rows - 1 = {rows - 1}")
    spec = TerrainSpec(
        tile_size=lengths["tile_size"],
        border=lengths["border"],
        rows=rows,
        columns=columns,
        horizontal_scale=scale,
        vertical_scale=t.number("vertical_scale", d.vertical_scale, positive=True),
        types=types,
        seed=t.number("seed", d.seed, minimum=0, integer=True),
        max_start_level=max_start_level,
    )
    missing = [tile.name for tile in types if tile.name not in column_types(spec)]
    if missing:
        shares = ", ".join(f"{tile.name} {tile.proportion:g}" for tile in types)
        raise t.error(
            "columns",
            f"{spec.num_columns} columns shared out by proportion ({shares}) leave {', '.join(missing)} without a "
            f"column; give more columns (at least the sum of the proportions, {sum(x.proportion for x in types):g}, "
            "when they are whole numbers) or larger proportions",
        )
    return spec


def _load_types(t: SpecTable, d: TerrainSpec) -> tuple[TileType, ...]:
    """``[terrain.types.<name>]``: each a tile type with its proportion and parameters; default every type."""
    if not t.data:
        return d.types
    t.check_keys(TILE_PARAMETERS)
    types = tuple(_load_type(t.sub(name), name) for name in t.data)
    if not any(tile.proportion > 0 for tile in types):
        raise t.sub(next(iter(t.data))).error("proportion", "expected at least one tile type with proportion > 0")
    return types


def _load_type(t: SpecTable, name: str) -> TileType:
    defaults = TILE_PARAMETERS[name]
    t.check_keys([*defaults, "proportion"])
    params = {key: _range(t, key) for key in defaults if key in t.data}
    merged = {**defaults, **params}
    for key, (easy, hard) in merged.items():
        low = min(easy, hard)
        if key in POSITIVE_PARAMETERS and not low > 0:
            raise t.error(key, f"must be > 0, got {low}")
        if low < 0:
            raise t.error(key, f"must be >= 0, got {low}")
    if "slope_deg" in params and max(params["slope_deg"]) > MAX_SLOPE_DEG:
        raise t.error("slope_deg", f"must be <= {MAX_SLOPE_DEG} degrees, got {max(params['slope_deg'])}")
    if "box_size_min" in merged and max(merged["box_size_min"]) > min(merged["box_size_max"]):
        raise t.error("box_size_max", "must be >= box_size_min at every level")
    return TileType(name=name, proportion=t.number("proportion", 1.0, minimum=0.0), params=params)


def _range(t: SpecTable, key: str) -> tuple[float, float]:
    """A parameter: one number for every level, or ``[easiest, hardest]`` for the first and the last row."""
    value = t.get(key, (float, list))
    if isinstance(value, float):
        return value, value
    if len(value) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise t.error(key, f"expected a number or [easiest, hardest] (two numbers), got {value!r}")
    easy, hard = (float(v) for v in value)
    if not (math.isfinite(easy) and math.isfinite(hard)):
        raise t.error(key, f"expected finite numbers, got {value!r}")
    return easy, hard
