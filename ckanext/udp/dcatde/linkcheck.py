"""The link check: which download addresses of a dataset answer.

Distributions that point outside the portal (not uploads, not the portal's
own DataStore dumps) are requested through the shared fetch policy
(:mod:`ckanext.udp.fetch`: http(s) only, public addresses unless allowed,
timeouts, a size cap). A distribution is **broken** when its address answers
4xx/5xx, does not resolve or does not answer in time. The result is kept in
CKAN's Redis per dataset (no edit of the dataset, so no new version and
nothing in the public API) and shown to the dataset's editors on its page.

Run it with ``ckan udp dcatde linkcheck`` (all datasets, or ``--dataset``),
synchronously or as background jobs (``--queue``): :func:`check_dataset_job`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlsplit

import ckan.plugins.toolkit as tk

from ckanext.udp import fetch, rediscache

log = logging.getLogger(__name__)

PREFIX = "udp:dcatde:links:"
#: how long a result is kept (a check older than this counts as not checked)
TTL = 14 * 24 * 3600
OK, BROKEN, UNCHECKED = "ok", "broken", "unchecked"
#: enough to know the address answers; the rest is not read
PROBE_BYTES = 64 * 1024


def is_external(url: str) -> bool:
    """Whether ``url`` points outside the portal (its own pages, uploads and
    DataStore dumps are not checked)."""
    if not url:
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return bool(parts.scheme)
    site = urlsplit(tk.config.get("ckan.site_url") or "")
    return (parts.scheme, parts.netloc) != (site.scheme, site.netloc)


def probe(url: str, fetcher: fetch.Fetcher) -> dict[str, Any]:
    """One address: {status: ok|broken|unchecked, kind, code}; the message
    is made when shown (:func:`reason`), in the reader's language."""
    try:
        res = fetcher.get(url, headers={"Range": "bytes=0-0"}, ok_statuses=range(200, 300))
        return {"status": OK, "kind": "answer", "code": res.status}
    except fetch.HTTPStatusError as e:
        return {"status": BROKEN, "kind": "http", "code": e.status}
    except fetch.TooLarge:
        return {"status": OK, "kind": "answer", "code": 200}
    except fetch.UnsafeURL as e:
        if "redirect" in e.reason:
            # redirected elsewhere (e.g. http -> https, another host): it answers
            return {"status": OK, "kind": "redirect", "code": 0}
        return {"status": UNCHECKED, "kind": "private", "code": 0}
    except fetch.Timeout:
        return {"status": BROKEN, "kind": "timeout", "code": 0}
    except fetch.FetchError:
        return {"status": BROKEN, "kind": "unreachable", "code": 0}


def reason(result: dict[str, Any]) -> str:
    """Why a checked address counts as broken (or was not checked), in German."""
    kind = result.get("kind")
    if kind == "http":
        return tk._("The address answers with HTTP {code}.").format(code=result.get("code"))
    if kind == "timeout":
        return tk._("The address does not answer in time.")
    if kind == "private":
        return tk._("Not checked: the address is not public.")
    return tk._("The address cannot be reached.")


def check_dataset(pkg: dict[str, Any], fetcher: fetch.Fetcher | None = None) -> dict[str, dict[str, Any]]:
    """Check every external distribution of ``pkg``; store and return
    {resource id: result}."""
    own = fetcher is None
    fetcher = fetcher or fetch.Fetcher(max_bytes=PROBE_BYTES)
    results: dict[str, dict[str, Any]] = {}
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    try:
        for res in pkg.get("resources") or []:
            url = res.get("url") or ""
            if res.get("url_type") or not is_external(url):
                continue
            results[res["id"]] = dict(probe(url, fetcher), url=url, checked=now)
    finally:
        if own:
            fetcher.close()
    rediscache.put(PREFIX + pkg["id"], results, TTL, timeout=2)
    return results


def results_for(pkg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stored results of ``pkg`` for addresses it still has (an address
    changed since the check is not reported)."""
    stored = rediscache.get(PREFIX + pkg["id"], timeout=2)
    if not isinstance(stored, dict):
        return {}
    urls = {r["id"]: r.get("url") for r in pkg.get("resources") or []}
    return {rid: r for rid, r in stored.items() if isinstance(r, dict) and urls.get(rid) == r.get("url")}


def broken_for_editors(pkg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The broken distributions of ``pkg``, for those who may edit it; {} for everyone else."""
    if not tk.h.check_access("package_update", {"id": pkg["id"]}):
        return {}
    return {rid: dict(r, reason=reason(r)) for rid, r in results_for(pkg).items() if r.get("status") == BROKEN}


def check_dataset_job(dataset_id: str) -> dict[str, dict[str, Any]]:
    """Background job: check one dataset (as the site user)."""
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    pkg = tk.get_action("package_show")({"user": site_user["name"], "ignore_auth": True}, {"id": dataset_id})
    return check_dataset(pkg)
