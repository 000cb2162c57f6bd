"""The transparency portal's Action API, called like any remote CKAN: JSON over
HTTP with the sysadmin token of the portal, a timeout on every call. The token
comes from the config or the environment and never appears in a log line or an
error message."""

from __future__ import annotations

import http.client
import json
import os
import threading
import urllib.error
import urllib.request
from typing import Any

import ckan.plugins.toolkit as tk

TOKEN_ENV = "UDP_TRANSPARENCY_TOKEN"
URL_ENV = "UDP_TRANSPARENCY_URL"


def configured_url() -> str | None:
    """The portal's base URL: the environment (``UDP_TRANSPARENCY_URL``) before the config."""
    return os.environ.get(URL_ENV) or tk.config.get("ckanext.udp.transparency.url") or None


class PortalError(Exception):
    """A call that failed: ``status`` is the HTTP status (0: not reached)."""

    def __init__(self, action: str, status: int, error: Any) -> None:
        super().__init__(f"{action}: {'HTTP ' + str(status) if status else 'nicht erreichbar'}: {error}")
        self.action = action
        self.status = status
        self.error = error

    @property
    def not_found(self) -> bool:
        return self.status == 404


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # UnicodeDecodeError is one too
        return None


def _error_of(err: urllib.error.HTTPError) -> Any:
    """The Action API's ``error`` object of a failed call (None when the answer has none)."""
    try:
        answer = _json(err.read())
    except (OSError, http.client.HTTPException):
        return None
    return answer.get("error") if isinstance(answer, dict) else None


class Portal:
    def __init__(self, url: str, token: str, timeout: float = 20.0) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._orgs: dict[str, str] = {}
        self._org_lock = threading.Lock()

    def __repr__(self) -> str:  # never the token
        return f"Portal({self.url!r})"

    def redact(self, text: str) -> str:
        """``text`` with this portal's token blanked out (for log lines and stored errors)."""
        return text.replace(self._token, "***") if self._token else text

    @classmethod
    def from_config(cls) -> Portal | None:
        url = configured_url()
        if not url:
            return None
        token = os.environ.get(TOKEN_ENV) or tk.config.get("ckanext.udp.transparency.token") or ""
        return cls(url, token, float(tk.config.get("ckanext.udp.transparency.timeout") or 20))

    def call(self, action: str, **data: Any) -> Any:
        headers = {"Content-Type": "application/json", "User-Agent": "ckanext-udp transparency sync"}
        if self._token:
            headers["Authorization"] = self._token
        request = urllib.request.Request(
            f"{self.url}/api/3/action/{action}", data=json.dumps(data).encode(), method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as res:  # noqa: S310 (configured URL)
                body = res.read()
        except urllib.error.HTTPError as err:
            raise PortalError(action, err.code, _error_of(err)) from None
        except (OSError, http.client.HTTPException, ValueError) as err:
            # not reached, or the answer broke off (URLError and the socket's errors are
            # OSErrors; a cut answer is an http.client.IncompleteRead, a garbled one a BadStatusLine)
            raise PortalError(action, 0, type(err).__name__) from None
        answer = _json(body)
        if not isinstance(answer, dict) or "result" not in answer:
            # a proxy's HTML page or a JSON that is no Action API answer: the portal answered, uselessly
            raise PortalError(action, 502, "no Action API answer")
        return answer["result"]

    def show(self, id_or_name: str) -> dict[str, Any] | None:
        """The portal's dataset (deleted ones too, for its sysadmin), or None."""
        try:
            return self.call("package_show", id=id_or_name)
        except PortalError as err:
            if err.not_found:
                return None
            raise

    def find(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The portal's active copies (private ones too) among ``ids``, by id:
        one ``package_search`` (deleted copies are not in its index)."""
        if not ids:
            return {}
        quoted = " OR ".join(json.dumps(i) for i in ids)
        page = self.call(
            "package_search",
            q="*:*",
            fq=f"id:({quoted})",
            rows=len(ids),
            include_private=True,
            include_drafts=True,
        )
        return {pkg["id"]: pkg for pkg in page.get("results") or []}

    def search_all(self, fq: str, rows: int = 1000) -> dict[str, dict[str, Any]]:
        """Every active dataset of the portal matching ``fq``, by id, read in
        pages of ``rows`` through ``package_search`` (its sysadmin sees private
        ones too): one call per thousand copies instead of one per copy."""
        found: dict[str, dict[str, Any]] = {}
        start = 0
        while True:
            page = self.call(
                "package_search", q="*:*", fq=fq, rows=rows, start=start, sort="id asc", include_private=True
            )
            results = page.get("results") or []
            for pkg in results:
                found[pkg["id"]] = pkg
            start += len(results)
            if not results or start >= int(page.get("count") or 0):
                return found

    def organization(self, name: str, title: str, description: str = "") -> str:
        """The portal organization's name, created when missing (asked once per
        worker process and organization; calls from several threads wait)."""
        with self._org_lock:
            if name not in self._orgs:
                try:
                    org = self.call("organization_show", id=name)
                    if org.get("state") == "deleted":  # deleted there (not purged): its name is still taken
                        org = self.call("organization_patch", id=org["id"], state="active")
                    found = org["name"]
                except PortalError as err:
                    if not err.not_found:
                        raise
                    try:
                        found = self.call("organization_create", name=name, title=title, description=description)[
                            "name"
                        ]
                    except PortalError as create_err:
                        # created meanwhile by another deliverer: take that one. CKAN answers
                        # 409 when the other one's organization was committed before the
                        # check, 500 when both passed the check at once (the database's
                        # unique name refused the second insert)
                        if create_err.status != 409 and create_err.status < 500:
                            raise
                        try:
                            found = self.call("organization_show", id=name)["name"]
                        except PortalError:
                            raise create_err from None
                self._orgs[name] = found
            return self._orgs[name]

    def undelete_organization(self, name: str, org_id: str) -> None:
        """Make an organization deleted (not purged) on the portal active again;
        ``name`` is the cached name (forgotten first, so a failure here is asked
        afresh next time)."""
        self.forget_organization(name)
        org = self.call("organization_patch", id=org_id, state="active")
        if org.get("state") != "active":
            raise PortalError("organization_patch", 409, {"state": [f"organization {name} stays {org.get('state')}"]})
        with self._org_lock:
            self._orgs[name] = org["name"]

    def forget_organization(self, name: str) -> None:
        """Drop a cached organization (the portal refused it: deleted or purged there)."""
        with self._org_lock:
            self._orgs.pop(name, None)
