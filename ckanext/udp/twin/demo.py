"""``ckan udp twin demo``: the twin's demo datasets (Demodaten), published and open, their
files generated here and uploaded, so they download from the portal itself."""

from __future__ import annotations

import io
import json
import os
import tempfile
from typing import Any

import ckan.plugins.toolkit as tk
from werkzeug.datastructures import FileStorage

from ckanext.udp.twin import generate

MODEL = "3d-blockmodell-friedrichsplatz-demodaten"
GRID = "hitzeindex-karlsruhe-demodaten"
DEMO_NOTE = "**Demodaten:** erfunden, nur zur Vorführung des digitalen 3D-Klimazwillings."

COMMON: dict[str, Any] = {
    "license_id": "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
    "frequency": "http://publications.europa.eu/resource/authority/frequency/IRREG",
    "access_rights": "http://publications.europa.eu/resource/authority/access-right/PUBLIC",
    "udp_access_class": "open",
    "issued": "2025-07-15",
    "tags": [{"name": "3D-Klimazwilling"}, {"name": "Demodaten"}],
}


def _context() -> dict[str, Any]:
    site = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": site["name"], "ignore_auth": True, "udp_initial_state": "published"}


def _dataset(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return tk.get_action("package_show")(_context(), {"id": data["name"]})
    except tk.ObjectNotFound:
        return tk.get_action("package_create")(_context(), dict(COMMON, resources=[], **data))


def _upload(pkg: dict[str, Any], name: str, filename: str, content: bytes, description: str) -> dict[str, Any]:
    have = next((r for r in pkg.get("resources", []) if r.get("name") == name), None)
    if have is not None:
        return have
    upload = FileStorage(stream=io.BytesIO(content), filename=filename)
    data = {"package_id": pkg["id"], "name": name, "description": description, "url": filename, "url_type": "upload"}
    return tk.get_action("resource_create")(_context(), dict(data, upload=upload))


def load() -> dict[str, Any]:
    model = generate.block_model()
    pkg = _dataset(
        {
            "name": MODEL,
            "title": "3D-Blockmodell Friedrichsplatz (Demodaten, LoD1)",
            "notes": f"{DEMO_NOTE}\n\nZwölf erfundene Gebäude als Klötzchen (LoD1) rund um den Friedrichsplatz, "
            "als CityJSON (EPSG:25832), als glTF-Binärdatei (GLB) und als 3D Tiles.",
            "owner_org": "vermessungs-und-liegenschaftsamt",
            "theme": ["http://publications.europa.eu/resource/authority/data-theme/REGI"],
            "license_attribution_by_text": "Stadt Karlsruhe, Vermessungs- und Liegenschaftsamt (Demodaten)",
            "contact": [{"name": "Vermessungs- und Liegenschaftsamt", "email": "geodaten@demo.udp-karlsruhe.invalid"}],
        }
    )
    _upload(
        pkg,
        "Blockmodell Friedrichsplatz (CityJSON)",
        "blockmodell-friedrichsplatz.city.json",
        json.dumps(model).encode(),
        "CityJSON 2.0, LoD1, EPSG:25832 (Demodaten).",
    )
    glb = _upload(
        pkg,
        "Blockmodell Friedrichsplatz (GLB)",
        "blockmodell-friedrichsplatz.glb",
        generate.glb(model),
        "Die Gebäude als glTF-Binärdatei, Meter um die Mitte des Modells (Demodaten).",
    )
    glb_path = f"/dataset/{pkg['id']}/resource/{glb['id']}/download/blockmodell-friedrichsplatz.glb"
    _upload(
        pkg,
        "Blockmodell Friedrichsplatz (3D Tiles)",
        "tileset.json",
        json.dumps(generate.tileset(model, glb_path), indent=1).encode(),
        "3D Tiles 1.1 mit der GLB-Datei als Inhalt (Demodaten).",
    )
    grid = _dataset(
        {
            "name": GRID,
            "title": "Hitzeindex Karlsruhe, 15. Juli 2025 (Demodaten)",
            "notes": f"{DEMO_NOTE}\n\nErfundener Hitzeindex (gefühlte Temperatur in °C) in 100-m-Zellen über dem "
            "Stadtgebiet, sechs Stunden eines Sommertags, NetCDF nach CF-Konventionen (EPSG:25832).",
            "owner_org": "umwelt-und-arbeitsschutz",
            "theme": ["http://publications.europa.eu/resource/authority/data-theme/ENVI"],
            "license_attribution_by_text": "Stadt Karlsruhe, Umwelt- und Arbeitsschutz (Demodaten)",
            "contact": [{"name": "Umwelt- und Arbeitsschutz", "email": "klima@demo.udp-karlsruhe.invalid"}],
            "temporal_coverage": [{"start": "2025-07-15", "end": "2025-07-15"}],
        }
    )
    fd, path = tempfile.mkstemp(suffix=".nc")
    os.close(fd)
    try:
        generate.heat_grid(path)
        with open(path, "rb") as f:
            content = f.read()
    finally:
        os.unlink(path)
    _upload(
        grid,
        "Hitzeindex 15. Juli 2025 (NetCDF)",
        "hitzeindex-karlsruhe-2025-07-15.nc",
        content,
        "Variable heat_index (°C), Zeitschritte 10 bis 20 Uhr, Gitter 100 m, EPSG:25832 (Demodaten).",
    )
    return {"datasets": [MODEL, GRID]}
