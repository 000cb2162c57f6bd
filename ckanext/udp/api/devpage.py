"""The developer page ``/entwickler``: the portal's interfaces with examples.

The examples live here, once: the page renders them with the portal's URL and
the ids of the demo data filled in, and ``tests/browser/test_devpage.py`` reads
them back from the rendered page and runs every one against the demo data
(curl, Python with requests/ckanapi/pandas, R with jsonlite), so the page
cannot drift from what the portal does.

Placeholders in the code: ``«portal»`` (``ckan.site_url``), ``«resource_id»``
(the first DataStore table of ``ckanext.udp.api.example_dataset``),
``«dataset»`` (that dataset's name) and ``«sensor_dataset»``
(``ckanext.udp.api.example_sensor_dataset``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as tk

LANGUAGES = {"bash": "Shell (curl)", "python": "Python", "r": "R"}


@dataclass(frozen=True)
class Example:
    id: str
    lang: str
    caption: str  # English msgid
    code: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str  # English msgid
    text: str  # English msgid
    examples: tuple[Example, ...]


SECTIONS = (
    Section(
        "action-api",
        "Action API",
        "Every dataset, organization and DataStore table is reachable through CKAN's Action API: "
        "GET /api/3/action/<action> with the parameters in the query string, the answer is JSON "
        "with success and result. Without an API token you read what every visitor sees. "
        "package_search searches (q, fq, rows, start, sort), package_show returns one dataset.",
        (
            Example(
                "api-curl",
                "bash",
                "Search with curl",
                'curl -s "«portal»/api/3/action/package_search?q=B%C3%A4ume&rows=5"\n',
            ),
            Example(
                "api-requests",
                "python",
                "Search with requests",
                """import requests

PORTAL = "«portal»"
antwort = requests.get(f"{PORTAL}/api/3/action/package_search", params={"q": "Bäume", "rows": 5}, timeout=30)
antwort.raise_for_status()
ergebnis = antwort.json()["result"]
print(ergebnis["count"], "Treffer")
for datensatz in ergebnis["results"]:
    print(datensatz["name"], "-", datensatz["title"])
""",
            ),
            Example(
                "api-ckanapi",
                "python",
                "One dataset with ckanapi",
                """from ckanapi import RemoteCKAN

portal = RemoteCKAN("«portal»", user_agent="ok-lab-beispiel/1.0")
datensatz = portal.action.package_show(id="«dataset»")
print(datensatz["title"])
for ressource in datensatz["resources"]:
    print(ressource["name"], ressource["url"])
""",
            ),
            Example(
                "api-r",
                "r",
                "Search with R (jsonlite)",
                """library(jsonlite)

portal <- "«portal»"
antwort <- fromJSON(paste0(portal, "/api/3/action/package_search?q=Spielpl%C3%A4tze&rows=5"))
cat(antwort$result$count, "Treffer\\n")
cat(antwort$result$results$name, sep = "\\n")
""",
            ),
        ),
    ),
    Section(
        "datastore",
        "DataStore queries",
        "Tables in the DataStore can be searched and filtered row by row (datastore_search with q, "
        "filters, fields, sort, limit and offset) or downloaded whole as CSV, JSON or XLSX "
        "(/datastore/dump/<resource id>?format=csv). The column descriptions (data dictionary) come "
        "with every answer under fields.",
        (
            Example(
                "datastore-curl",
                "bash",
                "Full-text search in a table with curl",
                'curl -s "«portal»/api/3/action/datastore_search?resource_id=«resource_id»&q=Durlach"\n',
            ),
            Example(
                "datastore-requests",
                "python",
                "Filter rows with requests",
                """import json

import requests

PORTAL = "«portal»"
antwort = requests.get(
    f"{PORTAL}/api/3/action/datastore_search",
    params={"resource_id": "«resource_id»", "filters": json.dumps({"stadtteil": "Durlach"})},
    timeout=30,
)
for zeile in antwort.json()["result"]["records"]:
    print(zeile["stadtteil"], zeile["nr"])
""",
            ),
            Example(
                "datastore-pandas",
                "python",
                "The whole table with pandas",
                """import pandas as pd

PORTAL = "«portal»"
tabelle = pd.read_csv(f"{PORTAL}/datastore/dump/«resource_id»")
print(len(tabelle), "Zeilen")
print(tabelle.head())
""",
            ),
            Example(
                "datastore-r",
                "r",
                "The whole table with R",
                """portal <- "«portal»"
