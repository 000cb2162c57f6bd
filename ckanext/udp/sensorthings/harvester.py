"""OGC SensorThings API harvester (plugin ``udp_sensorthings``, harvest type
``sensorthings``).

Given a SensorThings base URL (e.g. a FROST-Server's ``.../v1.1``), the gather
stage pages through ``Things`` with their ``Datastreams`` (and their
``ObservedProperty``/``Sensor``) and ``Locations`` expanded, following
``@iot.nextLink``; every Thing becomes one dataset, every Datastream a
distribution pointing at its ``Observations`` endpoint. Datasets are created and
updated through ``package_create``/``package_update`` (the portal's schema and
validators), not with a schema of the harvester's own.

Fetching is defensive (``client``); the source URL is also checked when the
source is saved. A gather that fails part way records an error and hands
nothing on (nothing is deleted).

Source configuration (JSON, optional): ``{"license_id": "<licence>",
"license_attribution_by_text": "...", "max_pages": 50,
"tags": ["Sensoren"], "mirror_observations": false}``. With ``mirror_observations``
each Datastream's Observations are copied into a DataStore table of their own
(``mirror``).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import uuid
from typing import Any

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.harvest.harvesters.base import HarvesterBase
from ckanext.harvest.interfaces import IHarvester
from ckanext.harvest.model import HarvestObject
from ckanext.udp import compat, fetch
from ckanext.udp.harvest.interfaces import IUdpHarvest
from ckanext.udp.sensorthings.client import StaError, thing_id_path, things
from ckanext.udp.sensorthings.mirror import mirror_datastream, mirrors
from ckanext.udp.sourceguard import source_guard_actions

log = logging.getLogger(__name__)

# audit trail comments (data, German like the portal's other workflow reasons)
VANISHED = "Automatisch archiviert: der SensorThings-Dienst liefert dieses Thing nicht mehr"
RETURNED = "Automatisch wiederhergestellt: der SensorThings-Dienst liefert dieses Thing wieder"


def slug(text: str) -> str:
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _tag(text: str) -> str | None:
    cleaned = re.sub(r"[^\w \-.]", " ", text, flags=re.UNICODE).strip()
    cleaned = re.sub(r"\s+", " ", cleaned)[:100]
    return cleaned if len(cleaned) >= 2 else None


# -- Locations -> spatial coverage (dct:spatial) --

GEOJSON_ENCODINGS = ("application/geo+json", "application/vnd.geo+json")
BBOX_MARGIN = 0.0005  # degrees (~50 m): a single point still gets an area the map search can hit
# nesting depth of the positions per geometry type
_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def _position_ok(pos: Any) -> bool:
    if not isinstance(pos, list) or len(pos) not in (2, 3):
        return False
    if not all(isinstance(c, (int, float)) and not isinstance(c, bool) and c == c for c in pos):
        return False
    return -180 <= pos[0] <= 180 and -90 <= pos[1] <= 90


def _coords_ok(kind: str, coords: Any, depth: int) -> bool:
    if depth == 0:
        return _position_ok(coords)
    if not isinstance(coords, list) or not coords:
        return False
    if not all(_coords_ok(kind, c, depth - 1) for c in coords):
        return False
    if depth == 1 and kind in ("LineString", "MultiLineString") and len(coords) < 2:
        return False
    if depth == 1 and kind in ("Polygon", "MultiPolygon"):  # a linear ring: closed, at least 4 positions
        return len(coords) >= 4 and coords[0][:2] == coords[-1][:2]
    return True


def _geometry_ok(geometry: Any) -> bool:
    if not isinstance(geometry, dict):
        return False
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        return isinstance(parts, list) and bool(parts) and all(_geometry_ok(g) for g in parts)
    return kind in _DEPTH and _coords_ok(kind, geometry.get("coordinates"), _DEPTH[kind])


def location_geometry(location: Any) -> dict[str, Any] | None:
    """The GeoJSON geometry of one SensorThings Location entity, or None when its
    encodingType is not GeoJSON, its ``location`` is not JSON, not a geometry
    (or a Feature with one) or has coordinates outside WGS 84 longitude/latitude."""
    if not isinstance(location, dict):
        return None
    encoding = str(location.get("encodingType") or "").split(";")[0].strip().lower()
    if encoding not in GEOJSON_ENCODINGS:
        return None
    value = location.get("location")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not _geometry_ok(value):
        return None
    assert isinstance(value, dict)
    if value["type"] == "GeometryCollection":
        return {"type": "GeometryCollection", "geometries": value["geometries"]}
    return {"type": value["type"], "coordinates": value["coordinates"]}


def _positions(geometry: dict[str, Any]) -> list[list[float]]:
    if geometry["type"] == "GeometryCollection":
        return [pos for g in geometry["geometries"] for pos in _positions(g)]
    out = [geometry["coordinates"]]
    for _ in range(_DEPTH[geometry["type"]]):
        out = [pos for part in out for pos in part]
    return out


def spatial_coverage(thing: dict[str, Any]) -> list[dict[str, str]]:
    """One ``spatial_coverage`` area from a Thing's Locations: ``geom`` holds
    their geometries (one as is, points as a MultiPoint, else a
    GeometryCollection), ``bbox`` a polygon around them with BBOX_MARGIN.
    Locations that are not usable GeoJSON are left out (and logged)."""
    geometries, names = [], []
    for location in thing.get("Locations") or []:
        geometry = location_geometry(location)
        if geometry is None:
            log.warning(
                "SensorThings Thing %s: Location %s is not usable GeoJSON, left out of the spatial coverage",
                thing.get("@iot.id"),
                location.get("@iot.id") if isinstance(location, dict) else location,
            )
            continue
        geometries.append(geometry)
        if location.get("name"):
            names.append(str(location["name"]))
    if not geometries:
        return []
    if len(geometries) == 1:
        geom = geometries[0]
    elif all(g["type"] in ("Point", "MultiPoint") for g in geometries):
        geom = {"type": "MultiPoint", "coordinates": [pos for g in geometries for pos in _positions(g)]}
    else:
        geom = {"type": "GeometryCollection", "geometries": geometries}
    positions = _positions(geom)
    # rounded to 7 decimals (~1 cm) so that 8.4037 - 0.0005 reads 8.4032
    west = round(max(-180.0, min(p[0] for p in positions) - BBOX_MARGIN), 7)
    east = round(min(180.0, max(p[0] for p in positions) + BBOX_MARGIN), 7)
    south = round(max(-90.0, min(p[1] for p in positions) - BBOX_MARGIN), 7)
    north = round(min(90.0, max(p[1] for p in positions) + BBOX_MARGIN), 7)
    bbox = {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }
    area = {"geom": json.dumps(geom), "bbox": json.dumps(bbox)}
    if names:
        area["text"] = ", ".join(dict.fromkeys(names))[:500]
    return [area]


def package_dict(base: str, thing: dict[str, Any], owner_org: str, config: dict[str, Any]) -> dict[str, Any]:
    """The dataset of one Thing (without id/name: the import stage decides them)."""
    base = base.rstrip("/")
    title = str(thing.get("name") or f"Thing {thing['@iot.id']}")
    streams = [d for d in thing.get("Datastreams") or [] if isinstance(d, dict)]
    tags = {t for t in (config.get("tags") or ["Sensoren", "SensorThings"]) if isinstance(t, str)}
    resources = []
    for ds in streams:
        unit = ds.get("unitOfMeasurement") or {}
        prop = ds.get("ObservedProperty") or {}
        tag = _tag(str(prop["name"])) if prop.get("name") else None
        if tag:
            tags.add(tag)
        self_link = ds.get("@iot.selfLink") or f"{base}/Datastreams({ds.get('@iot.id')})"
        desc = [str(ds.get("description") or "")]
        if prop.get("name"):
            desc.append(
                f"Beobachtete Größe: {prop['name']}" + (f" ({prop['definition']})" if prop.get("definition") else "")
            )
        if unit.get("name") or unit.get("symbol"):
            symbol = f"[{unit['symbol']}]" if unit.get("symbol") else ""
            desc.append(f"Einheit: {unit.get('name') or ''} {symbol}".strip())
        resources.append(
            {
                "name": str(ds.get("name") or f"Datastream {ds.get('@iot.id')}"),
                "description": "\n\n".join(d for d in desc if d),
                "url": f"{self_link}/Observations",
                "format": "JSON",
            }
        )
    thing_link = thing.get("@iot.selfLink") or f"{base}/{thing_id_path(thing)}"
    resources.insert(
        0,
        {
            "name": "SensorThings: Thing",
            "url": thing_link,
            "format": "JSON",
            "description": "Die Thing-Entität mit Datastreams und Standorten (OGC SensorThings API).",
        },
    )
    notes = str(thing.get("description") or title)
    notes += f"\n\nÜbernommen aus der OGC SensorThings API {base}."
    pkg: dict[str, Any] = {
        "title": title,
        "notes": notes,
        "owner_org": owner_org,
        "tags": [{"name": t} for t in sorted(tags)],
        "resources": resources,
    }
    coverage = spatial_coverage(thing)
    if coverage:
        pkg["spatial_coverage"] = coverage
    # without a licence in the source config the portal's default licence applies
    for key in ("license_id", "license_attribution_by_text"):
        if config.get(key):
            pkg[key] = config[key]
    return pkg


class SensorThingsHarvester(HarvesterBase, p.SingletonPlugin):
    p.implements(IHarvester)
    p.implements(p.IActions)
    p.implements(p.IConfigDeclaration)

    # IActions: a source URL that must not be fetched is refused when saved
    def get_actions(self) -> dict[str, Any]:
        return source_guard_actions("sensorthings", fetch.check_url)

    # IConfigDeclaration: the fetch policy's options
    def declare_config_options(self, declaration: Any, key: Any) -> None:
        fetch.declare_options(declaration, key)

    def info(self) -> dict[str, str]:
        return {
            "name": "sensorthings",
            "title": "OGC SensorThings API",
            "description": "Things and Datastreams of a SensorThings API service (e.g. FROST-Server)",
        }

    def validate_config(self, config: str | None) -> str | None:
        if not config:
            return config
        try:
            doc = json.loads(config)
        except ValueError as err:
            raise ValueError(f"configuration is not JSON: {err}") from err
        if not isinstance(doc, dict):
            raise ValueError("configuration must be a JSON object")
        if "max_pages" in doc and (not isinstance(doc["max_pages"], int) or doc["max_pages"] < 1):
            raise ValueError("max_pages must be a positive integer")
        if "mirror_observations" in doc and not isinstance(doc["mirror_observations"], bool):
            raise ValueError("mirror_observations must be true or false")
        if "tags" in doc and not (isinstance(doc["tags"], list) and all(isinstance(t, str) for t in doc["tags"])):
            raise ValueError("tags must be a list of strings")
        return config

    def _config(self, source: Any) -> dict[str, Any]:
        return json.loads(source.config) if source.config else {}

    def gather_stage(self, harvest_job: Any) -> list[str]:
        source = harvest_job.source
        config = self._config(source)
        base = source.url.rstrip("/")
        try:
            found = things(base, int(config.get("max_pages", 50)))
        except StaError as err:
            self._save_gather_error(f"SensorThings gather failed, nothing changed: {err}", harvest_job)
            return []
        if not found:
            self._save_gather_error(f"no Things at {base}", harvest_job)
            return []
        ids = []
        for thing in found:
            obj = HarvestObject(guid=f"{base}/{thing_id_path(thing)}", job=harvest_job, content=json.dumps(thing))
            obj.save()
            ids.append(obj.id)
        # only now, with every page read: what the service no longer serves
        self._archive_vanished(harvest_job, {f"{base}/{thing_id_path(t)}" for t in found})
        return ids

    def _archive_vanished(self, harvest_job: Any, served: set[str]) -> None:
        """Archive (never delete) the published datasets of Things the service no
        longer serves; they come back to life when their Thing does."""
        if not p.plugin_loaded("udp_governance"):
            return
        context: Context = {"user": self._get_user_name(), "ignore_auth": True}
        current = (
            model.Session.query(HarvestObject)
            .filter(
                HarvestObject.harvest_source_id == harvest_job.source.id,
                HarvestObject.current.is_(True),
                HarvestObject.package_id.isnot(None),
            )
            .all()
        )  # noqa: E711,E712
        for obj in current:
            if obj.guid in served:
                continue
            try:
                pkg = tk.get_action("package_show")(context.copy(), {"id": obj.package_id})
                if pkg.get("udp_workflow_state") != "published":
                    continue
                tk.get_action("udp_archive")(
                    context.copy(), {"id": obj.package_id, "reason": f"{VANISHED} ({obj.guid})"}
                )
                log.info("archived %s: %s is no longer served", pkg["name"], obj.guid)
            except (tk.ObjectNotFound, tk.ValidationError) as err:
                self._save_gather_error(
                    f"{obj.guid} is no longer served; its dataset could not be archived: {err}", harvest_job
                )

    def _restore_if_archived_by_us(self, pkg: dict[str, Any], context: Context) -> None:
        """A Thing served again: undo our own archiving (not a steward's)."""
        if not p.plugin_loaded("udp_governance") or pkg.get("udp_workflow_state") != "archived":
            return
        package_id = pkg["id"]
        trail = tk.get_action("udp_audit_list")(context.copy(), {"id": package_id})
        last = trail[-1] if trail else {}
        if last.get("action") == "archive" and (last.get("comment") or "").startswith(VANISHED):
            tk.get_action("udp_restore")(context.copy(), {"id": package_id, "reason": RETURNED})

    def fetch_stage(self, harvest_object: Any) -> bool:
        return True  # the gather stage already has each Thing's document

    def import_stage(self, harvest_object: Any) -> bool | str:
        source = harvest_object.source
        config = self._config(source)
        thing = json.loads(harvest_object.content)
        context: Context = {"user": self._get_user_name(), "ignore_auth": True}
        src_pkg = tk.get_action("package_show")(context.copy(), {"id": source.id})
        pkg = package_dict(source.url, thing, src_pkg["owner_org"], config)
        previous = (
            model.Session.query(HarvestObject)
            .filter(
                HarvestObject.guid == harvest_object.guid,
                HarvestObject.current.is_(True),
                HarvestObject.package_id.isnot(None),
            )
            .first()
        )  # noqa: E711
        package_id = previous.package_id if previous is not None else str(uuid.uuid4())
        # The harvest plugin indexes a dataset's harvest source from its current
        # harvest object: link the object before the dataset is written.
        model.Session.query(HarvestObject).filter(HarvestObject.guid == harvest_object.guid).update({"current": False})
        harvest_object.package_id = package_id
        harvest_object.current = True
        model.Session.add(harvest_object)
        compat.defer_harvest_object_package_fkey()
        model.Session.flush()
        try:
            if previous is not None:
                existing = tk.get_action("package_show")(context.copy(), {"id": package_id})
                by_url = {r["url"]: r["id"] for r in existing["resources"]}
                for res in pkg["resources"]:
                    if res["url"] in by_url:
                        res["id"] = by_url[res["url"]]
                mirrored = set(mirrors(package_id).values())
                pkg["resources"] += [r for r in existing["resources"] if r["id"] in mirrored]
                updated = tk.get_action("package_update")(
                    context.copy(), dict(pkg, id=package_id, name=existing["name"])
                )
                self._restore_if_archived_by_us(updated, context)
            else:
                name = slug(f"sta-{src_pkg['name']}-{thing['@iot.id']}-{pkg['title']}")[:100]
                for plugin in p.PluginImplementations(IUdpHarvest):
                    # the workflow state the source is configured for (default: draft)
                    plugin.udp_harvest_before_create(config, pkg, source=source)
                tk.get_action("package_create")(context.copy(), dict(pkg, id=package_id, name=name))
        except tk.ValidationError as err:
            harvest_object.current = False
            harvest_object.package_id = previous.package_id if previous is not None else None
            harvest_object.save()
            if previous is not None:
                previous.current = True
                previous.save()
            self._save_object_error(
                f"invalid dataset for {harvest_object.guid}: {err.error_dict}", harvest_object, "Import"
            )
            return False
        if config.get("mirror_observations"):
            for ds in thing.get("Datastreams") or []:
                if not isinstance(ds, dict) or "@iot.id" not in ds:
                    continue
                try:
                    mirror_datastream(package_id, ds, source.url, int(config.get("max_pages", 50)), context)
                except StaError as err:
                    self._save_object_error(
                        f"Observations of Datastream {ds['@iot.id']} not mirrored: {err}", harvest_object, "Import"
                    )
        return True
