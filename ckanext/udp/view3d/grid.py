"""The grid preview: one variable and time step of a NetCDF file or one band
of a GeoTIFF as a PNG, with its statistics for the legend and the text
alternative.

Bounded work per request: the file must be at most ``max_bytes`` large, a grid
at most ``max_cells`` cells; one slice is read, thinned by a stride to at most
``MAX_SIDE`` pixels a side. Results are kept in a small in-process cache keyed
by resource id, its last change, variable and time step (and for the other
workers in Redis: ``shared``). Every failure to read
is a :class:`GridError`: an English message id with parameters (translated
when it is shown, German by default) and an HTTP status (4xx).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from PIL import Image

MAX_SIDE = 800
CACHE_SIZE = 64
#: anchor colours of the colour scale (viridis-like: dark blue, teal, green, yellow), low to high
ANCHORS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
SPATIAL_NAMES = ("lat", "latitude", "y", "rlat", "northing")
BROKEN = "The file is damaged or incomplete and cannot be read."
NO_VARIABLE = "The file holds no grid variable that could be shown as an image."
TOO_MANY_CELLS = "The grid has {cells} cells, more than the {limit} shown."
#: a file whose reading exceeded the limits of the child process (``ckanext.udp.sandbox``)
TOO_MUCH_MEMORY = "Reading the file needed more than {limit} MB of memory; it is not shown as an image."
TOO_LONG = "Reading the file took longer than {seconds} seconds; it is not shown as an image."
TOO_MUCH_OUTPUT = "The image of the grid is larger than {limit} MB; it is not shown."
CRASHED = "The reader of the file ended unexpectedly; it is not shown as an image."


class GridError(Exception):
    """A file the preview cannot show: ``msgid`` (English, in the ``ckanext-udp-grid``
    catalogue) with ``params``, and the HTTP status to answer with."""

    def __init__(self, msgid: str, status: int = 422, **params: Any) -> None:
        super().__init__(msgid, status, params)
        self.msgid = msgid
        self.status = status
        self.params = params

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries (pickled) whole
        return (_grid_error, (self.msgid, self.status, self.params))

    @property
    def message(self) -> str:
        """The message in the reader's language (German by default)."""
        return translate(self.msgid).format(**{k: number(v) for k, v in self.params.items()})


def _grid_error(msgid: str, status: int, params: dict[str, Any]) -> GridError:
    return GridError(msgid, status, **params)


def translate(msgid: str) -> str:
    """``msgid`` in the current request's language; the msgid itself outside a request."""
    import ckan.plugins.toolkit as tk

    try:
        return str(tk._(msgid))
    except (RuntimeError, TypeError, KeyError):
        return msgid