tabelle <- read.csv(paste0(portal, "/datastore/dump/«resource_id»"), encoding = "UTF-8")
cat(nrow(tabelle), "Zeilen\\n")
""",
            ),
        ),
    ),
    Section(
        "sensoren",
        "Sensor data",
        "Sensor series have stable download URLs: /dataset/<name>/sensors/<observations|latest|hourly>"
        ".<csv|json>, filtered with from, to (ISO 8601, UTC) and device. Without login one request "
        "covers at most 31 days of observations. To poll without missing late uplinks, page by "
        "arrival: every answer names the next position (header X-Udp-Next-After, in JSON "
        "next_after); ask again with after=<position>. ETag and Last-Modified answer 304 while "
        "nothing changed.",
        (
            Example(
                "sensor-curl",
                "bash",
                "The latest values as CSV with curl",
                'curl -s "«portal»/dataset/«sensor_dataset»/sensors/latest.csv"\n',
            ),
            Example(
                "sensor-poll",
                "python",
                "Polling by arrival with requests",
                """import requests

PORTAL = "«portal»"
url = f"{PORTAL}/dataset/«sensor_dataset»/sensors/observations.json"
erste = requests.get(url, params={"from": "2026-06-15", "to": "2026-06-16"}, timeout=60).json()
print(len(erste["records"]), "Messwerte")
position = erste["next_after"]
# später: nur, was seitdem angekommen ist, auch verspätete Uplinks älterer Messzeiten
neu = requests.get(url, params={"after": position}, timeout=60).json()
print(len(neu["records"]), "neu angekommen, weiter ab", neu["next_after"])
""",
            ),
            Example(
                "sensor-pandas",
                "python",
                "Hourly values with pandas",
                """import pandas as pd

PORTAL = "«portal»"
stunden = pd.read_csv(f"{PORTAL}/dataset/«sensor_dataset»/sensors/hourly.csv?from=2026-01-01&to=2026-12-31")
print(len(stunden), "Stundenwerte")
""",
            ),
        ),
    ),
    Section(
        "dcat",
        "DCAT catalog",
        "The public catalog as DCAT-AP.de (as harvested by GovData): /catalog.ttl, /catalog.rdf or "
        "/catalog.jsonld, paged by a continuation token (hydra:next), and each dataset as "
        "/dataset/<name>.ttl. Errors answer 400 in the format asked for.",
        (
            Example(
                "dcat-curl",
                "bash",
                "The first catalog page with curl",
                """curl -s -o seite.ttl "«portal»/catalog.ttl?limit=5"
grep -o "/dataset/[0-9a-f-]*>" seite.ttl | sort -u | wc -l
""",
            ),
            Example(
                "dcat-rdflib",
                "python",
                "All pages with rdflib",
                """from rdflib import Graph, Namespace
from rdflib.namespace import DCAT, RDF

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
seite, datensaetze = "«portal»/catalog.ttl?limit=5", set()
while seite:
    graph = Graph().parse(seite, format="turtle")
    datensaetze.update(graph.subjects(RDF.type, DCAT.Dataset))
    seite = next((str(n) for n in graph.objects(None, HYDRA.next)), None)
print(len(datensaetze), "Datensätze im Katalog")
""",
            ),
        ),
    ),
    Section(
        "abzuege",
        "Bulk downloads",
        "The whole public catalog as one download each, rebuilt shortly after every change: "
        "katalog.jsonl (one dataset per line, as package_show returns it), katalog.csv (one row per "
        "distribution), katalog.ttl (DCAT-AP.de) and daten.zip (every open DataStore table as a "
        "Frictionless data package). They are listed at /api/udp/dumps and answer 304 with ETag "
        "and Last-Modified. ckanapi can also dump the catalog; with -p it starts its workers by "
        "the name ckanapi, so the folder of the ckanapi command must be on PATH (activate the "
        "virtual environment first).",
        (
            Example(
                "dumps-curl",
                "bash",
                "Download and revalidate with curl",
                """curl -s -D kopf.txt -o katalog.jsonl "«portal»/api/udp/dumps/katalog.jsonl"
