"""The fixtures of the leak matrix: one organization's datasets in every
workflow state x access class, made by hand and by a real harvest, each with
everything a channel could carry (resources, a DataStore table, a resource
view, a tag, a group, activities, a relationship, a pending edit, harvest
objects), and the viewers who look at them.

Every item has *tell-tales*: strings that only a channel showing the item can
contain (its id, name, a marker in its title, resource/view/tag/harvest
object ids). A response shows an item when it contains one of them that the
request did not contain itself (so a 403 echoing the id asked for is no leak).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import secrets
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.tests import factories, helpers
from govworld import World, act

STATES = ("draft", "in_review", "published", "archived", "withdrawn")
ACCESS = ("open", "internal", "restricted")
# The items the matrix asks about: every workflow state and every access class at least once, and every
# visibility class (public; logged-in users; the organization only) among published, archived and hidden
# states, by hand and by harvest. The whole product (15 x 2) is ``FULL`` (UDP_LEAK_MATRIX_FULL=1).
HAND_MADE = (
    ("published", "open"),
    ("published", "internal"),
    ("published", "restricted"),
    ("archived", "open"),
    ("archived", "restricted"),
    ("draft", "open"),
    ("in_review", "internal"),
    ("withdrawn", "restricted"),
)
HARVESTED = (
    ("published", "open"),
    ("published", "restricted"),
    ("archived", "internal"),
    ("draft", "internal"),
    ("in_review", "open"),
    ("withdrawn", "open"),
)
FULL = tuple(itertools.product(STATES, ACCESS))
# the default subset (``make test``): every workflow state and access class once, and every visibility class
# (public; logged-in users; the organization only) by hand; by harvest one item per visibility class
QUICK_HAND_MADE = (
    ("published", "open"),
    ("published", "internal"),
    ("archived", "open"),
    ("draft", "open"),
    ("in_review", "internal"),
    ("withdrawn", "restricted"),
)
QUICK_HARVESTED = (
    ("published", "open"),
    ("archived", "internal"),
    ("draft", "internal"),
)
# who looks: three who must not see hidden things, and the organization's
# member, who may see every dataset of the organization (the positive control)
VIEWERS = ("anonymous", "plain", "outsider", "member")
OUTSIDE_VIEWERS = VIEWERS[:3]
SECRET = "PENDINGSECRET"


@dataclasses.dataclass
class Item:
    key: str  # "draft/open", "harvested draft/open", "harvest source"
    kind: str  # dataset | harvested | source
    state: str | None
    access: str | None
    vars: dict[str, Any]  # template values: id, name, resource_id, ...
    tells: set[str]

    @property
    def public(self) -> bool:
        return self.state == "published" and self.access == "open"


def may_see(viewer: str, item: Item) -> bool:
    """The rules of udp_governance (the harvest source: its organization only)."""
    if viewer == "member":
        return True
    if item.kind == "source":
        return False
    if item.public:
        return True
    if viewer == "anonymous":
        return False
    return (item.state == "published" and item.access == "internal") or (
        item.state == "archived" and item.access in ("open", "internal")
    )


def public_only(viewer: str, item: Item) -> bool:
    """Channels for the public (catalog, feeds, package_list): published + open."""
    return item.public


def members_only(viewer: str, item: Item) -> bool:
    """Channels for the owning organization (audit trail, harvest internals)."""
    return viewer == "member"


def nobody(viewer: str, item: Item) -> bool:
    """Changes: none of the viewers may change anything of the organization."""
    return False


def logged_in_may_see(viewer: str, item: Item) -> bool:
    """Things every logged-in user may do with what they see (follow)."""
    return viewer != "anonymous" and may_see(viewer, item)


RDF = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/catalog> a dcat:Catalog ;
{datasets} .
{descriptions}
"""
RDF_DATASET = """<http://example.invalid/dataset/{slug}> a dcat:Dataset ;
    dct:identifier "{slug}" ;
    dct:title "Geharvestet {marker}" ;
    dct:description "Aus der Quelle {marker}" ;
    dcat:keyword "{tag}" ;
    dcat:distribution <http://example.invalid/dataset/{slug}/csv> .
<http://example.invalid/dataset/{slug}/csv> a dcat:Distribution ;
    dct:title "CSV {marker}" ;
    dcat:accessURL <http://example.invalid/{slug}.csv> .
"""


