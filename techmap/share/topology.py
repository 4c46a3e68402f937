"""Country outlines for the server-drawn cards, read from the npm world-atlas TopoJSON.

The same Natural Earth file the maps draw (node_modules/world-atlas, found through the
static files finders, as the browser gets it). TopoJSON stores each shared border once as a
delta-encoded, quantized "arc"; a ring lists the arcs it follows (a negative index ~i means
arc i reversed). Decoding is the few lines below. The PyPI decoders were passed over:
pytopojson (last release 2022) installs a top-level package named ``tests`` that would
shadow ours, and topojson-rs exposes its results through private enum wrappers.
"""

import json
from dataclasses import dataclass
from functools import lru_cache

from django.contrib.staticfiles import finders

WORLD_ATLAS = "vendor/world-atlas/countries-50m.json"

Ring = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class CountryShape:
    """One country of the atlas: its ISO 3166-1 numeric code (may be empty) and polygons."""

    numeric: str
    name: str
    polygons: tuple[tuple[Ring, ...], ...]  # each polygon: exterior ring, then holes


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Every arc as absolute [lng, lat] positions (undoing delta encoding and quantization)."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy, *_ in arc:
                x, y = x + dx, y + dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(p[0], p[1]) for p in arc]
        arcs.append(points)
    return arcs


def ring_from_arcs(indexes: list[int], arcs: list) -> Ring:
    """Join the arcs of one ring; consecutive arcs share their end point, kept once."""
    ring: list[tuple[float, float]] = []
    for index in indexes:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points[1:] if ring else points)
    return tuple(ring)


def country_shapes(topology: dict, object_name: str = "countries") -> list[CountryShape]:
    """The polygons of every Polygon/MultiPolygon geometry of one TopoJSON object."""
    arcs = decode_arcs(topology)
    shapes = []
    for geometry in topology["objects"][object_name]["geometries"]:
        if geometry.get("type") == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry.get("type") == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        shapes.append(
            CountryShape(
                numeric=str(geometry.get("id") or ""),
                name=(geometry.get("properties") or {}).get("name", ""),
                polygons=tuple(
                    tuple(ring_from_arcs(ring, arcs) for ring in polygon) for polygon in polygons
                ),
            )
        )
    return shapes


@lru_cache(maxsize=1)
def world_countries() -> tuple[CountryShape, ...]:
    """The installed world-atlas countries, decoded once per process."""
    path = finders.find(WORLD_ATLAS)
    if not path:
        raise FileNotFoundError(f"{WORLD_ATLAS} not found: run `npm ci` (scripts/setup.sh).")
    with open(path, encoding="utf-8") as handle:
        return tuple(country_shapes(json.load(handle)))
