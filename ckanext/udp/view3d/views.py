"""The grid preview's image and data: ``/dataset/<id>/resource/<resource_id>/grid.png``
and ``.../grid.json`` (``?variable=<name>&time=<index>``).

Both answer only to whoever may see the resource (``package_show``'s auth:
the public sees published, open datasets only); a file that cannot be read
gets a 4xx with a message in the reader's language (German by default), never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
from flask import Blueprint, Response, jsonify

from ckanext.udp import compat
from ckanext.udp.view3d import grid, logic, shared

log = logging.getLogger(__name__)

blueprint = Blueprint("udp_grid", __name__)

ONLY_UPLOADS = "Only files uploaded to the portal are shown as a grid image."


def limits() -> tuple[int, int]:
    """Size caps (declared by ``udp_grid``: ``grid_config_declaration.yaml``)."""
    return (
        int(tk.config.get("ckanext.udp.grid.max_bytes") or 500 * 1024 * 1024),
        int(tk.config.get("ckanext.udp.grid.max_cells") or 25_000_000),
    )


def sandbox_limits() -> Any:
    """Limits of the child process that reads a grid file (``ckanext.udp.sandbox``)."""
    from ckanext.udp import sandbox

    seconds = int(tk.config.get("ckanext.udp.grid.seconds") or 30)
    return sandbox.Limits(
        memory_mb=int(tk.config.get("ckanext.udp.grid.memory_mb") or 1024),
        cpu_seconds=seconds,
        wall_seconds=2.0 * seconds,
        output_bytes=64 * sandbox.MB,
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def find_resource(dataset_id: str, resource_id: str) -> dict[str, Any]:
    """The resource, as its reader may see it; NotAuthorized / ObjectNotFound otherwise."""
    context = {"user": tk.current_user.name if tk.current_user else ""}
    dataset = tk.get_action("package_show")(context, {"id": dataset_id})
    for resource in dataset.get("resources") or []:
        if resource["id"] == resource_id:
            return resource
    raise tk.ObjectNotFound("resource")


def grid_slice(resource: dict[str, Any], variable: str | None, time: int) -> grid.Slice:
    """The rendered slice of ``resource`` (cached by id, last change, variable, time
    in this worker; the first time step also for every worker in Redis, ``shared``)."""
    if not logic.is_grid(resource):
        raise grid.GridError("This resource is no NetCDF or GeoTIFF file.", 404)
    path = compat.resource_upload_path(resource)
    if not path:
        raise grid.GridError(ONLY_UPLOADS, 404)
    # the key holds what is rendered, not what was asked: unknown variables and steps
    # fall back to the first, and must not each cost a fresh read of the file
    variables = grid_variables(resource)
    chosen = next((v for v in variables if v.name == variable), variables[0] if variables else None)
    if chosen is not None:
        variable = chosen.name
        if not (chosen.times and 0 <= time < len(chosen.times)):
            time = 0
    key = (resource["id"], grid.version(resource), variable or "", time)
    max_bytes, max_cells = limits()
    # the first time step of each variable (what the page shows first) is shared by the
    # workers; other steps stay in the worker that drew them (a bounded cache)
    return _cached(
        key,
        (*key, max_bytes, max_cells) if time == 0 else None,
        lambda: grid.render_outside(path, variable, time, max_bytes, max_cells, sandbox_limits()),
        shared.get_slice,
        shared.put_slice,
    )


def _cached(
    key: tuple[Any, ...],
    share: tuple[Any, ...] | None,
    read: Callable[[], Any],
    get_shared: Callable[[tuple[Any, ...]], Any],
    put_shared: Callable[[tuple[Any, ...], Any], None],
) -> Any:
    """The answer for ``key``: from this worker's cache, else (if ``share`` is given)
    from the one all workers share, else ``read()`` from the file and kept in both
    (a failure only in this worker's)."""
    cached = grid.CACHE.get(key)
    if cached is None:
        cached = get_shared(share) if share else None  # another worker read the file already
        if cached is None:
            try:
                cached = read()
            except grid.GridError as exc:
                cached = exc
            else:
                if share:
                    put_shared(share, cached)
        _keep(key, cached)
    return _unless_failed(cached)


def _keep(key: tuple[Any, ...], value: Any) -> None:
    """Cache an answer or a failure of the file (not a timeout: the machine may be busy)."""
    if not (isinstance(value, grid.GridError) and value.msgid == grid.TOO_LONG):
        grid.CACHE.put(key, value)


def _unless_failed(cached: Any) -> Any:
    """A cached answer; a cached failure is raised again (a copy: a file that failed is not
    read again, in a new child process, on every request)."""
    if isinstance(cached, grid.GridError):
        raise grid.GridError(cached.msgid, cached.status, **cached.params)
    return cached


def grid_variables(resource: dict[str, Any]) -> list[grid.Variable]:
    path = compat.resource_upload_path(resource)
    if not path:
        raise grid.GridError(ONLY_UPLOADS, 404)
    key = (resource["id"], grid.version(resource), "*variables*")
    max_bytes = limits()[0]
    found = _cached(
        key,
        (*key, max_bytes),  # a portal with a smaller limit sharing this Redis must not be handed this list
        lambda: grid.describe_outside(path, max_bytes, sandbox_limits()),
        shared.get_variables,
        shared.put_variables,
    )
    return list(found)


def _error(message: str, status: int, as_json: bool) -> Response:
    if as_json:
        response = jsonify({"error": message})
    else:
        response = Response(message, mimetype="text/plain; charset=utf-8")
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _serve(dataset_id: str, resource_id: str, as_json: bool) -> Response:
    args = tk.request.args
    try:
        resource = find_resource(dataset_id, resource_id)
        part = grid_slice(resource, args.get("variable"), _int(args.get("time")))
    except tk.NotAuthorized:
        return _error(tk._("You may not see this resource."), 403, as_json)
    except tk.ObjectNotFound:
        return _error(tk._("Resource not found"), 404, as_json)
    except grid.GridError as exc:
        return _error(exc.message, exc.status, as_json)
    except Exception:  # noqa: BLE001 (never a 500 for a file's content)
        log.exception("grid preview of resource %s failed", resource_id)
        return _error(tk._("The file cannot be shown as a grid image."), 422, as_json)
    if as_json:
        response = jsonify(
            {
                "variable": part.variable.name,
                "label": part.variable.title,
                "unit": part.variable.unit,
                "time": part.time,
                "times": part.variable.times,
                "stats": part.stats,
            }
        )
    else:
        response = Response(part.png, mimetype="image/png")
    # private data must not stay in shared caches
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def grid_png(id: str, resource_id: str) -> Response:  # noqa: A002 (CKAN's route parameter name)
    return _serve(id, resource_id, as_json=False)


def grid_json(id: str, resource_id: str) -> Response:  # noqa: A002
    return _serve(id, resource_id, as_json=True)


blueprint.add_url_rule("/dataset/<id>/resource/<resource_id>/grid.png", view_func=grid_png, methods=["GET"])
blueprint.add_url_rule("/dataset/<id>/resource/<resource_id>/grid.json", view_func=grid_json, methods=["GET"])