wc -l < katalog.jsonl
etag=$(grep -i '^etag:' kopf.txt | cut -d' ' -f2 | tr -d '\\r')
curl -s -o /dev/null -w "%{http_code}\\n" -H "If-None-Match: $etag" "«portal»/api/udp/dumps/katalog.jsonl"
""",
            ),
            Example(
                "dumps-pandas",
                "python",
                "Distributions by format with pandas",
                """import pandas as pd

PORTAL = "«portal»"
verteilungen = pd.read_csv(f"{PORTAL}/api/udp/dumps/katalog.csv")
print(verteilungen["dataset_name"].nunique(), "Datensätze,", len(verteilungen), "Distributionen")
""",
            ),
            Example(
                "dumps-datapackage",
                "python",
                "The tables as a data package",
                """import io
import json
import zipfile

import requests

PORTAL = "«portal»"
paket = zipfile.ZipFile(io.BytesIO(requests.get(f"{PORTAL}/api/udp/dumps/daten.zip", timeout=300).content))
beschreibung = json.loads(paket.read("datapackage.json"))
for tabelle in beschreibung["resources"]:
    print(tabelle["path"], [feld["name"] for feld in tabelle["schema"]["fields"]])
""",
            ),
            Example(
                "dumps-ckanapi",
                "bash",
                "Dump the catalog with ckanapi",
                """ckanapi dump datasets --all -p 2 -r "«portal»" -O datensaetze.jsonl
wc -l < datensaetze.jsonl
""",
            ),
            Example(
                "dumps-r",
                "r",
                "The catalog with R",
                """library(jsonlite)

portal <- "«portal»"
katalog <- stream_in(url(paste0(portal, "/api/udp/dumps/katalog.jsonl")), verbose = FALSE)
cat(nrow(katalog), "Datensätze\\n")
""",
            ),
        ),
    ),
    Section(
        "aenderungen",
        "Change feed",
        "udp_changes lists what changed in the public catalog since a cursor: created, updated and "
        "removed (deleted or no longer public). Start without since, keep next, and ask again with "
        "since=<next>; more says whether more is waiting. Thus a mirror stays exactly in step with "
        "the catalog, deletions included.",
        (
            Example(
                "changes-curl",
                "bash",
                "The first page with curl",
                'curl -s "«portal»/api/3/action/udp_changes?limit=2"\n',
            ),
            Example(
                "changes-mirror",
                "python",
                "Mirror the catalog with requests",
                """import requests

PORTAL = "«portal»"
spiegel, seit = {}, None
while True:
    parameter = {"since": seit} if seit else {}
    seite = requests.get(f"{PORTAL}/api/3/action/udp_changes", params=parameter, timeout=30).json()["result"]
    for aenderung in seite["changes"]:
        if aenderung["type"] == "removed":
            spiegel.pop(aenderung["id"], None)
        else:
            spiegel[aenderung["id"]] = aenderung["dataset"]
    seit = seite["next"]
    if not seite["more"]:
        break
print(len(spiegel), "Datensätze gespiegelt, weiter mit since =", seit)
""",
            ),
        ),
    ),
)


def _example_resource(dataset: str) -> str | None:
    try:
        pkg = tk.get_action("package_show")({"user": "", "auth_user_obj": None}, {"id": dataset})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        return None
    return next((r["id"] for r in pkg.get("resources") or [] if r.get("datastore_active")), None)


def page_data() -> dict[str, Any]:
    """Sections with translated texts and filled-in code, for the template."""
    dataset = tk.config.get("ckanext.udp.api.example_dataset")
    values = {
        "«portal»": tk.config.get("ckan.site_url").rstrip("/"),
        "«dataset»": dataset,
        "«resource_id»": _example_resource(dataset) or "RESSOURCEN-ID",
        "«sensor_dataset»": tk.config.get("ckanext.udp.api.example_sensor_dataset"),
    }

    def fill(code: str) -> str:
        for key, value in values.items():
            code = code.replace(key, value)
        return code

    return {
        "sections": [
            {
                "id": s.id,
                "title": tk._(s.title),
                "text": tk._(s.text),
                "examples": [
                    {
                        "id": e.id,
                        "lang": e.lang,
                        "language": LANGUAGES[e.lang],
                        "caption": tk._(e.caption),
                        "code": fill(e.code),
                    }
                    for e in s.examples
                ],
            }
            for s in SECTIONS
        ],
        "portal": values["«portal»"],
    }
