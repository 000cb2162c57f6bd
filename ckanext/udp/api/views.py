"""Blueprint of ``udp_api``: the OpenAPI description, the bulk downloads and
the developer page."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import PackageNotFoundError, version

import ckan.plugins.toolkit as tk
from flask import Blueprint, Response, jsonify, send_file

from . import devpage, dumps, openapi

api_bp = Blueprint("udp_api", __name__)


def json_error(status: int, message: str) -> Response:
    response = jsonify({"success": False, "error": {"message": message, "__type": "Bad Request"}})
    response.status_code = status
    return response


def openapi_json() -> Response:
    try:
        release = version("ckanext-udp")
    except PackageNotFoundError:
        release = "0"
    return jsonify(openapi.document(tk.config.get("ckan.site_url"), release))


def dumps_index() -> Response:
    """What the bulk downloads hold and where they are."""
    manifest = dumps.manifest() or {"files": {}}
    site = tk.config.get("ckan.site_url").rstrip("/")
    return jsonify(
        {
            "built": manifest.get("built"),
            "datasets": manifest.get("datasets"),
            "tables": manifest.get("tables"),
            "files": [
                {"name": name, "url": f"{site}/api/udp/dumps/{name}", **manifest["files"].get(name, {})}
                for name in dumps.FILES
            ],
        }
    )


def dump_file(name: str) -> Response:
    if name not in dumps.FILES:
        return json_error(
            404, tk._("No such download; the downloads are: {names}").format(names=", ".join(dumps.FILES))
        )
    manifest = dumps.manifest()
    entry = (manifest or {}).get("files", {}).get(name)
    path = dumps.directory() / name
    if not entry or not path.exists():
        return json_error(404, tk._("This download has not been built yet"))
    built = dt.datetime.fromisoformat(manifest["built"])  # type: ignore[index]
    response = send_file(
        path,
        mimetype=dumps.FILES[name].split(";")[0],
        as_attachment=True,
        download_name=name,
        conditional=True,
        etag=entry["etag"],
        last_modified=built,
        max_age=0,
    )
    if dumps.FILES[name].endswith("utf-8"):
        response.headers["Content-Type"] = dumps.FILES[name]
    return response


def developers() -> str:
    return tk.render("udp_api/entwickler.html", extra_vars=devpage.page_data())


api_bp.add_url_rule("/entwickler", view_func=developers, endpoint="developers")
api_bp.add_url_rule("/api/udp/openapi.json", view_func=openapi_json, endpoint="openapi")
api_bp.add_url_rule("/api/udp/dumps", view_func=dumps_index, endpoint="dumps")
api_bp.add_url_rule("/api/udp/dumps/<name>", view_func=dump_file, endpoint="dump")
