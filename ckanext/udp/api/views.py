"""Blueprint of ``udp_api``: the OpenAPI description."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import ckan.plugins.toolkit as tk
from flask import Blueprint, Response, jsonify

from . import openapi

api_bp = Blueprint("udp_api", __name__)


def openapi_json() -> Response:
    try:
        release = version("ckanext-udp")
    except PackageNotFoundError:
        release = "0"
    return jsonify(openapi.document(tk.config.get("ckan.site_url"), release))


api_bp.add_url_rule("/api/udp/openapi.json", view_func=openapi_json, endpoint="openapi")
