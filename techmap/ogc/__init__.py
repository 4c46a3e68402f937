"""OGC API - Features: the published entries and cables for GIS clients (QGIS, ArcGIS, GDAL)."""
