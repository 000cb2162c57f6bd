"""The stewards' quality view: a dataset's DCAT-AP.de RDF checked against the
official SHACL shapes, with the findings in German."""
from __future__ import annotations

from flask import Blueprint

import ckan.plugins.toolkit as tk

from ckanext.udp.dcatde import cli, validation

quality_bp = Blueprint("udp_dcatde", __name__)


def quality(id: str) -> str:
    try:
        tk.check_access("package_update", {}, {"id": id})
        pkg = tk.get_action("package_show")({}, {"id": id})
    except tk.ObjectNotFound:
        tk.abort(404, tk._("Dataset not found"))
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only the dataset's editors can see its quality check."))
    try:
        report = validation.validate(cli.dataset_graph(pkg))
    except validation.ShapesNotFound as e:
        tk.abort(503, tk._("The validation shapes are not installed: {error}").format(error=e))
    return tk.render("udp_dcatde/quality.html", {"pkg_dict": pkg, "pkg": pkg, "report": report})


quality_bp.add_url_rule("/dataset/<id>/qualitaet", view_func=quality, endpoint="quality")

__all__ = ["quality_bp"]