def number(value: Any) -> Any:
    """Whole numbers grouped as the reader's language writes them (2.400 in German)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    import ckan.plugins.toolkit as tk
    from babel.numbers import format_decimal

    try:
        lang = str(tk.h.lang() or "en")
    except (RuntimeError, TypeError, AttributeError, KeyError):
        lang = "en"
    return format_decimal(value, locale=lang)


@dataclass
class Variable:
    name: str
    label: str
    unit: str
    times: list[str] = field(default_factory=list)
    #: a GeoTIFF band's number (its label is then "Band n" in the reader's language)
    band: int | None = None

    @property
    def title(self) -> str:
        if self.band is not None:
            return translate("Band {number}").format(number=self.band)
        return self.label


@dataclass
class Slice:
    variable: Variable
    time: int
    png: bytes
    stats: dict[str, Any]


def colour_table() -> np.ndarray:
    """256 RGB colours interpolated between the anchors."""
    anchors = np.array(ANCHORS, dtype=float)
    positions = np.linspace(0, 1, len(anchors))
    steps = np.linspace(0, 1, 256)
    return np.stack([np.interp(steps, positions, anchors[:, c]) for c in range(3)], axis=1).astype(np.uint8)


COLOURS = colour_table()


def legend_gradient() -> str:
    """The CSS gradient of the legend (the same anchors as the image)."""
    stops = ", ".join(f"rgb{a}" for a in ANCHORS)
    return f"linear-gradient(to right, {stops})"


def sniff(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(NETCDF_MAGIC):
        return "netcdf"
    if head[:4] in TIFF_MAGIC:
        return "geotiff"
    raise GridError("The file is neither NetCDF nor GeoTIFF.")


def _check_size(path: str, max_bytes: int) -> None:
    try:
        size = os.path.getsize(path)
    except OSError:
        raise GridError("The file is missing.", 404) from None
    if size > max_bytes:
        raise GridError(
            "The file has {size} MB, more than the {limit} MB shown as an image.",
            413,
            size=round(size / 1e6),
            limit=round(max_bytes / 1e6),
        )


# --- NetCDF ---------------------------------------------------------------------


def _nc_times(ds: Any, dim: str) -> list[str]:
    import netCDF4

    size = len(ds.dimensions[dim])
    var: Any = ds.variables.get(dim)
    if var is not None and " since " in str(getattr(var, "units", None) or ""):
        try:
            calendar: str = getattr(var, "calendar", None) or "standard"
            dates: Any = netCDF4.num2date(var[:], var.units, calendar)
            return [d.strftime("%d.%m.%Y %H:%M") for d in np.ravel(dates)]
        except Exception:  # noqa: BLE001 (an unusual calendar: the steps are numbered)
            pass
    return [str(i + 1) for i in range(size)]


def _nc_variables(ds: Any) -> list[tuple[Variable, Any]]:
    found = []
    for name, var in ds.variables.items():
        if name in ds.dimensions or var.ndim < 2 or var.ndim > 4 or getattr(var.dtype, "kind", "") not in "iuf":
            continue
        times = _nc_times(ds, var.dimensions[0]) if var.ndim >= 3 else []
        label = str(getattr(var, "long_name", "") or getattr(var, "standard_name", "") or name)
        found.append((Variable(name, label, str(getattr(var, "units", "") or ""), times), var))
    return found


def _nc_slice(ds: Any, var: Any, time: int, max_cells: int) -> np.ndarray:
    ny, nx = var.shape[-2:]
    if ny * nx > max_cells:
        raise GridError(TOO_MANY_CELLS, 413, cells=ny * nx, limit=max_cells)
    step = max(1, int(np.ceil(max(ny, nx) / MAX_SIDE)))
    index: tuple[Any, ...] = (slice(None, None, step), slice(None, None, step))
    if var.ndim == 4:
        index = (time, 0, *index)
    elif var.ndim == 3:
        index = (time, *index)
    data: np.ndarray = np.ma.filled(np.ma.masked_invalid(np.ma.asarray(var[index], dtype=float)), np.nan)
    # north up: rows of a grid whose y axis grows northwards are turned over
    ydim = var.dimensions[-2]
    yvar = ds.variables.get(ydim)
    if yvar is not None and yvar.ndim == 1 and len(yvar) > 1 and float(yvar[-1]) > float(yvar[0]):
        data = data[::-1]
    return np.asarray(data)


# --- GeoTIFF --------------------------------------------------------------------


def _tiff_read(path: str, band: int, max_cells: int) -> tuple[list[Variable], np.ndarray | None]:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        shape = page.shape
        if page.samplesperpixel > 1 and page.planarconfig == 1:  # contiguous samples: (y, x, band)
            ny, nx, bands = shape[0], shape[1], shape[2]
        elif len(shape) == 3:
            bands, ny, nx = shape
        else:
            (ny, nx), bands = shape[-2:], 1
        variables = [Variable(f"band{i + 1}", f"band {i + 1}", "", band=i + 1) for i in range(bands)]
        if band < 0:
            return variables, None
        if ny * nx * bands > max_cells:  # the page is read whole, every band of it
            cells = ny * nx * bands
            raise GridError(TOO_MANY_CELLS, 413, cells=cells, limit=max_cells)
        data = np.asarray(page.asarray(), dtype=float)
        nodata = page.tags.get("GDAL_NODATA")
    if data.ndim == 3:
        data = data[:, :, band] if page.planarconfig == 1 and page.samplesperpixel > 1 else data[band]
    if nodata is not None:
        try:
            data[data == float(str(nodata.value).strip("\x00 "))] = np.nan
        except ValueError:
            pass
    step = max(1, int(np.ceil(max(data.shape) / MAX_SIDE)))
    return variables, data[::step, ::step]


# --- both -----------------------------------------------------------------------


def describe(path: str, max_bytes: int) -> list[Variable]:
    """The variables (NetCDF) or bands (GeoTIFF) a file offers."""
    _check_size(path, max_bytes)
    kind = sniff(path)
    try:
        if kind == "netcdf":
            import netCDF4

            with netCDF4.Dataset(path, "r") as ds:
                variables = [v for v, _ in _nc_variables(ds)]
        else:
            variables, _ = _tiff_read(path, -1, 1)
    except (GridError, MemoryError):
        raise
    except Exception:  # noqa: BLE001 (any reader error of a broken file is the file's fault)
        raise GridError(BROKEN) from None
    if not variables:
        raise GridError(NO_VARIABLE)
    return variables


def render(path: str, variable: str | None, time: int, max_bytes: int, max_cells: int) -> Slice:
    _check_size(path, max_bytes)
    kind = sniff(path)
    try:
        if kind == "netcdf":
            import netCDF4

            with netCDF4.Dataset(path, "r") as ds:
                found = _nc_variables(ds)
                if not found:
                    raise GridError(NO_VARIABLE)
                chosen = next((item for item in found if item[0].name == variable), found[0])
                var_info, var = chosen
                if var_info.times and not 0 <= time < len(var_info.times):
                    time = 0
                data = _nc_slice(ds, var, time if var_info.times else 0, max_cells)
        else:
            variables, _ = _tiff_read(path, -1, 1)
            var_info = next((v for v in variables if v.name == variable), variables[0])
            _, tiff_data = _tiff_read(path, variables.index(var_info), max_cells)
            assert tiff_data is not None
            data, time = tiff_data, 0
    except (GridError, MemoryError):
        raise
    except Exception:  # noqa: BLE001
        raise GridError(BROKEN) from None
    return Slice(var_info, time, to_png(data), statistics(data, var_info.unit))


# --- in a limited child process (ckanext.udp.sandbox) --------------------------------


def _error_json(exc: GridError) -> dict[str, Any]:
    return {"error": {"msgid": exc.msgid, "status": exc.status, "params": exc.params}}


def describe_json(path: str, max_bytes: int) -> dict[str, Any]:
    """:func:`describe` as JSON values: what the child process runs."""
    try:
        return {"variables": variables_to_json(describe(path, max_bytes))}
    except GridError as exc:
        return _error_json(exc)


def render_json(path: str, variable: str | None, time: int, max_bytes: int, max_cells: int) -> dict[str, Any]:
    """:func:`render` as JSON values (the PNG in base64): what the child process runs."""
    try:
        part = render(path, variable, time, max_bytes, max_cells)
    except GridError as exc:
        return _error_json(exc)
    return slice_to_json(part)


def slice_to_json(part: Slice) -> dict[str, Any]:
    """A slice as JSON values (the PNG in base64), for the child process's answer and the shared cache."""
    return {
        "variable": asdict(part.variable),
        "time": part.time,
        "png": base64.b64encode(part.png).decode("ascii"),
        "stats": part.stats,
    }


