"""The developer page ``/entwickler``: German, accessible, fits 375 px, and
every example on it runs against the demo data as it stands on the page.

The examples are read back from the page the portal serves (``code[data-example]``)
and run: shell examples with bash (curl, ckanapi with the virtual environment's
bin folder on PATH, as the page says), Python ones with this interpreter
(requests, ckanapi, pandas, rdflib), R ones with ``Rscript``. Each one's output
is checked against what the portal holds."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
from browserlib import assert_fits
from udp_testing import sensor_series

from ckanext.udp.api import devpage
from ckanext.udp.portal import demo

BIN = pathlib.Path(sys.executable).parent


def _run(lang: str, code: str, cwd: pathlib.Path) -> str:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    command = {
        "bash": ["bash", "-e", "-o", "pipefail", "-c", code],
        "python": [sys.executable, "-c", code],
        "r": ["Rscript", "-e", code],
    }[lang]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{lang} example failed ({done.returncode}):\n{code}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _first_int(text: str) -> int:
    match = re.search(r"\d+", text)
    assert match, text
    return int(match.group())


def _checks(url: str) -> dict[str, Callable[[str], Any]]:
    """What each example must print, from what the portal holds."""
    anon = {"user": ""}
    search = tk.get_action("package_search")
    public = search(anon, {"rows": 1000})
    count = public["count"]
    resources = sum(len(d["resources"]) for d in public["results"])
    trees = search(anon, {"q": "Bäume", "rows": 5})
    playgrounds = search(anon, {"q": "Spielplätze", "rows": 5})
    title = tk.get_action("package_show")(anon, {"id": "stadtteile-karlsruhe"})["title"]
    sensor = tk.config.get("ckanext.udp.api.example_sensor_dataset")
    import urllib.request

    with urllib.request.urlopen(f"{url}/dataset/{sensor}/sensors/observations.csv?from=2026-06-15&to=2026-06-16") as r:
        observations = len(r.read().decode().strip().splitlines()) - 1
    assert observations > 0

    def api_json(out: str) -> dict[str, Any]:
        data = json.loads(out)
        assert data["success"] is True
        result: dict[str, Any] = data["result"]
        return result

    return {
        "api-curl": lambda out: "baumkataster" in [d["name"] for d in api_json(out)["results"]],
        "api-requests": lambda out: out.startswith(f"{trees['count']} Treffer") and "baumkataster" in out,
        "api-ckanapi": lambda out: out.splitlines()[0] == title and "/datastore/dump/" in out,
        "api-r": lambda out: out.startswith(f"{playgrounds['count']} Treffer") and "spielplaetze" in out,
        "datastore-curl": lambda out: any(r["stadtteil"] == "Durlach" for r in api_json(out)["records"]),
        "datastore-requests": lambda out: out.startswith("Durlach "),
        "datastore-pandas": lambda out: out.startswith("27 Zeilen"),
        "datastore-r": lambda out: out.startswith("27 Zeilen"),
        "sensor-curl": lambda out: len(out.strip().splitlines()) >= 2,
        "sensor-poll": lambda out: _first_int(out) == observations and "\n0 neu angekommen" in out,
        "sensor-pandas": lambda out: _first_int(out) > 0 and "Stundenwerte" in out,
        "dcat-curl": lambda out: int(out.strip()) == min(5, count),
        "dcat-rdflib": lambda out: out.startswith(f"{count} Datensätze im Katalog"),
        "dumps-curl": lambda out: out.split() == [str(count), "304"],
        "dumps-pandas": lambda out: out.startswith(f"{count} Datensätze, {resources} Distributionen"),
        "dumps-datapackage": lambda out: "data/stadtteile-karlsruhe" in out and "'stadtteil'" in out,
        "dumps-ckanapi": lambda out: int(out.strip()) == count,
        "dumps-r": lambda out: out.startswith(f"{count} Datensätze"),
        "changes-curl": lambda out: len(api_json(out)["changes"]) == 2,
        "changes-mirror": lambda out: out.startswith(f"{count} Datensätze gespiegelt"),
    }


def test_every_example_on_the_developer_page_runs(live_server, new_page, steps, axe_check, tmp_path):
    demo.load()
    sensor = tk.get_action("package_show")({"ignore_auth": True}, {"id": "bodenfeuchte-friedrichsplatz"})
    sensor_series(tmp_path, sensor)
    # the bulk downloads, built by the CLI as an operator would
    subprocess.run([str(BIN / "ckan"), "-c", str(live_server.ini), "udp", "api", "dumps", "build"], check=True)

    page = new_page()
    page.goto(f"{live_server.url}/entwickler")
    assert page.get_by_role("heading", level=1, name="Für Entwickler").is_visible()
    steps.shot(page, "entwickler")
    axe_check(page, "developer page")
    # German: no English section text is left on the page
    body = page.locator("body").inner_text()
    for section in devpage.SECTIONS:
        assert section.text not in body, section.id  # translated
    assert "Abfragen im DataStore" in body and "Änderungs-Feed" in body and "Suchen mit curl" in body

    mobile = new_page(mobile=True)
    mobile.goto(f"{live_server.url}/entwickler#abzuege")
    assert_fits(mobile)
    steps.shot(mobile, "entwickler-375")

    examples = page.eval_on_selector_all(
        "code[data-example]", "els => els.map(e => [e.dataset.example, e.dataset.lang, e.textContent])"
    )
    checks = _checks(live_server.url)
    assert sorted(e[0] for e in examples) == sorted(checks)  # a new example needs its check
    assert {e[1] for e in examples} == {"bash", "python", "r"}
    for example_id, lang, code in examples:
        assert live_server.url in code and "«" not in code, example_id
        work = tmp_path / example_id
        work.mkdir()
        out = _run(lang, code, work)
        assert checks[example_id](out), f"{example_id} printed:\n{out}"