def _marker() -> str:
    return "mk" + secrets.token_hex(5)


class LeakWorld:
    def __init__(
        self,
        rdf_server: Any,
        full: bool = False,
        series_for: frozenset[str] | None = None,
        hand_made: tuple[tuple[str, str], ...] | None = None,
        harvested: tuple[tuple[str, str], ...] | None = None,
    ) -> None:
        """``series_for``: the keys of the hand-made items that get a sensor series (None: all). Only pages
        read a series (``/dataset/<id>/sensors/...``), and pages are asked of some items only: a series
        nobody asks about costs a DataStore table, a resource and the indexing of both. ``hand_made`` and
        ``harvested``: the (state, access class) pairs made (default ``HAND_MADE``/``HARVESTED``)."""
        self.series_for = series_for
        self.hand_made = FULL if full else hand_made or HAND_MADE
        self.harvested = FULL if full else harvested or HARVESTED
        self.w = World()
        self.rdf_server = rdf_server
        self.plain = factories.User(email="plain@example.org")
        self.users: dict[str, dict[str, Any] | None] = {
            "anonymous": None,
            "plain": self.plain,
            "outsider": self.w.outsider,
            "member": self.w.member,
            "editor": self.w.editor,
            "admin": self.w.admin,
            "sysadmin": self.w.sysadmin,
        }
        self.tokens: dict[str, str | None] = {
            v: (factories.APIToken(user=u["name"])["token"] if u else None) for v, u in self.users.items()
        }
        self.items: list[Item] = []
        self.group = factories.Group(user=self.w.sysadmin)
        self.globals: dict[str, Any] = {}
        self._pattern: re.Pattern[str] | None = None
        self._owner: dict[str, str] = {}
        self._netcdf: Any = None

    # --- building ------------------------------------------------------------------
    def _sys(self) -> dict[str, Any]:
        return {"user": self.w.sysadmin["name"], "ignore_auth": True}

    def _move(self, pkg_id: str, state: str, access: str, marker: str) -> None:
        """Take a draft through the workflow into (state, access); published
        datasets have a reviewed edit behind them and an unreviewed one waiting."""
        w = self.w
        if access != "open":
            act(w.editor, "udp_set_access_class", id=pkg_id, access_class=access)
        if state != "draft":
            act(w.editor, "udp_submit", id=pkg_id)
        if state in ("published", "archived", "withdrawn"):
            act(w.reviewer, "udp_approve", id=pkg_id)
            act(w.editor, "package_patch", id=pkg_id, notes=f"Geprüfte Änderung {marker}")
            act(w.reviewer, "udp_approve", id=pkg_id)
        if state == "archived":
            act(w.reviewer, "udp_archive", id=pkg_id)
        if state == "withdrawn":
            act(w.editor, "udp_withdraw", id=pkg_id, reason="Fehlerhafte Daten")
        if state == "published":
            act(w.editor, "package_patch", id=pkg_id, title=f"{SECRET} {marker}", notes=f"{SECRET} {marker}")

    def build(self) -> None:
        w = self.w
        self.anchor = w.published(name="leak-anchor", title="Anker", notes="Öffentlich, mit Beziehungen")
        made = [self._hand_made(state, access) for state, access in self.hand_made]
        self._sensor_series([i for i in made if self.series_for is None or i.key in self.series_for])
        for made_item in made:
            assert made_item.state and made_item.access
            self._move(made_item.vars["id"], made_item.state, made_item.access, made_item.vars["marker"])
        self.items.extend(made)
        self.items.extend(self._harvested())
        for item in self.items:
            self._decorate(item)
        self._follow_everything()
        self.globals.update(self._group_activities())
        self.globals.update(
            org=w.org["name"],
            org_id=w.org["id"],
            group=self.group["name"],
            editor=w.editor["name"],
            reviewer=w.reviewer["name"],
            anchor=self.anchor["name"],
            anchor_id=self.anchor["id"],
            source_id=self.source["id"],
            source_name=self.source["name"],
            source_url=self.source["url"],
            job_id=self.job_id,
            other_org=w.other_org["id"],
        )

    def _hand_made(self, state: str, access: str) -> Item:
        w = self.w
        marker, tag = _marker(), "tag" + secrets.token_hex(4)
        name = f"leak-{state.replace('_', '-')}-{access}"
        pkg = w.dataset(
            name=name,
            title=f"Leak {marker}",
            notes=f"Beschreibung {marker}",
            tags=[{"name": tag}],
            resources=[{"url": f"http://example.invalid/{name}.csv", "name": f"download {marker}"}],
        )
        table = helpers.call_action(
            "datastore_create",
            context=self._sys(),
            resource={"package_id": pkg["id"], "name": f"table {marker}"},
            fields=[{"id": "value", "type": "int"}],
            records=[{"value": 1}],
            force=True,
        )
        view = act(
            w.editor,
            "resource_view_create",
            resource_id=table["resource_id"],
            view_type="datatables_view",
            title=f"Ansicht {marker}",
        )
        grid = self._grid(pkg["id"]) if self.series_for is None or f"{state}/{access}" in self.series_for else None
        pkg = act(w.sysadmin, "package_show", id=pkg["id"])
        helpers.call_action(
            "task_status_update",
            context=self._sys(),
            entity_id=table["resource_id"],
            entity_type="resource",
            task_type="udp_probe",
            key="probe",
            value=f"Status {marker}",
            state="done",
            last_updated="2024-01-01T00:00:00",
        )
        download = next(r["id"] for r in pkg["resources"] if r["name"].startswith("download"))
        extra = {"grid_id": grid} if grid else {}
        return Item(
            key=f"{state}/{access}",
            kind="dataset",
            state=state,
            access=access,
            vars={
                "id": pkg["id"],
                "name": name,
                "resource_id": download,
                "table_id": table["resource_id"],
                "view_id": view["id"],
                "tag": tag,
                "tag_prefix": tag[:-2],
                "marker": marker,
                **extra,
            },
            tells={pkg["id"], name, marker, download, table["resource_id"], view["id"], tag, *extra.values()},
        )

    def _grid(self, pkg_id: str) -> str:
        """An uploaded NetCDF file (udp_grid's preview) on a dataset: its resource id."""
        import io
        import pathlib
        import tempfile

        from view3d import samples
        from werkzeug.datastructures import FileStorage

        if self._netcdf is None:
            self._netcdf = samples.write_netcdf(pathlib.Path(tempfile.mkdtemp()) / "hitze.nc", hours=2, ny=6, nx=8)
        data = self._netcdf.read_bytes()
        resource = helpers.call_action(
            "resource_create",
            context=self._sys(),
            package_id=pkg_id,
            name="hitze.nc",
            url="hitze.nc",
            format="NetCDF",
            upload=FileStorage(io.BytesIO(data), filename="hitze.nc"),
        )
        return resource["id"]

    def _sensor_series(self, made: list[Item]) -> None:
        """A sensor series (DataStore table + resource) on each hand-made dataset."""
        import tempfile

        import yaml

        from ckanext.udp.sensors.logic.series import ensure_all
        from ckanext.udp.sensors.logic.sources import load_sources

        doc = {
            "sources": [
                {
                    "name": "leak",
                    "title": "Leckprobe",
                    "flavour": "tts",
                    "topics": ["leak/+/up"],
                    "columns": [{"field": "value", "name": "wert", "type": "numeric"}],
                    "devices": [{"id": f"dev-{i.vars['name']}", "dataset": i.vars["name"]} for i in made],
                }
            ]
        }
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump(doc, f)
        ensure_all(load_sources(f.name))

    def _harvested(self) -> list[Item]:
        w = self.w
        slugs = {(s, a): f"h-{s.replace('_', '-')}-{a}" for s, a in self.harvested}
        markers = {k: _marker() for k in slugs}
        tags = {k: "htag" + secrets.token_hex(4) for k in slugs}
        datasets = " ;\n".join(f"    dcat:dataset <http://example.invalid/dataset/{s}>" for s in slugs.values())
        descriptions = "".join(RDF_DATASET.format(slug=slugs[k], marker=markers[k], tag=tags[k]) for k in slugs)
        catalog = RDF.format(datasets=datasets, descriptions=descriptions)
        self.rdf_server.responder = lambda path: (200, "text/turtle", catalog.encode())
        # a source's title and id are the provenance of the datasets it brings
        # (ckanext-harvest shows them on public harvested datasets); its URL and
        # config and description are the organization's: the marker is in the URL and the description
        source_marker, note_marker = _marker(), _marker()
        self.source = act(
            w.admin,
            "harvest_source_create",
            name="leak-source",
            title="Quelle",
            notes=f"Interne Beschreibung {note_marker}",
            url=f"{self.rdf_server.url}/{source_marker}.ttl",
            source_type="dcat_rdf",
            owner_org=w.org["id"],
            config=json.dumps({"rdf_format": "turtle"}),
        )
        from ckanext.dcat.harvesters import DCATRDFHarvester
        from ckanext.harvest.model import HarvestJob, HarvestObject
        from ckanext.harvest.tests.lib import run_harvest_job

        job = HarvestJob(source_id=self.source["id"])
        job.save()
        self.job_id = job.id
        results = run_harvest_job(job, DCATRDFHarvester())
        by_guid = {guid: r for guid, r in results.items()}
        items = []
        for key, slug in slugs.items():
            (result,) = [r for g, r in by_guid.items() if g.endswith(f"/{slug}")]
            assert result["state"] == "COMPLETE", result
            obj = HarvestObject.get(result["obj_id"])
            pkg = act(w.sysadmin, "package_show", id=obj.package_id)
            assert pkg["udp_workflow_state"] == "draft", pkg
            state, access = key
            self._move(pkg["id"], state, access, markers[key])
            resource = pkg["resources"][0]["id"]
            items.append(
                Item(
                    key=f"harvested {state}/{access}",
                    kind="harvested",
                    state=state,
                    access=access,
                    vars={
                        "id": pkg["id"],
                        "name": pkg["name"],
                        "resource_id": resource,
                        "tag": tags[key],
                        "tag_prefix": tags[key][:-2],
                        "harvest_object_id": obj.id,
                        "marker": markers[key],
                    },
                    tells={pkg["id"], pkg["name"], markers[key], resource, tags[key], obj.id},
                )
            )
        source = model.Package.get(self.source["id"])
        assert source is not None
        items.append(
            Item(
                key="harvest source",
                kind="source",
                state=None,
                access=None,
                vars={"id": self.source["id"], "name": self.source["name"]},
                tells={source_marker, note_marker},
            )
        )
        return items

    def _decorate(self, item: Item) -> None:
        """Group membership, a relationship from the public anchor, activity ids."""
        if item.kind == "source":
            return
        helpers.call_action(
            "member_create",
            context=self._sys(),
            id=self.group["id"],
            object=item.vars["id"],
            object_type="package",
            capacity="public",
        )
        rel_marker = _marker()
        helpers.call_action(
            "package_relationship_create",
            context=self._sys(),
            subject=self.anchor["id"],
            object=item.vars["id"],
            type="links_to",
            comment=f"Beziehung {rel_marker}",
        )
        item.tells.add(rel_marker)
        activities = helpers.call_action(
            "package_activity_list", context=self._sys(), id=item.vars["id"], include_hidden_activity=True, limit=100
        )
        ids = [a["id"] for a in activities]
        # the probes ask for the newest, the oldest (from the draft) and every non-dataset activity
        asked = dict.fromkeys(
            [ids[0], ids[-1], *(a["id"] for a in activities if not a["activity_type"].endswith("package"))]
        )
        # CKAN's changes pages diff an activity with the one before it and refuse (403 to everybody but
        # sysadmins) when either is not about the dataset itself ("new resource view": "object_type not
        # recognized"): they are asked of the newest pair of dataset activities
        kinds = [a["activity_type"] or "" for a in activities]
        pairs = [i for i in range(len(ids) - 1) if kinds[i].endswith("package") and kinds[i + 1].endswith("package")]
        if pairs:
            item.vars.update(diff_new_activity_id=ids[pairs[0]], diff_old_activity_id=ids[pairs[0] + 1])
        item.vars.update(
            activity_id=list(asked),
            newest_activity_id=ids[0],
            previous_activity_id=ids[1] if len(ids) > 1 else ids[0],
            oldest_activity_id=ids[-1],
            activity_count=len(ids),
        )
        # activities of the site user (harvests) are hidden from every stream (CKAN's
        # ckan.hide_activity_from_users): a harvested draft has none to show
        item.vars["shown_activities"] = len(
            helpers.call_action("package_activity_list", context=self._sys(), id=item.vars["id"], limit=100)
        )
        item.tells.update(ids)

    def _group_activities(self) -> dict[str, str]:
        """The organization's and the group's own activities (a change after their creation): CKAN's changes
        pages of a group diff two of them."""
        w = self.w
        out = {}
        for kind, obj in (("org", w.org), ("group", self.group)):
            helpers.call_action(
                f"{'organization' if kind == 'org' else 'group'}_patch",
                context=self._sys(),
                id=obj["id"],
                description=f"Geändert {_marker()}",
            )
            activities = helpers.call_action(
                "organization_activity_list" if kind == "org" else "group_activity_list",
                context=self._sys(),
                id=obj["id"],
                include_hidden_activity=True,
                limit=1000,
            )
            own = [a["id"] for a in activities if a["object_id"] == obj["id"]]
            assert len(own) >= 2, activities
            out[f"{kind}_new_activity_id"], out[f"{kind}_old_activity_id"] = own[0], own[1]
        return out

    def _follow_everything(self) -> None:
        for viewer in ("plain", "outsider", "member"):
            user = self.users[viewer]
            assert user is not None
            for item in self.items:
                if item.kind != "source":
                    helpers.call_action(
                        "follow_dataset", context={"user": user["name"], "ignore_auth": True}, id=item.vars["id"]
                    )

    # --- observing -------------------------------------------------------------------
    def shown(self, request_text: str, response_text: str) -> set[str]:
        """Keys of the items the response shows (tell-tales the request did not bring)."""
        if self._pattern is None:
            self._owner = {tell: item.key for item in self.items for tell in item.tells}
            alternatives = "|".join(re.escape(t) for t in sorted(self._owner, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")
        return {
            self._owner[m.group(0)] for m in self._pattern.finditer(response_text) if m.group(0) not in request_text
        }


__all__ = [
    "LeakWorld",
    "Item",
    "STATES",
    "ACCESS",
    "HAND_MADE",
    "HARVESTED",
    "QUICK_HAND_MADE",
    "QUICK_HARVESTED",
    "VIEWERS",
    "OUTSIDE_VIEWERS",
    "SECRET",
    "may_see",
    "public_only",
    "members_only",
    "nobody",
    "logged_in_may_see",
    "tk",
]