def slice_from_json(answer: dict[str, Any]) -> Slice:
    """:func:`slice_to_json` read back (``KeyError``, ``TypeError`` or ``ValueError`` if it is no slice)."""
    return Slice(Variable(**answer["variable"]), int(answer["time"]), base64.b64decode(answer["png"]), answer["stats"])


def variables_to_json(variables: list[Variable]) -> list[dict[str, Any]]:
    return [asdict(v) for v in variables]


def variables_from_json(answer: list[dict[str, Any]]) -> list[Variable]:
    """:func:`variables_to_json` read back (``TypeError`` if they are no variables)."""
    return [Variable(**v) for v in answer]


def _outside(call: str, kwargs: dict[str, Any], limits: Any) -> dict[str, Any]:
    from ckanext.udp import sandbox

    try:
        answer = sandbox.run(f"{__name__}:{call}", kwargs, limits)
    except sandbox.LimitExceeded as exc:
        lim = exc.limits
        if exc.reason == "memory":
            raise GridError(TOO_MUCH_MEMORY, 422, limit=lim.memory_mb) from None
        if exc.reason == "time":
            raise GridError(TOO_LONG, 422, seconds=round(min(lim.cpu_seconds, lim.wall_seconds))) from None
        if exc.reason == "output":
            raise GridError(TOO_MUCH_OUTPUT, 422, limit=round(lim.output_bytes / 2**20)) from None
        raise GridError(CRASHED, 422) from None
    if not isinstance(answer, dict):
        raise GridError(CRASHED, 422)
    if "error" in answer:
        error = answer["error"]
        raise GridError(str(error["msgid"]), int(error["status"]), **dict(error.get("params") or {}))
    return answer


