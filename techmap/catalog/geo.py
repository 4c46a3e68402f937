"""Small geometry helpers: validating line geometry and bounding boxes."""


def _valid_position(pos) -> bool:
    return (
        isinstance(pos, (list, tuple))
        and len(pos) >= 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos[:2])
        and -180 <= pos[0] <= 180
        and -90 <= pos[1] <= 90
    )


def line_geometry_error(geometry) -> str | None:
    """Return why geometry is not a valid GeoJSON LineString/MultiLineString, or None."""
    if not isinstance(geometry, dict):
        return "Line geometry must be a GeoJSON object."
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "LineString":
        lines = [coords]
    elif kind == "MultiLineString":
        lines = coords if isinstance(coords, list) else None
    else:
        return "Line geometry must be a LineString or MultiLineString."
    if not lines:
        return "Line geometry has no coordinates."
    for line in lines:
        if not isinstance(line, list) or len(line) < 2:
            return "Every line needs at least two positions."
        if not all(_valid_position(p) for p in line):
            return "Positions must be [longitude, latitude] within range."
    return None


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse 'west,south,east,north' in degrees; raise ValueError with a readable message."""
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError("bbox must be four numbers: west,south,east,north")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise ValueError("bbox must be four numbers: west,south,east,north") from None
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise ValueError("bbox longitudes must be between -180 and 180")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise ValueError("bbox latitudes must be between -90 and 90")
    if south > north:
        raise ValueError("bbox south must not be greater than north")
    return west, south, east, north
