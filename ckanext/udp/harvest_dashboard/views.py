"""The German harvest dashboard: ``/dashboard/harvest`` (the sources a steward
manages with their last runs), ``/dashboard/harvest/new`` (add a source),
``/dashboard/harvest/<id>`` (one source's runs with every error) and the
"run now" button. Everything goes through the actions, so the pages show what
the API shows and no more."""

from __future__ import annotations

import json
import uuid
from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context
from flask import Blueprint

from ckanext.udp import compat
from ckanext.udp.harvest.interfaces import ACCESS_KEY, STATE_KEY

harvest_dashboard = Blueprint("udp_harvest", __name__)

FREQUENCIES = ("MANUAL", "DAILY", "WEEKLY", "BIWEEKLY", "MONTHLY")
STATES = ("draft", "in_review", "published")
ACCESS_CLASSES = ("open", "internal", "restricted")


def _context() -> Context:
    return {"user": tk.current_user.name, "auth_user_obj": tk.current_user}


def labels() -> dict[str, dict[str | None, str]]:
    """German labels (through the translations) of the codes the pages show."""
    _ = tk._
    return {
        "state": {"draft": _("Draft"), "in_review": _("In review"), "published": _("Published"), None: _("Draft")},
        "access": {
            "open": _("Open"),
            "internal": _("Internal"),
            "restricted": _("Restricted"),
            None: _("Portal default"),
        },
        "frequency": {
            "MANUAL": _("Manually"),
            "DAILY": _("Daily"),
            "WEEKLY": _("Weekly"),
            "BIWEEKLY": _("Every two weeks"),
            "MONTHLY": _("Monthly"),
            "ALWAYS": _("Continuously"),
        },
        "status": {"New": _("Waiting"), "Running": _("Running"), "Finished": _("Finished")},
        "stage": {"Gather": _("Reading the source"), "Fetch": _("Fetching"), "Import": _("Import")},
    }


def _harvester_types() -> list[dict[str, str]]:
    try:
        infos = tk.get_action("harvesters_info_show")(_context(), {})
    except tk.NotAuthorized:
        infos = []
    return sorted(
        ({"name": i["name"], "title": tk._(i.get("title") or i["name"])} for i in infos),
        key=lambda i: (not i["name"].startswith("udp_"), i["title"]),
    )


def _type_titles() -> dict[str, str]:
    return {t["name"]: t["title"] for t in _harvester_types()}


def _organizations() -> list[dict[str, Any]]:
    return tk.get_action("organization_list_for_user")(_context(), {"permission": "create_dataset"})


@harvest_dashboard.route("/dashboard/harvest")
def dashboard() -> Any:
    if tk.current_user.is_anonymous:
        return tk.abort(403, tk._("You must be logged in."))
    sources = tk.get_action("udp_harvest_sources")(_context(), {"runs": 5})
    return tk.render(
        "udp_harvest/dashboard.html", {"sources": sources, "labels": labels(), "type_titles": _type_titles()}
    )


@harvest_dashboard.route("/dashboard/harvest/new", methods=["GET", "POST"])
def new() -> Any:
    if tk.current_user.is_anonymous:
        return tk.abort(403, tk._("You must be logged in."))
    organizations = _organizations()
    if not organizations:
        return tk.abort(403, tk._("You are not an editor of any organization."))
    form = {
        "title": "",
        "url": "",
        "source_type": "udp_dcat",
        "owner_org": organizations[0]["id"],
        "state": "draft",
        "access": "",
        "frequency": "MANUAL",
        "config": "",
    }
    errors: dict[str, list[str]] = {}
    if tk.request.method == "POST":
        form.update({k: (tk.request.form.get(k) or "").strip() for k in form})
        data, errors = _source_data(form)
        if not errors:
            try:
                source = tk.get_action("harvest_source_create")(_context(), data)
            except tk.ValidationError as err:
                errors = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in err.error_dict.items()}
            except tk.NotAuthorized:
                errors = {"owner_org": [tk._("You may not add sources for this organization.")]}
            else:
                tk.h.flash_success(tk._("The source was added."))
                return tk.redirect_to("udp_harvest.source", id=source["id"])
    return tk.render(
        "udp_harvest/new.html",
        {
            "form": form,
            "errors": errors,
            "types": _harvester_types(),
            "organizations": organizations,
            "frequencies": FREQUENCIES,
            "states": STATES,
            "access_classes": ACCESS_CLASSES,
            "labels": labels(),
        },
    )


def _source_data(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if not form["title"]:
        errors["title"] = [tk._("Please enter a title.")]
    if not form["url"]:
        errors["url"] = [tk._("Please enter the address of the source.")]
    config: Any = {}
    if form["config"]:
        try:
            config = json.loads(form["config"])
        except ValueError:
            config = None
        if not isinstance(config, dict):
            errors["config"] = [tk._('Further settings must be a JSON object, e.g. {"max_pages": 50}.')]
            config = {}
    if form["state"] not in STATES:
        errors["state"] = [tk._("Please choose a state.")]
    if form["frequency"] not in FREQUENCIES:
        errors["frequency"] = [tk._("Please choose how often.")]
    config[STATE_KEY] = form["state"]
    if form["access"] in ACCESS_CLASSES:
        config[ACCESS_KEY] = form["access"]
    name = (compat.munge_name(form["title"])[:80].strip("-") or "quelle") + "-" + uuid.uuid4().hex[:6]
    return {
        "name": name,
        "title": form["title"],
        "url": form["url"],
        "source_type": form["source_type"],
        "owner_org": form["owner_org"],
        "frequency": form["frequency"],
        "config": json.dumps(config, ensure_ascii=False),
    }, errors


@harvest_dashboard.route("/dashboard/harvest/<id>")
def source(id: str) -> Any:
    try:
        shown = tk.get_action("udp_harvest_source_runs")(_context(), {"id": id, "limit": 10})
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Harvest source not found"))
    except tk.NotAuthorized:
        return tk.abort(403, tk._("Only editors of the source's organization may see its runs."))
    return tk.render("udp_harvest/source.html", {"source": shown, "labels": labels(), "type_titles": _type_titles()})


@harvest_dashboard.route("/dashboard/harvest/<id>/run", methods=["POST"])
def run_now(id: str) -> Any:
    try:
        tk.get_action("udp_harvest_run_now")(_context(), {"id": id})
        tk.h.flash_success(tk._("The run was queued; its results appear here when it is done."))
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Harvest source not found"))
    except tk.NotAuthorized:
        return tk.abort(403, tk._("Only editors of the source's organization may run it."))
    except tk.ValidationError as err:
        tk.h.flash_error(" ".join(str(m) for v in err.error_dict.values() for m in (v if isinstance(v, list) else [v])))
    return tk.redirect_to("udp_harvest.source", id=id)


__all__ = ["harvest_dashboard", "labels"]
