"""Logic of ``udp_tables``: the loader's API token and the German load state."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
import flask
from ckan.types import Context

from ckanext.udp import compat

log = logging.getLogger(__name__)

TOKEN_OPTION = "ckanext.xloader.api_token"
_auto_token: dict[str, str] = {}


def _ensure_token() -> None:
    """Give xloader a token of the site user unless one is configured; make a
    new one when the last one no longer works (revoked, database reset)."""
    configured = tk.config.get(TOKEN_OPTION)
    if configured and configured != "NOT_SET" and configured != _auto_token.get("token"):
        return  # the operator's own token
    token = _auto_token.get("token")
    if token and compat.user_from_api_token(token) is not None:
        return
    token = _new_token()
    _auto_token["token"] = token
    tk.config[TOKEN_OPTION] = token


def _new_token() -> str:
    """A new API token of the site user, made in a thread of its own.

    xloader submits from inside the database commit of a resource change
    (its ``notify`` runs in SQLAlchemy's before_commit), and
    ``api_token_create`` commits: on the caller's session that raised
    IllegalStateChangeError and failed the resource save. A thread has its
    own scoped session, so the token is committed on its own connection."""
    import ckan.model as model  # the session registry

    result: dict[str, Any] = {}
    app = flask.current_app._get_current_object() if flask.has_app_context() else None  # type: ignore[attr-defined]

    def work() -> None:
        with app.app_context() if app is not None else contextlib.nullcontext():
            try:
                site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
                result["token"] = tk.get_action("api_token_create")(
                    {"ignore_auth": True, "user": site_user["name"]},
                    {"user": site_user["name"], "name": "udp-tables-xloader"},
                )["token"]
            except Exception as error:  # handed to the caller below
                result["error"] = error
            finally:
                model.Session.remove()

    thread = threading.Thread(target=work, name="udp-tables-token")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["token"]


@tk.chained_action
def xloader_submit(up: Callable[..., Any], context: Context, data_dict: dict[str, Any]) -> Any:
    _ensure_token()
    return up(context, data_dict)


def get_actions() -> dict[str, Any]:
    return {"xloader_submit": xloader_submit}


# --- the load state on the resource page -------------------------------------


def _reason(error: Any) -> str:
    """A German reason for an xloader error (its messages are English)."""
    text = error.get("message", "") if isinstance(error, dict) else str(error or "")
    code = None
    if isinstance(error, dict):
        code = error.get("status_code") or error.get("code")
    low = text.lower()
    if "could not be read as a table" in low or "could not be loaded" in low or "tabulator" in low:
        return tk._(
            "the file could not be read as a table. Please check that the first row has a "
            "heading for every column and that the file really is in the format its name says."
        )
    if "too large" in low or "datatoobig" in low:
        return tk._("the file is larger than the DataStore accepts.")
    if "timed out" in low or "timeout" in low:
        return tk._("loading took too long.")
    if "only http, https, and ftp" in low:
        return tk._("only files and links with http, https or ftp addresses can be loaded.")
    if "bad http response" in low or code:
        return tk._("the file could not be downloaded (answer {code}).").format(code=code or "?")
    if "url error" in low or "name or service not known" in low or "connection" in low:
        return tk._("the file could not be downloaded: its address cannot be reached.")
    if "error during the load into postgresql" in low or "datastore" in low:
        return tk._("a value in the file does not fit its column.")
    return tk._("an unexpected error occurred (see the DataStore tab for the technical details).")


def udp_table_status(res: dict[str, Any]) -> dict[str, str] | None:
    """The DataStore load state of a resource in German, for those who may
    edit its dataset: {state, text}; None when there is nothing to say."""
    try:
        tk.check_access("package_update", {"user": tk.current_user.name}, {"id": res.get("package_id")})
        status = tk.get_action("xloader_status")({"user": tk.current_user.name}, {"resource_id": res["id"]})
    except (tk.NotAuthorized, tk.ObjectNotFound, tk.ValidationError, KeyError):
        return None
    state = status.get("status")
    if state in ("submitting", "pending"):
        return {"state": "pending", "text": tk._("Data are being loaded (waiting for the loader) …")}
    if state == "running":
        return {"state": "running", "text": tk._("Data are being loaded …")}
    if state == "complete":
        return {"state": "complete", "text": tk._("The table is loaded: preview and DataStore API are available.")}
    if state == "error":
        return {
            "state": "error",
            "text": tk._("The file could not be read: {reason}").format(reason=_reason(status.get("error"))),
        }
    return None


def get_helpers() -> dict[str, Any]:
    return {"udp_table_status": udp_table_status}


__all__ = ["get_actions", "get_helpers", "udp_table_status", "xloader_submit"]