def describe_outside(path: str, max_bytes: int, limits: Any) -> list[Variable]:
    """:func:`describe` in a child process with ``limits`` (``sandbox.Limits``)."""
    answer = _outside("describe_json", {"path": path, "max_bytes": max_bytes}, limits)
    return variables_from_json(answer["variables"])


def render_outside(path: str, variable: str | None, time: int, max_bytes: int, max_cells: int, limits: Any) -> Slice:
    """:func:`render` in a child process with ``limits`` (``sandbox.Limits``)."""
    kwargs = {"path": path, "variable": variable, "time": time, "max_bytes": max_bytes, "max_cells": max_cells}
    return slice_from_json(_outside("render_json", kwargs, limits))


def statistics(data: np.ndarray, unit: str) -> dict[str, Any]:
    valid = data[np.isfinite(data)]
    if not valid.size:
        return {"cells": int(data.size), "valid": 0, "unit": unit, "min": None, "max": None, "mean": None}
    return {
        "cells": int(data.size),
        "valid": int(valid.size),
        "unit": unit,
        "min": float(valid.min()),
        "max": float(valid.max()),
        "mean": float(valid.mean()),
    }


def to_png(data: np.ndarray) -> bytes:
    """The grid in the colour scale from its minimum to its maximum; no value: transparent."""
    finite = np.isfinite(data)
    rgba = np.zeros((*data.shape, 4), dtype=np.uint8)
    if finite.any():
        low, high = float(data[finite].min()), float(data[finite].max())
        scaled = np.zeros(data.shape)
        if high > low:
            scaled[finite] = (data[finite] - low) / (high - low)
        index = np.clip((scaled * 255).round(), 0, 255).astype(np.uint8)
        rgba[..., :3] = COLOURS[index]
        rgba[..., 3] = np.where(finite, 255, 0)
    image = Image.fromarray(rgba, "RGBA")
    # small grids are scaled up (nearest neighbour: cells stay cells)
    factor = max(1, 400 // max(image.size))
    if factor > 1:
        image = image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


class Cache:
    """A small LRU cache of rendered slices and variable lists, shared by the threads of a worker."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


CACHE = Cache()


def version(resource: dict[str, Any]) -> str:
    return str(resource.get("last_modified") or resource.get("metadata_modified") or dt.date.min)
