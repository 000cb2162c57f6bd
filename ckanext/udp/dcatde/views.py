"""Views of ``udp_dcatde``: the stewards' quality view and the guard of the
dataset form's second stage.

The quality view checks a dataset's DCAT-AP.de RDF against the official SHACL
shapes (``quality.py``, cached per dataset state in Redis), with the findings
in German: those the steward can act on for the dataset's editors, those about
values the portal sets (``findings.py``) for sysadmins only.

Stage 2 of a new dataset ("add data") is CKAN's resource form. CKAN lets
"finish" complete a dataset without any resource although
``ckan.dataset.create_on_ui_requires_resources`` is set; here "finish" with
neither a file nor a link, on a dataset that has no resource yet, answers
the form again with a clear error and leaves the dataset a draft. This
subclasses CKAN's resource CreateView (``ckan.views.resource``), the one CKAN
internal this module reaches (through :mod:`ckanext.udp.compat`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from flask import Blueprint, request

from ckanext.udp import compat
from ckanext.udp.dcatde import quality as quality_check
from ckanext.udp.dcatde import validation

quality_bp = Blueprint("udp_dcatde", __name__)

FINISH = ("go-metadata", "go-metadata-publish")
NOT_DATA = {"save", "id", "resource_type", "url_type", "_ckan_phase", "pkg_name"}


def quality(id: str) -> str:
    try:
        tk.check_access("package_update", {}, {"id": id})
        pkg = tk.get_action("package_show")({}, {"id": id})
    except tk.ObjectNotFound:
        tk.abort(404, tk._("Dataset not found"))
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only the dataset's editors can see its quality check."))
    try:
        checked = quality_check.check(pkg)
    except validation.ShapesNotFound as e:
        tk.abort(503, tk._("The validation shapes are not installed: {error}").format(error=e))
    try:
        tk.check_access("sysadmin", {})
        sysadmin = True
    except tk.NotAuthorized:
        sysadmin = False
    # findings about values the portal sets reach sysadmins only
    return tk.render(
        "udp_dcatde/quality.html",
        {
            "pkg_dict": pkg,
            "pkg": pkg,
            "report": checked.report,
            "mine": checked.mine,
            "portal": checked.portal if sysadmin else None,
            "portal_count": len(checked.portal.results),
        },
    )


def _data_provided() -> bool:
    csrf_field = tk.config.get("WTF_CSRF_FIELD_NAME")
    for key in request.form:
        if key in NOT_DATA or key == csrf_field:
            continue
        if any(v.strip() for v in request.form.getlist(key)):
            return True
    return any(f.filename for f in request.files.values())


if TYPE_CHECKING:
    from ckan.views.resource import CreateView as _CreateView
else:
    _CreateView = compat.resource_create_view()


class ResourceCreateView(_CreateView):
    """CKAN's resource form; "finish" needs at least one file or link."""

    def post(self, package_type: str, id: str) -> Any:
        if request.form.get("save") in FINISH and not _data_provided():
            try:
                pkg = tk.get_action("package_show")({"user": tk.current_user.name}, {"id": id})
            except (tk.ObjectNotFound, tk.NotAuthorized):
                pkg = None
            if pkg is not None and not pkg.get("resources"):
                return self.get(
                    package_type,
                    id,
                    data={},
                    errors={},
                    error_summary={
                        tk._("File or link"): tk._(
                            "Please add a file or a link: a dataset cannot be finished without data."
                        ),
                    },
                )
        return super().post(package_type, id)


def dump_filename(response: Any) -> Any:
    """A DataStore dump downloads named after its dataset
    (``bevoelkerung-nach-stadtteilen.csv``, not ``<resource id>.csv``); with
    several tables in a dataset, its name and the resource's position."""
    if request.endpoint != "datastore.dump" or response.status_code != 200:
        return response
    disposition = response.headers.get("Content-Disposition") or ""
    resource_id = (request.view_args or {}).get("resource_id") or ""
    if not resource_id or f'filename="{resource_id}.' not in disposition:
        return response
    # one package_show (resource_show would run it a second time)
    resource = model.Resource.get(resource_id)
    if resource is None:
        return response
    try:
        pkg = tk.get_action("package_show")({"ignore_auth": True}, {"id": resource.package_id})
    except (tk.ObjectNotFound, tk.ValidationError):
        return response
    resources = [r["id"] for r in pkg.get("resources") or []]
    tables = [r["id"] for r in pkg.get("resources") or [] if r.get("datastore_active")]
    if resource_id in tables:
        number = tables.index(resource_id) + 1
    else:
        number = resources.index(resource_id) + 1 if resource_id in resources else 1
    name = pkg["name"] if len(tables) <= 1 else f"{pkg['name']}-{number}"
    response.headers["Content-Disposition"] = disposition.replace(f'filename="{resource_id}.', f'filename="{name}.')
    return response


quality_bp.after_app_request(dump_filename)

quality_bp.add_url_rule("/dataset/<id>/qualitaet", view_func=quality, endpoint="quality")
# the same URL as CKAN's dataset_resource.new, registered first, so it wins
quality_bp.add_url_rule(
    "/dataset/<id>/resource/new",
    view_func=ResourceCreateView.as_view("resource_new"),
    defaults={"package_type": "dataset"},
)

__all__ = ["quality_bp"]
