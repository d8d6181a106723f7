"""The keys of ``[terrain]`` and ``[curriculum.terrain_levels]`` for ``spec --help-keys`` and the panels' tooltips:
from the docstrings of :class:`~..scene.terrain.TerrainSpec`, :class:`~..scene.terrain.TileType` and
:class:`~.schema.TerrainLevelsSpec`, and each tile type's parameters from
:data:`~..scene.terrain_tiles.TILE_PARAMETERS`."""

from __future__ import annotations

from dataclasses import fields

from ..scene.terrain import TerrainSpec, TileType
from ..scene.terrain_tiles import MAX_SLOPE_DEG, POSITIVE_PARAMETERS, TILE_PARAMETERS
from ..utils.field_docs import field_docs
from .key_docs import KeyDoc
from .schema import TerrainLevelsSpec

TILE_PARAMETER_DOCS = {
    "amplitude": "Heights uniform in [-amplitude, amplitude] [m]",
    "noise_spacing": "Distance between the random heights, linear between them [m]",
    "slope_deg": f"The slope's angle from the tile's edge to its platform [degrees], at most {MAX_SLOPE_DEG:g}",
    "platform": "Side of the flat square at the tile's centre, where the robot starts [m]",
    "step_height": "Rise of each stair [m]",
    "step_width": "Tread of each stair [m]",
    "box_height": "Height of the boxes [m]",
    "box_size_min": "Smallest side of a box [m], <= box_size_max",
    "box_size_max": "Largest side of a box [m]",
    "count": "Number of boxes",
    "stone_size": "Side of each square stone [m]",
    "gap": "Gap between the stones [m]",
    "pit_depth": "Depth of the pits between the stones [m]",
}
"""What each tile parameter is, with its unit (the ranges are added from :data:`POSITIVE_PARAMETERS`)."""

_RANGE_NOTE = "One number for every row, or [easiest, hardest]: on the first row, on the last."


def terrain_key_docs() -> list[KeyDoc]:
    """``terrain.*``, ``terrain.types.<type>.*`` (the proportion, then each type's parameters) and
    ``curriculum.terrain_levels.*``, in that order."""
    defaults, docs = TerrainSpec(), field_docs(TerrainSpec)
    out = [KeyDoc(f"terrain.{f.name}", getattr(defaults, f.name), docs[f.name]) for f in fields(TerrainSpec)]
    out = [doc for doc in out if doc.key != "terrain.types"]
    types = ", ".join(TILE_PARAMETERS)
    out.append(KeyDoc("terrain.types.<type>", None, f"{docs['types']} <type>: one of {types}; none: every type."))
    out.append(KeyDoc("terrain.types.<type>.proportion", 1.0, field_docs(TileType)["proportion"]))
    for name, params in TILE_PARAMETERS.items():
        for param, (easy, hard) in params.items():
            bound = "> 0" if param in POSITIVE_PARAMETERS else ">= 0"
            doc = f"{TILE_PARAMETER_DOCS[param]}, {bound}. {_RANGE_NOTE}"
            out.append(KeyDoc(f"terrain.types.{name}.{param}", [easy, hard] if easy != hard else easy, doc))
    levels = field_docs(TerrainLevelsSpec)
    moves = (
        "When an episode ends, the env moves a level (terrain row) up if its robot got farther than half a tile from "
        "its start, down if it got less than half as far as the command asked, to a random level past the top. The "
        "table needs a [terrain] and a floating base."
    )
    out.append(KeyDoc("curriculum.terrain_levels.command", None, f"{levels['command']} {moves}"))
    return out
