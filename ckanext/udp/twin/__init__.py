"""The 3D climate twin's data backbone (plugin ``udp_twin``): 3D city models (CityJSON,
CityGML, 3D Tiles, glTF/GLB), climate grids (NetCDF, GeoTIFF) and the 2D services behind
them (WMS, WFS, WMTS, OGC API) are recognised and typed in DCAT-AP.de; what a file says
of its reference system, level of detail and extent is recorded (``probe.py``, read once
at upload, size-capped); the extent feeds the dataset's spatial coverage when it has none
(``coverage.py``); ``ckan udp twin demo`` generates and uploads the demo data (``demo.py``).
"""
