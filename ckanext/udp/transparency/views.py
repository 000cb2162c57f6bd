"""The sysadmins' drift page ``/ckan-admin/transparenz``: both sides compared
(what is missing, extra or different on the transparency portal, field by
field; hand-edited copies; changes not yet pushed; tags the portal would refuse;
changes waiting after a failed delivery), with two buttons: queue every dataset
again, and take the hub's version over a hand-edited copy. Sysadmins only:
everyone else gets 403; the buttons are POST forms with CKAN's CSRF token."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context
from flask import Blueprint

from ckanext.udp.transparency import outbox, sync
from ckanext.udp.transparency.portal import Portal, PortalError

log = logging.getLogger(__name__)

transparency = Blueprint("udp_transparency", __name__)

KINDS = ("missing", "edited", "unpushed", "different", "extra", "tag", "waiting")


def _context() -> Context:
    return {"user": tk.current_user.name, "auth_user_obj": tk.current_user}


def _sysadmin_only() -> None:
    try:
        tk.check_access("sysadmin", _context())
    except tk.NotAuthorized:
        tk.abort(403, tk._("Only system administrators may see the transparency portal's comparison."))


def _log_unexpected(portal: Portal, what: str, err: BaseException) -> None:
    """The traceback of an error nobody expected, for the log only (the token blanked out)."""
    trace = portal.redact("".join(traceback.format_exception(err)))
    log.error("transparency: %s failed unexpectedly:\n%s", what, trace)


def headings() -> dict[str, str]:
    _ = tk._
    return {
        "missing": _("Missing on the transparency portal"),
        "edited": _("Edited by hand on the transparency portal"),
        "unpushed": _("Changed on the data hub, not yet transferred"),
        "different": _("Different on the transparency portal"),
        "extra": _("On the transparency portal but not public on the data hub"),
        "tag": _("Tags the transparency portal does not accept as they are"),
        "waiting": _("Changes waiting after a failed transfer"),
    }


def _grouped(found: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Items by kind, then by dataset (in the order found)."""
    groups: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
    for item in found:
        entry = groups[item["kind"]].setdefault(
            item["package_id"] or item["dataset"],
            {"package_id": item["package_id"], "dataset": item["dataset"], "title": item["title"], "fields": []},
        )
        if item["field"] or item["kind"] == "waiting":
            entry["fields"].append(item)
    return {kind: list(groups[kind].values()) for kind in KINDS}


@transparency.route("/ckan-admin/transparenz")
def drift() -> Any:
    _sysadmin_only()
    portal = Portal.from_config()
    extra: dict[str, Any] = {
        "portal_url": portal.url if portal else None,
        "hub_wins": sync.hub_wins(),
        "pending": outbox.pending(),
        "live": len(sync.live_ids()),
        "error": None,
        "groups": {},
        "count": 0,
        "headings": headings(),
    }
    if portal is not None:
        try:
            found = sync.report(portal)
        except PortalError as err:
            extra["error"] = tk._(
                "The transparency portal could not be reached ({status}). Please try again later."
            ).format(status=f"HTTP {err.status}" if err.status else tk._("no answer"))
        except Exception as err:  # noqa: BLE001 (a German message on the page, the traceback in the log)
            sync.rollback()
            _log_unexpected(portal, "the comparison", err)
            extra["error"] = tk._(
                "The comparison with the transparency portal failed unexpectedly; the details are in the log."
            )
        else:
            extra["groups"] = _grouped(found)
            extra["count"] = len(found)
    return tk.render("udp_transparency/drift.html", extra)


@transparency.route("/ckan-admin/transparenz/push", methods=["POST"])
def push_all() -> Any:
    """Queue every public dataset and every copy on the portal for transfer again."""
    _sysadmin_only()
    if Portal.from_config() is None:
        tk.h.flash_error(tk._("No transparency portal is configured."))
        return tk.redirect_to("udp_transparency.drift")
    ids = sync.hub_public_ids()
    ids += [pid for pid in sync.live_ids() if pid not in set(ids)]
    outbox.enqueue(ids)
    sync.commit()
    tk.h.flash_success(tk._("{n} datasets are queued for transfer.").format(n=len(ids)))
    return tk.redirect_to("udp_transparency.drift")


@transparency.route("/ckan-admin/transparenz/reconcile", methods=["POST"])
def reconcile() -> Any:
    """Bring one dataset's copy in step now, the hub's version over any hand edit."""
    _sysadmin_only()
    portal = Portal.from_config()
    package_id = (tk.request.form.get("id") or "").strip()
    if portal is None:
        tk.h.flash_error(tk._("No transparency portal is configured."))
        return tk.redirect_to("udp_transparency.drift")
    if not package_id or (sync.mapping_row(package_id) is None and package_id not in sync.hub_public_ids()):
        tk.h.flash_error(tk._("This dataset is unknown to the transfer."))
        return tk.redirect_to("udp_transparency.drift")
    try:
        sync.sync_dataset(portal, package_id, force=True, wait=15)
    except Exception as err:  # noqa: BLE001 (every failure: a German message, the change queued again)
        sync.rollback()
        if isinstance(err, PortalError):
            message = tk._("The transfer failed ({status}); the change stays queued.").format(
                status=f"HTTP {err.status}" if err.status else tk._("no answer")
            )
        else:
            _log_unexpected(portal, f"bringing {package_id} in step", err)
            message = tk._("The transfer failed unexpectedly; the change stays queued. The details are in the log.")
        try:
            outbox.enqueue([package_id])
            sync.commit()
        except Exception as queue_err:  # noqa: BLE001 (the database itself failed: say so, log it)
            sync.rollback()
            _log_unexpected(portal, f"queueing {package_id} again", queue_err)
            message = tk._("The transfer failed and the change could not be queued again; the details are in the log.")
        tk.h.flash_error(message)
    else:
        outbox.release(package_id)
        sync.commit()
        tk.h.flash_success(tk._("The data hub's version was transferred."))
    return tk.redirect_to("udp_transparency.drift")
