"""A second, stock CKAN 2.12 (``scripts/second_ckan.sh``) and its Action API.

    remote = second_ckan.start()          # starts it if needed (about 2 min the first time)
    remote.reset()                        # purge every dataset and organization
    org = remote.action("organization_create", name="uba", title="Umweltbundesamt")
    remote.action("package_create", name="luft", owner_org=org["id"], ...)
    remote.url                            # http://127.0.0.1:<port>

The portal's processes reach it over HTTP like any other remote CKAN; data
goes in through the Action API with the sysadmin's API token.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import urllib.error
import urllib.request
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "second_ckan.sh"


class RemoteError(Exception):
    def __init__(self, action: str, status: int, error: Any) -> None:
        super().__init__(f"{action}: HTTP {status}: {error}")
        self.status = status
        self.error = error


class SecondCkan:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def action(self, action: str, /, _anonymous: bool = False, **data: Any) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/3/action/{action}",
            data=json.dumps(data).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **({} if _anonymous else {"Authorization": self.token})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as res:
                return json.loads(res.read())["result"]
        except urllib.error.HTTPError as err:
            body = err.read()
            try:
                error = json.loads(body).get("error")
            except ValueError:
                error = body[:500]
            raise RemoteError(action, err.code, error) from None

    def reset(self) -> None:
        """Purge every dataset (drafts and private ones too) and organization."""
        while True:
            found = self.action(
                "package_search",
                q="*:*",
                rows=1000,
                include_private=True,
                include_drafts=True,
                include_deleted=True,
                fl="id",
            )
            if not found["results"]:
                break
            for pkg in found["results"]:
                self.action("dataset_purge", id=pkg["id"])
        for name in self.action("package_list"):
            self.action("dataset_purge", id=name)
        for org in self.action("organization_list"):
            self.action("organization_purge", id=org)


def _run(command: str) -> str:
    env = dict(os.environ)
    done = subprocess.run([str(SCRIPT), command], capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"second_ckan.sh {command} failed: {done.stderr[-2000:] or done.stdout[-2000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def start() -> SecondCkan:
    url = _run("start")
    return SecondCkan(url, _run("token"))


def stop() -> None:
    _run("stop")
