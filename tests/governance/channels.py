"""Every channel of the running portal, for the leak matrix: each registered
action and each Flask URL rule is either exercised (a probe below) or exempt
(with the reason it cannot show a dataset). The matrix test enumerates the
app's actions and rules and fails on any that is in neither table.

A probe's ``params`` are templates: ``{name}``, ``{id}``, ``{resource_id}``,
``{table_id}``, ``{view_id}``, ``{tag}``, ``{tag_prefix}``,
``{activity_id}`` (each activity of the item), ``{harvest_object_id}`` come
from the item; ``{org}``, ``{group}``, ``{editor}``, ``{anchor}``,
``{source_id}``, ``{job_id}`` ... from the world; ``{self}`` is the viewer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from leakworld import Item, logged_in_may_see, may_see, members_only, nobody, public_only

DATASETS = ("dataset", "harvested")
SOURCE = ("source",)


@dataclasses.dataclass(frozen=True)
class Probe:
    params: Any = None  # API data / form data / query string (templates)
    scope: str = "item"  # item: once per item; global: once per viewer
    rule: Callable[[str, Item], bool] = may_see
    exact: bool = False  # must also show what the rule allows
    kinds: tuple[str, ...] = DATASETS
    where: Callable[[Item], bool] | None = None
    # when is an item shown: None = a 2xx answer carrying its tell-tales;
    # "status" = any 2xx answer (counts, booleans), or a function(status, body) -> bool
    detect: Any = None
    seer: str = "member"  # the viewer the channel must answer (positive control)
    write: str | None = None  # a change: role whose check_access must pass (positive control)
    attack: bool = False  # a trick refused for everybody (no positive control)
    check: Callable[..., list[str]] | None = None  # extra checks of the answer (counts)
    method: str = "POST"  # routes: GET or POST
    url: str = ""  # routes: the URL template
    action: str = ""  # routes that change: the action whose check_access is the control
    label: str = ""
    # asked in the semantic pass only: udp_semantic switched on and the world's datasets indexed with
    # their vectors (udp_semantic is loaded but off in test.ini, as on a portal that has not enabled it)
    semantic: bool = False


def item(params: Any = None, **kw: Any) -> Probe:
    return Probe(params=params, **kw)


def glob(params: Any = None, **kw: Any) -> Probe:
    return Probe(params=params, scope="global", **kw)


def change(params: Any, role: str = "editor", **kw: Any) -> Probe:
    """A change to an item: refused to every viewer, allowed (check_access) to ``role``."""
    kw.setdefault("rule", nobody)
    kw.setdefault("detect", "status")
    return Probe(params=params, write=role, **kw)


def published(i: Item) -> bool:
    return i.state == "published"


def hand_made(i: Item) -> bool:
    return "table_id" in i.vars


def gridded(i: Item) -> bool:
    """Items with an uploaded NetCDF file (the grid preview's)."""
    return "grid_id" in i.vars


# --- counts --------------------------------------------------------------------------
def _expected(world: Any, viewer: str) -> int:
    """Datasets (and the harvest source) of the organization the viewer may see; the anchor is public."""
    return 1 + sum(1 for i in world.items if may_see(viewer, i))


def org_count(entries: Callable[[Any], list[dict[str, Any]]]) -> Callable[..., list[str]]:
    def check(world: Any, viewer: str, result: Any) -> list[str]:
        problems = []
        for entry in entries(result):
            if entry.get("name") in (world.globals["org"], world.globals["group"]):
                count = entry.get("package_count")
                if count is not None and count > _expected(world, viewer):
                    problems.append(f"package_count {count} > {_expected(world, viewer)} visible")
        return problems

    return check


def _as_list(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, dict):
        return [result]
    return [r for r in result or [] if isinstance(r, dict)]


def user_count(world: Any, viewer: str, result: Any) -> list[str]:
    problems = []
    for entry in _as_list(result):
        if entry.get("name") == world.globals["editor"]:
            count = entry.get("number_created_packages")
            visible = sum(1 for i in world.items if i.kind == "dataset" and may_see(viewer, i)) + 1
            if count is not None and count > visible:
                problems.append(f"number_created_packages {count} > {visible} visible")
    return problems


def docfreq(status: int, body: str) -> bool:
    """fl=id,n:docfreq(...): any row with n > 0 counts the hidden dataset."""
    import json

    try:
        rows = json.loads(body)["result"]["results"]
    except (ValueError, KeyError, TypeError):
        return False
    return status == 200 and any(r.get("n") for r in rows)


def answered(status: int, body: str) -> bool:
    """A 2xx answer, or a redirect that is not to the login page (downloads redirect to the file)."""
    return 200 <= status < 300 or (300 <= status < 400 and "/user/login" not in body)


def following(status: int, body: str) -> bool:
    """follow_dataset: 200 (now following) or 409 (already following) both confirm the dataset."""
    return status in (200, 409)


def public_neighbours(world: Any, viewer: str, result: Any) -> list[str]:
    """udp_semantic_similar: every dataset it names is published and open (whoever asks)."""
    by_id = {i.vars["id"]: i for i in world.items}
    problems = []
    for entry in result if isinstance(result, list) else []:
        found = by_id.get(entry.get("id")) if isinstance(entry, dict) else None
        if found is not None and not found.public:
            problems.append(f"similar datasets name {found.key}")
    return problems


# --- actions ---------------------------------------------------------------------------
SEARCH = {"rows": 1000}
HYBRID = {"rows": 20}  # within udp_semantic's blending depth (hybrid.depth(): 40)
ACTIONS: dict[str, list[Probe]] = {
    # datasets
    "package_show": [item({"id": "{name}"}, exact=True), item({"id": "{id}", "include_tracking": True})],
    "package_search": [
        glob(SEARCH, rule=public_only, exact=True, label="plain"),
        glob({**SEARCH, "include_private": True}, exact=True, label="include_private"),
        glob({**SEARCH, "include_drafts": True}, rule=public_only, exact=True, label="include_drafts"),
        glob(
            {**SEARCH, "include_private": True, "include_drafts": True, "include_deleted": True},
            exact=True,
            label="private+drafts+deleted",
        ),
        glob({**SEARCH, "include_private": True, "fq": "capacity:private"}, label="fq capacity"),
        glob({**SEARCH, "fq": "+permission_labels:*", "include_private": True}, label="fq labels"),
        glob({**SEARCH, "include_private": True, "fq": "capacity:public OR *:*"}, label="fq or all"),
        glob({**SEARCH, "include_private": True, "fq": ") OR (*:*"}, label="fq close paren", attack=True),
        glob(
            {**SEARCH, "include_private": True, "fq": "udp_workflow_state:(draft OR in_review OR withdrawn)"},
            label="fq state",
        ),
        glob({**SEARCH, "include_private": True, "q": "{!lucene}*:*"}, label="q local params", attack=True),
        glob({**SEARCH, "include_private": True, "fq": "{!lucene q.op=OR}*:*"}, label="fq local params", attack=True),
        glob(
            {**SEARCH, "include_private": True, "facet.field": '["tags", "name", "res_name"]', "facet.limit": -1},
            label="facets",
        ),
        glob(
            {**SEARCH, "include_private": True, "fl": "id,name,title,validated_data_dict,data_dict"},
            label="fl data_dict",
        ),
        item(
            {"rows": 1000, "fl": "id,n:docfreq(text,'{marker}')"}, detect=docfreq, attack=True, label="fl docfreq text"
        ),
        item({"rows": 1000, "fl": "id,n:docfreq(name,'{name}')"}, detect=docfreq, attack=True, label="fl docfreq name"),
        item(
            {"rows": 1000, "fl": "id,n:termfreq(tags,'{tag}')"}, detect=docfreq, attack=True, label="fl termfreq tags"
        ),
        # hybrid search (udp_semantic): the kNN leg must run under the caller's filters. Only a page inside the
        # blending depth (40) is blended (rows=1000 is BM25 alone), and the words are in no dataset together
        # (BM25 finds nothing; what the member is shown comes from the kNN leg)
        glob({**HYBRID, "q": "Leak Beschreibung Geharvestet Quelle"}, rule=public_only, semantic=True, label="hybrid"),
        glob(
            {**HYBRID, "q": "Leak Beschreibung Geharvestet Quelle", "include_private": True},
            semantic=True,
            label="hybrid include_private",
        ),
        glob(
            {**HYBRID, "q": "Leak Beschreibung", "include_private": True, "include_drafts": True},
            semantic=True,
            label="hybrid private+drafts",
        ),
    ],
    "package_list": [glob({}, rule=public_only, exact=True)],
    "current_package_list_with_resources": [glob({"limit": 1000}, rule=public_only, exact=True)],
    "package_autocomplete": [glob({"q": "leak", "limit": 100}), glob({"q": "geharvestet", "limit": 100})],
    "package_relationships_list": [glob({"id": "{anchor}"}), item({"id": "{name}"})],
    "package_activity_list": [
        item({"id": "{name}", "limit": 100}, exact=True, where=lambda i: i.vars.get("shown_activities", 0) > 0),
        item({"id": "{id}", "limit": 100}, detect="status"),
    ],
    # an activity's data (the dataset as it was) is for who may edit the dataset
    # (ckan.auth.public_activity_stream_detail = false): the editor answers
    "activity_show": [
        item({"id": "{activity_id}", "include_data": True}, seer="editor"),
        item({"id": "{activity_id}", "include_data": False}),
    ],
    "activity_data_show": [item({"id": "{activity_id}"}, seer="editor")],
    # a diff needs an older activity about the dataset itself: CKAN diffs an activity with the one before it
    # and refuses ("object_type not recognized") when either is a "new resource view"; a harvested dataset that
    # nobody changed has one activity ("new package", the workflow's transitions make none): nothing to diff.
    # Asked of the newest pair of dataset activities (as the changes pages), and of every activity as a trick
    "activity_diff": [
        item(
            {"id": "{diff_new_activity_id}", "object_type": "package", "diff_type": "unified"},
            seer="editor",
            where=lambda i: "diff_new_activity_id" in i.vars,
        ),
        item(
            {"id": "{activity_id}", "object_type": "package", "diff_type": "unified"},
            attack=True,
            label="(every activity)",
            where=lambda i: i.vars.get("activity_count", 0) > 1,
        ),
    ],
    "am_following_dataset": [item({"id": "{name}"}, detect="status")],
    "dataset_follower_count": [item({"id": "{name}"}, detect="status")],
    "dataset_follower_list": [item({"id": "{name}"}, rule=nobody, seer="sysadmin", detect="status")],
    "dataset_followee_list": [glob({"id": "{self}"}, seer="member")],
    "dataset_followee_count": [glob({"id": "{self}"}, detect="status")],
    "followee_list": [glob({"id": "{self}"}), glob({"id": "{self}", "q": "leak"})],
    "followee_count": [glob({"id": "{self}"}, detect="status")],
    "resource_show": [item({"id": "{resource_id}"}, exact=True)],
    "resource_search": [glob({"query": "name:download", "limit": 1000}), glob({"query": "name:CSV", "limit": 1000})],
    "resource_view_show": [item({"id": "{view_id}"}, exact=True, where=hand_made)],
    "resource_view_list": [item({"id": "{table_id}"}, exact=True, where=hand_made)],
    "task_status_show": [item({"entity_id": "{table_id}", "task_type": "udp_probe", "key": "probe"}, where=hand_made)],
    "tag_show": [item({"id": "{tag}"}, detect="status", exact=True)],
    "tag_list": [glob({}, exact=True), glob({"all_fields": True}), item({"query": "{tag_prefix}"}, exact=True)],
    "tag_search": [item({"query": "{tag_prefix}"}, exact=True), glob({"query": "tag", "limit": 1000})],
    "tag_autocomplete": [item({"q": "{tag_prefix}"}, exact=True)],
    "member_list": [glob({"id": "{org}", "object_type": "package"}), glob({"id": "{group}", "object_type": "package"})],
    "group_package_show": [glob({"id": "{group}", "limit": 1000})],
    "group_show": [glob({"id": "{group}", "include_datasets": True}, check=org_count(_as_list))],
    "organization_show": [glob({"id": "{org}", "include_datasets": True}, check=org_count(_as_list))],
    "group_list": [
        glob({"all_fields": True, "include_dataset_count": True}, check=org_count(_as_list), detect="status")
    ],
    "organization_list": [
        glob({"all_fields": True, "include_dataset_count": True}, check=org_count(_as_list), detect="status")
    ],
    "user_show": [glob({"id": "{editor}", "include_datasets": True, "include_num_followers": True}, check=user_count)],
    "user_list": [glob({"q": "{editor}"}, check=user_count, detect="status")],
    # activity streams
    "dashboard_activity_list": [glob({"limit": 100})],
    "dashboard_new_activities_count": [glob({}, detect="status")],
    "organization_activity_list": [glob({"id": "{org}", "limit": 100})],
    "group_activity_list": [glob({"id": "{group}", "limit": 100})],
    "recently_changed_packages_activity_list": [glob({"limit": 100})],
    # a reviewer's decisions are in the audit trail, not the activity stream (transitions make no activity):
    # the reviewer's stream may be empty, it must answer
    "user_activity_list": [
        glob({"id": "{editor}", "limit": 100}),
        glob({"id": "{reviewer}", "limit": 100}, detect="status"),
    ],
    # DataStore
    "datastore_search": [item({"resource_id": "{table_id}"}, exact=True, where=hand_made, detect="status")],
    "datastore_search_sql": [item({"sql": 'SELECT * FROM "{table_id}"'}, exact=True, where=hand_made, detect="status")],
    "datastore_info": [item({"id": "{table_id}"}, exact=True, where=hand_made, detect="status")],
    # DCAT
    "dcat_dataset_show": [item({"id": "{name}", "_format": "ttl"}, exact=True)],
    "dcat_catalog_show": [glob({"_format": "ttl"})],
    "dcat_catalog_search": [glob({"_format": "ttl", "q": "*:*"})],
    # governance
    "udp_governance_show": [item({"id": "{name}"}, exact=True)],
    "udp_pending_edit_show": [item({"id": "{name}"}, rule=nobody, seer="editor", where=published)],
    "udp_audit_list": [item({"id": "{name}"}, rule=members_only, exact=True)],
    "udp_audit_export": [item({"id": "{name}"}, rule=members_only, exact=True)],
    "udp_steward_queues": [glob({"limit": 100})],
    # harvest
    "harvest_source_list": [
        glob({}, rule=members_only, kinds=SOURCE),
        glob({"organization_id": "{org_id}"}, rule=members_only, kinds=SOURCE),
    ],
    "harvest_source_show": [
        item({"id": "{id}"}, rule=members_only, exact=True, kinds=SOURCE),
        glob({"url": "{source_url}"}, rule=members_only, kinds=SOURCE),
    ],
    "harvest_source_show_status": [item({"id": "{id}"}, rule=members_only, exact=True, kinds=SOURCE, detect="status")],
    "harvest_object_list": [
        glob({"source_id": "{source_id}"}, rule=members_only),
        glob({}, rule=nobody, seer="sysadmin"),
    ],
    "harvest_object_show": [
        item({"id": "{harvest_object_id}"}, rule=members_only, exact=True),
        item({"dataset_id": "{name}"}, rule=members_only, exact=True, where=lambda i: i.kind == "harvested"),
    ],
    "harvest_job_list": [glob({"source_id": "{source_id}"}, rule=nobody, seer="editor", detect="status", kinds=SOURCE)],
    "harvest_job_show": [glob({"id": "{job_id}"}, rule=nobody, seer="editor", kinds=SOURCE, detect="status")],
    "harvest_job_report": [glob({"id": "{job_id}"}, rule=nobody, seer="editor", detect="status")],
    "harvest_log_list": [glob({}, rule=nobody, seer="sysadmin", detect="status")],
    "get_mail_extra_vars": [glob({"source_id": "{source_id}", "status": {}}, rule=nobody, attack=True, kinds=SOURCE)],
    "prepare_summary_mail": [glob({"source_id": "{source_id}", "status": {}}, rule=nobody, attack=True)],
    "prepare_error_mail": [glob({"source_id": "{source_id}", "status": {}}, rule=nobody, attack=True)],
    "job_list": [glob({}, rule=nobody, seer="sysadmin", detect="status")],
    "job_show": [glob({"id": "no-such-job"}, rule=nobody, attack=True)],
    # udp_semantic (the semantic pass: switched on, the world indexed with vectors). Similar datasets are
    # public ones only, whoever asks and whatever dataset they ask about: a neighbour that is not published
    # and open is a leak even to the organization's member (the box is the same for everybody)
    "udp_semantic_similar": [
        item({"id": "{name}", "limit": 20}, detect="status", exact=True, check=public_neighbours, semantic=True),
        glob({"id": "{anchor}", "limit": 20}, rule=public_only, check=public_neighbours, semantic=True),
    ],
    # suggestions: EU themes and the tags of the public datasets (logged-in users): a hidden dataset's tag is
    # a leak; the member's answer must carry a public dataset's tag (there are fewer public tags than asked)
    "udp_semantic_suggest": [
        glob(
            {"title": "Leak Geharvestet", "notes": "Beschreibung Aus der Quelle", "keywords": 20},
            rule=public_only,
            semantic=True,
        )
    ],
    # --- changes: refused to every viewer; check_access allows the role ---------------------
    "package_update": [change({"id": "{id}", "name": "{name}", "title": "x"})],
    "package_patch": [change({"id": "{name}", "notes": "x"})],
    # (CKAN's package_revise auth reads the id from ``update``: without it a ValidationError, not a verdict)
    "package_revise": [change({"match": {"id": "{id}"}, "update": {"id": "{id}", "notes": "x"}})],
    "package_delete": [change({"id": "{name}"})],
    "dataset_purge": [change({"id": "{name}"}, role="sysadmin")],
    "package_owner_org_update": [change({"id": "{name}", "organization_id": "{other_org}"})],
    "package_resource_reorder": [change({"id": "{id}", "order": ["{resource_id}"]})],
    "package_create_default_resource_views": [change({"package": {"id": "{id}"}})],
    "resource_create": [change({"package_id": "{id}", "url": "http://example.invalid/x.csv", "name": "x"})],
    "resource_update": [change({"id": "{resource_id}", "url": "http://example.invalid/x.csv"})],
    "resource_patch": [change({"id": "{resource_id}", "name": "x"})],
    "resource_delete": [change({"id": "{resource_id}"})],
    "resource_create_default_resource_views": [change({"resource": {"id": "{resource_id}"}})],
    "resource_view_create": [change({"resource_id": "{resource_id}", "view_type": "image_view", "title": "x"})],
    "resource_view_update": [change({"id": "{view_id}", "title": "x"}, where=hand_made)],
    "resource_view_delete": [change({"id": "{view_id}"}, where=hand_made)],
    "resource_view_reorder": [change({"id": "{table_id}", "order": ["{view_id}"]}, where=hand_made)],
    "package_relationship_create": [change({"subject": "{anchor}", "object": "{id}", "type": "child_of"})],
    "package_relationship_update": [
        change({"subject": "{anchor}", "object": "{id}", "type": "links_to", "comment": "x"})
    ],
    "package_relationship_delete": [change({"subject": "{anchor}", "object": "{id}", "type": "links_to"})],
    "member_create": [
        change({"id": "{group}", "object": "{id}", "object_type": "package", "capacity": "public"}, role="sysadmin")
    ],
    "member_delete": [change({"id": "{group}", "object": "{id}", "object_type": "package"}, role="sysadmin")],
    "bulk_update_public": [change({"datasets": ["{id}"], "org_id": "{org_id}"}, role="admin")],
    "bulk_update_private": [change({"datasets": ["{id}"], "org_id": "{org_id}"}, role="admin")],
    "bulk_update_delete": [change({"datasets": ["{id}"], "org_id": "{org_id}"}, role="admin")],
    "follow_dataset": [item({"id": "{name}"}, rule=logged_in_may_see, detect=following, exact=True)],
    "unfollow_dataset": [item({"id": "{name}"}, rule=logged_in_may_see, detect="status")],
    "activity_create": [
        change(
            {"object_id": "{id}", "activity_type": "changed package", "user_id": "{editor}", "data": {}},
            role="sysadmin",
        )
    ],
    "activity_delete": [change({"id": "{activity_id}"}, role="sysadmin")],
    "task_status_update": [
        change(
            {
                "entity_id": "{table_id}",
                "entity_type": "resource",
                "task_type": "udp_probe",
                "key": "probe",
                "value": "x",
                "state": "done",
                "last_updated": "2024-01-01T00:00:00",
            },
            role="sysadmin",
            where=hand_made,
        )
    ],
    "datastore_create": [
        change(
            {"resource_id": "{table_id}", "force": True, "fields": [{"id": "value", "type": "int"}]}, where=hand_made
        )
    ],
    "datastore_upsert": [
        change(
            {"resource_id": "{table_id}", "force": True, "method": "insert", "records": [{"value": 2}]}, where=hand_made
        )
    ],
    "datastore_delete": [
        change({"resource_id": "{table_id}", "force": True, "filters": {"value": 99}}, where=hand_made)
    ],
    "datastore_records_delete": [
        change({"resource_id": "{table_id}", "force": True, "filters": {"value": 99}}, where=hand_made)
    ],
    "datastore_run_triggers": [change({"resource_id": "{table_id}"}, where=hand_made)],
    # udp_sozialatlas: derive a disclosure-protected table into a dataset (its editors)
    "udp_sozialatlas_publish": [change({"resource_id": "{table_id}", "dataset_id": "{name}"}, where=hand_made)],
    "udp_submit": [change({"id": "{name}"})],
    "udp_approve": [change({"id": "{name}"}, role="reviewer")],
    "udp_reject": [change({"id": "{name}", "reason": "x"}, role="reviewer")],
    "udp_withdraw": [change({"id": "{name}", "reason": "x"})],
    "udp_archive": [change({"id": "{name}"}, role="reviewer")],
    "udp_restore": [change({"id": "{name}"}, role="reviewer")],
    "udp_set_access_class": [change({"id": "{name}", "access_class": "open"}, role="reviewer")],
    # harvest sources and their jobs
    "harvest_source_update": [
        change(
            {"id": "{id}", "url": "{source_url}", "source_type": "dcat_rdf", "name": "{name}", "title": "x"},
            role="admin",
            kinds=SOURCE,
        )
    ],
    "harvest_source_patch": [change({"id": "{id}", "title": "x"}, role="admin", kinds=SOURCE)],
    "harvest_source_delete": [change({"id": "{id}"}, role="admin", kinds=SOURCE)],
    "harvest_source_clear": [change({"id": "{id}"}, role="admin", kinds=SOURCE)],
    "harvest_source_index_clear": [change({"id": "{id}"}, role="admin", kinds=SOURCE)],
    "harvest_source_job_history_clear": [change({"id": "{id}"}, role="admin", kinds=SOURCE)],
    "harvest_source_reindex": [change({"id": "{id}"}, role="admin", kinds=SOURCE)],
    "harvest_job_create": [change({"source_id": "{id}"}, role="admin", kinds=SOURCE)],
    "harvest_job_abort": [change({"source_id": "{id}"}, role="admin", kinds=SOURCE)],
    "harvest_send_job_to_gather_queue": [change({"id": "{job_id}"}, role="sysadmin", kinds=SOURCE)],
    # the stewards' harvest dashboard: the organization's editors only
    "udp_harvest_sources": [glob({}, rule=nobody, seer="editor", kinds=SOURCE)],
    "udp_harvest_source_runs": [item({"id": "{id}"}, rule=nobody, seer="editor", kinds=SOURCE)],
    "harvest_objects_import": [change({"source_id": "{id}"}, role="sysadmin", kinds=SOURCE)],
    "harvest_object_create": [change({"job_id": "{job_id}", "guid": "x"}, role="sysadmin", kinds=SOURCE)],
}

_ADMIN = (
    "administration of users, groups, organizations or the site (admins only by CKAN's auth); "
    "takes no dataset and answers none"
)
_SYSADMIN = "sysadmin-only maintenance that takes no dataset and answers none"
_NOT_DATASETS = "answers about {what}, never about datasets"
_CALLABLE = (
    "a ckanext-harvest helper exposed as an action: not callable from the API (refused "
    "by udp_security), tested in tests/security"
)
_KLIMA_READ = (
    "a Klimadashboard tile (takes a tile id, not a dataset): answers only tiles whose dataset the public "
    "sees (compat.is_public), 404 otherwise; tests/klima/test_klima.py withdraws a tile's dataset and "
    "finds it on no channel"
)
_KLIMA_WRITE = (
    "changes a Klimadashboard tile (sysadmins only; a tile on a dataset that is not published and open "
    "is refused): tests/klima/test_klima.py"
)
EXEMPT_ACTIONS: dict[str, str] = {
    "status_show": "site version and extensions; no dataset",
    "auth_allow_anonymous_access": "ckanext-harvest's local auth decorator, in the action registry because its "
    "actions and auth functions share one dict; calling it answers no dataset",
    "harvest_sources_clear": "ckanext-harvest's auth function of that name, in the action registry like "
    "auth_allow_anonymous_access; answers an auth verdict, no dataset",
    "udp_harvest_run_now": (
        "queues a run of a harvest source (a write, members of the source's organization "
        "only; tests/harvest/test_harvest_actions.py); answers the job, no dataset"
    ),
    "xloader_submit": (
        "queues a DataStore load of a resource; needs package_update of its dataset "
        "(xloader's datastore_auth), i.e. its editors, who may see it"
    ),
    "xloader_status": (
        "the load state of a resource; needs package_update of its dataset (xloader's "
        "datastore_auth), i.e. its editors, who may see it"
    ),
    "xloader_hook": "the loader job's callback (API token of the job); answers nothing about datasets",
    "help_show": "the docstring of an action",
    "udp_changes": (
        "the public change feed: datasets as an anonymous package_search shows them, tombstones "
        "(ids) only of datasets that were public; tests/api/test_changes.py checks that a dataset "
        "never public is never named (a probe here would count the tombstones of withdrawn ones)"
    ),
    "license_list": _NOT_DATASETS.format(what="licences"),
    "vocabulary_list": _NOT_DATASETS.format(what="tag vocabularies"),
    "vocabulary_show": _NOT_DATASETS.format(what="a tag vocabulary"),
    "vocabulary_create": _ADMIN,
    "vocabulary_update": _ADMIN,
    "vocabulary_delete": _ADMIN,
    "member_roles_list": _NOT_DATASETS.format(what="the roles of members"),
    "scheming_dataset_schema_list": _NOT_DATASETS.format(what="the dataset schemas"),
    "scheming_dataset_schema_show": _NOT_DATASETS.format(what="a dataset schema"),
    "harvesters_info_show": _NOT_DATASETS.format(what="the installed harvester types"),
    "config_option_list": _NOT_DATASETS.format(what="the editable site settings (sysadmins)"),
    "config_option_show": _NOT_DATASETS.format(what="a site setting (sysadmins)"),
    "config_option_update": _ADMIN,
    "get_site_user": "the site user (sysadmins only); no dataset",
    "api_token_list": _NOT_DATASETS.format(what="a user's API tokens"),
    "api_token_create": _ADMIN,
    "api_token_revoke": _ADMIN,
    "term_translation_show": _NOT_DATASETS.format(what="translations of terms"),
    "term_translation_update": _ADMIN,
    "term_translation_update_many": _ADMIN,
    "user_autocomplete": _NOT_DATASETS.format(what="users (logged-in users only; tests/security)"),
    "organization_autocomplete": _NOT_DATASETS.format(what="organizations"),
    "group_autocomplete": _NOT_DATASETS.format(what="groups"),
    "format_autocomplete": (
        "formats come from the closed file-type vocabulary of the schema: a format names no dataset"
    ),
    "organization_list_for_user": _NOT_DATASETS.format(what="the organizations of a user"),
    "group_list_authz": _NOT_DATASETS.format(what="the groups a user may edit"),
    "am_following_group": _NOT_DATASETS.format(what="following a group"),
    "am_following_user": _NOT_DATASETS.format(what="following a user"),
    "group_followee_count": _NOT_DATASETS.format(what="followed groups"),
    "group_followee_list": _NOT_DATASETS.format(what="followed groups"),
    "organization_followee_count": _NOT_DATASETS.format(what="followed organizations"),
    "organization_followee_list": _NOT_DATASETS.format(what="followed organizations"),
    "user_followee_count": _NOT_DATASETS.format(what="followed users"),
    "user_followee_list": _NOT_DATASETS.format(what="followed users"),
    "group_follower_count": _NOT_DATASETS.format(what="followers of a group"),
    "group_follower_list": _NOT_DATASETS.format(what="followers of a group"),
    "organization_follower_count": _NOT_DATASETS.format(what="followers of an organization"),
    "organization_follower_list": _NOT_DATASETS.format(what="followers of an organization"),
    "user_follower_count": _NOT_DATASETS.format(what="followers of a user"),
    "user_follower_list": _NOT_DATASETS.format(what="followers of a user"),
    "follow_group": _ADMIN,
    "unfollow_group": _ADMIN,
    "follow_user": _ADMIN,
    "unfollow_user": _ADMIN,
    "udp_org_settings_show": _NOT_DATASETS.format(what="an organization's four-eyes setting"),
    "udp_org_settings_update": _ADMIN,
    "udp_reviewer_list": _NOT_DATASETS.format(what="an organization's reviewers"),
    "udp_reviewer_add": _ADMIN,
    "udp_reviewer_remove": _ADMIN,
    "user_create": _ADMIN,
    "user_update": _ADMIN,
    "user_patch": _ADMIN,
    "user_delete": _ADMIN,
    "user_invite": _ADMIN,
    "group_create": _ADMIN,
    "group_update": _ADMIN,
    "group_patch": _ADMIN,
    "group_delete": _ADMIN,
    "group_purge": _ADMIN,
    "group_member_create": _ADMIN,
    "group_member_delete": _ADMIN,
    "organization_create": _ADMIN,
    "organization_update": _ADMIN,
    "organization_patch": _ADMIN,
    "organization_delete": _ADMIN,
    "organization_purge": _ADMIN,
    "organization_member_create": _ADMIN,
    "organization_member_delete": _ADMIN,
    "tag_create": "creates a vocabulary tag (sysadmins); takes no dataset",
    "tag_delete": "deletes a vocabulary tag (sysadmins); takes no dataset",
    "job_cancel": _SYSADMIN,
    "job_clear": _SYSADMIN,
    "activity_delete_all": _SYSADMIN,
    "activity_delete_counts": _SYSADMIN,
    "dashboard_mark_activities_old": "marks the caller's own dashboard as read; answers nothing",
    "send_email_notifications": _SYSADMIN,
    "resource_view_clear": "sysadmins only: deletes all views of some types; answers nothing",
    "task_status_update_many": "sysadmins only (as task_status_update, which is exercised)",
    "task_status_delete": "sysadmins only; deletes a task status by its own id and answers nothing",
    "datastore_function_create": "sysadmins only: creates a PostgreSQL trigger function; no dataset",
    "datastore_function_delete": "sysadmins only: drops a PostgreSQL trigger function; no dataset",
    "package_create": (
        "creates a new dataset; a taken name must be refused, which tells that the name "
        "exists (names are unique across the portal by design)"
    ),
    "package_collaborator_create": "dataset collaborators are switched off (ckan.auth.allow_dataset_collaborators)",
    "package_collaborator_delete": "dataset collaborators are switched off (ckan.auth.allow_dataset_collaborators)",
    "package_collaborator_list": (
        "dataset collaborators are switched off: refused to everybody "
        "(the clean 403 for hidden datasets is tested in tests/security)"
    ),
    "package_collaborator_list_for_user": "dataset collaborators are switched off: refused to everybody",
    "harvest_source_create": "creates a new harvest source; takes no existing dataset",
    "harvest_job_create_all": _SYSADMIN,
    "harvest_jobs_run": _SYSADMIN,
    "harvest_abort_failed_jobs": _SYSADMIN,
    "harvest_sources_job_history_clear": _SYSADMIN,
    "harvest_sources_reindex": _SYSADMIN,
    "harvest_get_notifications_recipients": "sysadmins only: the e-mail recipients of a source's mails",
    "send_summary_email": _CALLABLE,
    "send_error_email": _CALLABLE,
    "send_mail": _CALLABLE,
    "InactiveSource": "an exception class of ckanext-harvest registered as an action: refused by udp_security",
    "file_create": "CKAN's file API: files of this portal are not attached to datasets (resource uploads use "
    "the resource uploader), so no file is a dataset's",
    "file_register": "CKAN's file API (see file_create)",
    "file_delete": "CKAN's file API (see file_create)",
    "file_show": "CKAN's file API (see file_create)",
    "file_rename": "CKAN's file API (see file_create)",
    "file_pin": "CKAN's file API (see file_create)",
    "file_unpin": "CKAN's file API (see file_create)",
    "file_owner_scan": "CKAN's file API (see file_create)",
    "file_ownership_transfer": "CKAN's file API (see file_create)",
    # the Klimadashboard (udp_klima): tiles, not datasets; a tile names a dataset only while the public sees it
    "udp_klima_tile_list": _KLIMA_READ,
    "udp_klima_tile_show": _KLIMA_READ,
    "udp_klima_tile_data": _KLIMA_READ,
    "udp_klima_tile_create": _KLIMA_WRITE,
    "udp_klima_tile_update": _KLIMA_WRITE,
    "udp_klima_tile_delete": _KLIMA_WRITE,
    "udp_klima_tile_reorder": _KLIMA_WRITE,
}


# --- URL rules ---------------------------------------------------------------------------
# URL rules are asked for the hand-made datasets in all 15 states (rendering
# pages is what costs): harvested datasets go through the same views, are
# asked on every action, and on the harvest-specific rules (kinds=HARVESTED)
PAGES = ("dataset",)
HARVESTED = ("harvested",)


def get(url: str, query: Any = None, **kw: Any) -> Probe:
    kw.setdefault("kinds", PAGES)
    return Probe(url=url, params=query, method="GET", **kw)


def page(url: str, query: Any = None, **kw: Any) -> Probe:
    return Probe(url=url, params=query, method="GET", scope="global", **kw)


def post(url: str, form: Any, action: str, role: str = "editor", **kw: Any) -> Probe:
    """A form that changes something: refused to every viewer; ``action`` (check_access) allows ``role``."""
    kw.setdefault("kinds", PAGES)
    kw.setdefault("rule", nobody)
    kw.setdefault("detect", "status")
    return Probe(url=url, params=form, method="POST", write=role, action=action, **kw)


def editor_page(url: str, action: str, **kw: Any) -> Probe:
    """A page for the organization's editors (forms, management): refused to every viewer."""
    kw.setdefault("kinds", PAGES)
    kw.setdefault("rule", nobody)
    return Probe(url=url, method="GET", write="editor", action=action, detect="status", **kw)


DS = "/dataset/{name}"
RES = DS + "/resource/{resource_id}"
TABLE = DS + "/resource/{table_id}"
HRES = "/harvest/{name}/resource/{resource_id}"
VIEW_PREVIEW = '{"view_type": "image_view", "title": "Vorschau", "image_url": "http://x.invalid/a.png"}'
ROUTES: dict[str, list[Probe]] = {
    "/": [page("/")],
    "/about": [page("/about", detect="status")],
    "/dataset/": [
        get("/dataset/", {"q": "{marker}"}, exact=True),
        page("/dataset/", {"q": "Leak"}),  # titles are "Leak <marker>" (Solr matches no prefix of a marker)
        page("/dataset/", {"q": "Leak Beschreibung Geharvestet"}, semantic=True, label="hybrid"),
        # (q: a word of every title, so the member's answer shows items: a prefix of the markers matches none)
        # include_private is no parameter of the search page: CKAN's view makes every unknown parameter a
        # filter (include_private:"True"), which matches nothing for anybody; a trick, asked for leaks only
        page("/dataset/", {"q": "Leak", "include_private": "True", "sort": "name asc"}, attack=True),
    ],
    "/dataset/<id>": [
        get(DS, exact=True),
        # with udp_semantic on, the page ends with "Ähnliche Datensätze": public datasets only
        get(DS, exact=True, semantic=True, label="with similar datasets"),
    ],
    "/dataset/<_id>.<_format>": [get("/dataset/{id}.rdf", exact=True), get("/dataset/{name}.jsonld")],
    "/dataset/activity/<id>": [get("/dataset/activity/{name}", exact=True, detect="status")],
    # pages of an activity's data: for who may edit the dataset (the editor answers)
    # (a change is a diff with the activity before: the oldest has none, and a "new resource view" activity
    # carries no dataset, so CKAN answers 404 for ranges over one; the newest change of every item is asked)
    "/dataset/changes/<id>": [get("/dataset/changes/{diff_new_activity_id}", seer="editor")],
    "/dataset/changes_multiple": [
        get(
            "/dataset/changes_multiple",
            {"new_id": "{diff_new_activity_id}", "old_id": "{diff_old_activity_id}"},
            seer="editor",
        )
    ],
    "/dataset/<id>/history/<activity_id>": [get(DS + "/history/{oldest_activity_id}", seer="editor")],
    "/dataset/<id>/resources/<resource_id>/history/<activity_id>": [
        get(DS + "/resources/{resource_id}/history/{diff_new_activity_id}", seer="editor")
    ],
    "/dataset/<id>/resource/<resource_id>": [get(RES, exact=True)],
    "/dataset/<id>/resource/<resource_id>/download": [get(RES + "/download", exact=True, detect=answered)],
    "/dataset/<id>/resource/<resource_id>/download/<filename>": [
        get(RES + "/download/x.csv", exact=True, detect=answered)
    ],
    # without a view id CKAN renders the view given in ``resource_view`` (the view form's preview), else 404
    "/dataset/<id>/resource/<resource_id>/view": [
        get(
            TABLE + "/view",
            {"resource_view": VIEW_PREVIEW},
            where=hand_made,
            detect=answered,
        )
    ],
    "/dataset/<id>/resource/<resource_id>/view/<view_id>": [
        get(TABLE + "/view/{view_id}", exact=True, where=hand_made)
    ],
    "/dataset/<id>/resource/<resource_id>/views": [
        editor_page(TABLE + "/views", "resource_view_create", where=hand_made)
    ],
    "/dataset/<id>/resource/<resource_id>/edit": [
        editor_page(RES + "/edit", "resource_update"),
        post(RES + "/edit", {"name": "x", "url": "http://x.invalid/"}, "resource_update"),
    ],
    "/dataset/<id>/resource/<resource_id>/delete": [
        editor_page(RES + "/delete", "resource_delete"),
        post(RES + "/delete", {"delete": "1"}, "resource_delete"),
    ],
    "/dataset/<id>/resource/<resource_id>/new_view": [
        editor_page(RES + "/new_view?view_type=image_view", "resource_view_create"),
        post(
            RES + "/new_view?view_type=image_view",
            {"title": "x", "image_url": "http://x.invalid/a.png"},
            "resource_view_create",
        ),
    ],
    "/dataset/<id>/resource/<resource_id>/edit_view/<view_id>": [
        editor_page(TABLE + "/edit_view/{view_id}", "resource_view_update", where=hand_made),
        post(TABLE + "/edit_view/{view_id}", {"title": "x"}, "resource_view_update", where=hand_made),
    ],
    "/dataset/<id>/resource/new": [
        editor_page(DS + "/resource/new", "resource_create"),
        post(DS + "/resource/new", {"name": "x", "url": "http://x.invalid/", "save": "go-metadata"}, "resource_create"),
    ],
    "/dataset/<id>/dictionary/<resource_id>": [
        editor_page(DS + "/dictionary/{table_id}", "datastore_create", where=hand_made),
        post(DS + "/dictionary/{table_id}", {"info__0__label": "x"}, "datastore_create", where=hand_made),
    ],
    "/dataset/<id>/governance/<action>": [
        post(DS + "/governance/submit", {}, "udp_submit"),
        post(DS + "/governance/approve", {}, "udp_approve", role="reviewer"),
        post(DS + "/governance/withdraw", {"reason": "x"}, "udp_withdraw"),
    ],
    "/dataset/<id>/governance/audit.csv": [get(DS + "/governance/audit.csv", rule=members_only, exact=True)],
    "/dataset/<id>/qualitaet": [editor_page(DS + "/qualitaet", "package_update")],
    "/dataset/<id>/sensors/<kind>.<fmt>": [
        get(DS + "/sensors/observations.csv", exact=True, detect="status", where=hand_made),
        get(DS + "/sensors/latest.json", detect="status", where=hand_made),
    ],
    "/dataset/edit/<id>": [
        editor_page("/dataset/edit/{name}", "package_update"),
        post("/dataset/edit/{name}", {"title": "x", "save": "1"}, "package_update"),
    ],
    "/dataset/delete/<id>": [
        editor_page("/dataset/delete/{name}", "package_delete"),
        post("/dataset/delete/{name}", {"delete": "1"}, "package_delete"),
    ],
    "/dataset/resources/<id>": [editor_page("/dataset/resources/{name}", "package_update")],
    "/dataset/groups/<id>": [
        get("/dataset/groups/{name}"),
        post("/dataset/groups/{name}", {"group_added": "{group}"}, "member_create", role="sysadmin"),
    ],
    "/dataset/follow/<id>": [
        Probe(url="/dataset/follow/{name}", method="POST", rule=logged_in_may_see, detect="status", kinds=PAGES)
    ],
    "/dataset/unfollow/<id>": [
        Probe(url="/dataset/unfollow/{name}", method="POST", rule=logged_in_may_see, detect="status", kinds=PAGES)
    ],
    "/dataset/followers/<id>": [get("/dataset/followers/{name}", rule=nobody, seer="sysadmin")],
    "/dataset/harvest_object/<id>": [
        get("/dataset/harvest_object/{id}", rule=members_only, exact=True, kinds=HARVESTED)
    ],
    # the grid preview (udp_grid) of an uploaded NetCDF file: an image and its statistics, no tell-tale
    "/dataset/<id>/resource/<resource_id>/grid.png": [
        get(DS + "/resource/{grid_id}/grid.png", exact=True, detect="status", where=gridded)
    ],
    "/dataset/<id>/resource/<resource_id>/grid.json": [
        get(DS + "/resource/{grid_id}/grid.json", {"time": "1"}, exact=True, detect="status", where=gridded)
    ],
    "/datastore/dump/<resource_id>": [get("/datastore/dump/{table_id}", exact=True, detect="status", where=hand_made)],
    # the API help of a table names the table's id, which the request brings: any 2xx shows it
    "/datastore/api_info/<resource_id>": [
        get("/datastore/api_info/{table_id}", exact=True, where=hand_made, detect="status")
    ],
    "/datatables/ajax/<resource_view_id>": [
        Probe(
            url="/datatables/ajax/{view_id}",
            method="POST",
            detect="status",
            exact=True,
            where=hand_made,
            params={
                "draw": "1",
                "start": "0",
                "length": "10",
                "search[value]": "",
                "order[0][column]": "0",
                "order[0][dir]": "asc",
                "columns[0][data]": "value",
                "columns[0][name]": "value",
                "columns[0][searchable]": "true",
            },
        )
    ],
    "/datatables/filtered-download/<resource_view_id>": [
        Probe(
            url="/datatables/filtered-download/{view_id}",
            method="POST",
            detect=answered,  # redirects to the table's dump
            exact=True,
            where=hand_made,
            params={
                # (CKAN reads ``visible`` from inside ``params``)
                "params": '{"draw": "1", "start": "0", "length": "10", '
                '"search": {"value": ""}, "order": [], "columns": [], "visible": [true]}',
                "format": "csv",
            },
        )
    ],
    "/api/<int(min=1, max=2):ver>/util/dataset/autocomplete": [
        page("/api/2/util/dataset/autocomplete", {"incomplete": "leak"})
    ],
    "/api/util/dataset/autocomplete": [page("/api/util/dataset/autocomplete", {"incomplete": "geharvestet"})],
    "/api/<int(min=1, max=2):ver>/util/tag/autocomplete": [
        get("/api/2/util/tag/autocomplete", {"incomplete": "{tag_prefix}"}, exact=True)
    ],
    "/api/util/tag/autocomplete": [get("/api/util/tag/autocomplete", {"incomplete": "{tag_prefix}"}, exact=True)],
    "/api/action/<logic_function>": [get("/api/action/package_show", {"id": "{name}"}, exact=True)],
    "/catalog.<_format>": [
        page("/catalog.ttl", rule=public_only, exact=True),
        page("/catalog.rdf", {"fq": "capacity:private OR *:*"}, rule=public_only),
    ],
    "/feeds/dataset.atom": [page("/feeds/dataset.atom", rule=public_only, exact=True)],
    # (q: a word of every hand-made title; "mk" matched a marker only when Solr split it at a digit: flaky)
    "/feeds/custom.atom": [page("/feeds/custom.atom", {"q": "Leak"}, rule=public_only)],
    "/feeds/organization/<string:id>.atom": [page("/feeds/organization/{org}.atom", rule=public_only)],
    "/feeds/group/<string:id>.atom": [page("/feeds/group/{group}.atom", rule=public_only)],
    "/feeds/tag/<string:id>.atom": [get("/feeds/tag/{tag}.atom", rule=public_only, exact=True)],
    # pages that list organizations, groups or users, not datasets: the seer's 2xx is the positive control
    "/organization/": [page("/organization/", detect="status")],
    "/organization/<id>": [page("/organization/{org}"), get("/organization/{org}", {"q": "{marker}"}, exact=True)],
    "/organization/about/<id>": [page("/organization/about/{org}", detect="status")],
    "/organization/activity/<id>": [page("/organization/activity/{org}")],
    # CKAN's changes pages of a group or organization: activity_diff/activity_show of a group activity, which
    # CKAN's auth grants sysadmins only ("object_type not recognized" for everybody else); asked with the
    # organization's own activities (the sysadmin answers) and, as a trick, with each dataset's
    "/organization/changes/<id>": [
        page("/organization/changes/{org_new_activity_id}", seer="sysadmin", detect="status"),
        get("/organization/changes/{newest_activity_id}", attack=True, label="(a dataset's activity)"),
    ],
    "/organization/changes_multiple": [
        page(
            "/organization/changes_multiple",
            {"new_id": "{org_new_activity_id}", "old_id": "{org_old_activity_id}"},
            seer="sysadmin",
            detect="status",
        ),
        get(
            "/organization/changes_multiple",
            {"new_id": "{newest_activity_id}", "old_id": "{oldest_activity_id}"},
            attack=True,
            label="(a dataset's activities)",
        ),
    ],
    "/organization/bulk_process/<id>": [
        page("/organization/bulk_process/{org}", rule=nobody, seer="admin"),  # CKAN: bulk_update_public
        post(
            "/organization/bulk_process/{org}",
            {"dataset_{id}": "on", "bulk_action.public": "public"},
            "bulk_update_public",
            role="admin",
        ),
    ],
    "/group/": [page("/group/", detect="status")],
    "/group/<id>": [page("/group/{group}"), get("/group/{group}", {"q": "{marker}"}, exact=True)],
    "/group/about/<id>": [page("/group/about/{group}", detect="status")],
    "/group/activity/<id>": [page("/group/activity/{group}")],
    "/group/changes/<id>": [
        page("/group/changes/{group_new_activity_id}", seer="sysadmin", detect="status"),
        get("/group/changes/{newest_activity_id}", attack=True, label="(a dataset's activity)"),
    ],
    "/group/changes_multiple": [
        page(
            "/group/changes_multiple",
            {"new_id": "{group_new_activity_id}", "old_id": "{group_old_activity_id}"},
            seer="sysadmin",
            detect="status",
        ),
        get(
            "/group/changes_multiple",
            {"new_id": "{newest_activity_id}", "old_id": "{oldest_activity_id}"},
            attack=True,
            label="(a dataset's activities)",
        ),
    ],
    # the member's news feed and own datasets (the member made none): any 2xx answers
    "/dashboard/": [page("/dashboard/", detect="status")],
    "/dashboard/datasets": [page("/dashboard/datasets", detect="status")],
    "/dashboard/governance": [page("/dashboard/governance")],
    "/user/<id>": [page("/user/{editor}")],
    "/user/": [page("/user/", {"q": "{editor}"}, detect="status")],
    # the reviewer's decisions are in the audit trail, not the activity stream: it may be empty, it must answer
    "/user/activity/<id>": [page("/user/activity/{editor}"), page("/user/activity/{reviewer}", detect="status")],
    # the trash lists deleted datasets (the world has none) and the site's activities are its sysadmins'
    "/ckan-admin/trash": [page("/ckan-admin/trash", rule=nobody, seer="sysadmin", detect="status")],
    "/ckan-admin/activities": [page("/ckan-admin/activities", rule=nobody, seer="sysadmin", detect="status")],
    # the Sozialatlas (udp_sozialatlas): tables read as an anonymous visitor (the world has no district table)
    "/sozialatlas": [page("/sozialatlas", detect="status")],
    # the transparency portal's drift page and its two buttons (udp_transparency): sysadmins only
    "/ckan-admin/transparenz": [page("/ckan-admin/transparenz", rule=nobody, seer="sysadmin", detect="status")],
    "/ckan-admin/transparenz/push": [
        post("/ckan-admin/transparenz/push", {}, "sysadmin", role="sysadmin", scope="global")
    ],
    "/ckan-admin/transparenz/reconcile": [
        post("/ckan-admin/transparenz/reconcile", {"id": "{id}"}, "sysadmin", role="sysadmin")
    ],
    # harvest sources (a dataset type of ckanext-harvest) and harvest jobs
    "/harvest/": [page("/harvest/", rule=members_only, kinds=SOURCE)],
    # the stewards' harvest dashboard (udp_harvest_dashboard)
    "/dashboard/harvest": [page("/dashboard/harvest", rule=nobody, seer="editor", kinds=SOURCE, detect="status")],
    "/dashboard/harvest/<id>": [get("/dashboard/harvest/{id}", rule=nobody, seer="editor", kinds=SOURCE)],
    "/dashboard/harvest/new": [
        page("/dashboard/harvest/new", rule=nobody, seer="editor", kinds=SOURCE, detect="status")
    ],
    "/dashboard/harvest/<id>/run": [
        post("/dashboard/harvest/{id}/run", {}, "udp_harvest_run_now", role="editor", kinds=SOURCE)
    ],
    # xloader's pages of a table (its editors only)
    "/dataset/<id>/resource_data/<resource_id>": [
        editor_page(DS + "/resource_data/{table_id}", "xloader_status", where=hand_made)
    ],
    "/dataset/<id>/delete-datastore/<resource_id>": [
        post(DS + "/delete-datastore/{table_id}", {}, "datastore_delete", where=hand_made)
    ],
    "/harvest/<id>": [get("/harvest/{name}", rule=members_only, exact=True, kinds=SOURCE)],
    "/harvest/about/<id>": [get("/harvest/about/{name}", rule=members_only, exact=True, kinds=SOURCE)],
    # the source's management pages (editors of its organization): they show jobs, not the source's
    # description, so any 2xx counts as shown
    "/harvest/admin/<id>": [get("/harvest/admin/{name}", rule=nobody, seer="editor", kinds=SOURCE, detect="status")],
    "/harvest/<source>/job": [get("/harvest/{name}/job", rule=nobody, seer="editor", kinds=SOURCE, detect="status")],
    "/harvest/<source>/job/<id>": [
        get("/harvest/{name}/job/{job_id}", rule=nobody, seer="editor", kinds=SOURCE, detect="status")
    ],
    "/harvest/<source>/job/last": [
        get("/harvest/{name}/job/last", rule=nobody, seer="editor", kinds=SOURCE, detect="status")
    ],
    "/harvest/<source>/job/<id>/abort": [
        editor_page("/harvest/{name}/job/{job_id}/abort", "harvest_job_abort", kinds=SOURCE)
    ],
    "/harvest/object/<id>": [
        get("/harvest/object/{harvest_object_id}", rule=members_only, exact=True, kinds=HARVESTED)
    ],
    "/harvest/edit/<id>": [
        editor_page("/harvest/edit/{name}", "harvest_source_update", kinds=SOURCE),
        post("/harvest/edit/{name}", {"title": "x", "save": "1"}, "harvest_source_update", role="admin", kinds=SOURCE),
    ],
    "/harvest/delete/<id>": [
        editor_page("/harvest/delete/{name}", "harvest_source_delete", kinds=SOURCE),
        post("/harvest/delete/{name}", {"delete": "1"}, "harvest_source_delete", role="admin", kinds=SOURCE),
    ],
    "/harvest/clear/<id>": [post("/harvest/clear/{name}", {}, "harvest_source_clear", role="admin", kinds=SOURCE)],
    "/harvest/refresh/<id>": [post("/harvest/refresh/{name}", {}, "harvest_job_create", role="admin", kinds=SOURCE)],
    "/harvest/resources/<id>": [editor_page("/harvest/resources/{name}", "harvest_source_update", kinds=SOURCE)],
    "/harvest/groups/<id>": [get("/harvest/groups/{name}", rule=members_only, kinds=SOURCE, detect="status")],
    "/harvest/followers/<id>": [
        get("/harvest/followers/{name}", rule=nobody, seer="sysadmin", kinds=SOURCE, detect="status")
    ],
    "/harvest/follow/<id>": [
        Probe(url="/harvest/follow/{name}", method="POST", rule=members_only, detect="status", kinds=SOURCE)
    ],
    "/harvest/unfollow/<id>": [
        Probe(url="/harvest/unfollow/{name}", method="POST", rule=members_only, detect="status", kinds=SOURCE)
    ],
    # the dataset-type routes of the harvest type, asked for ordinary datasets
    "/harvest/<id>/resource/<resource_id>": [get(HRES)],
    "/harvest/<id>/resource/<resource_id>/download": [get(HRES + "/download", detect=answered)],
    "/harvest/<id>/resource/<resource_id>/download/<filename>": [get(HRES + "/download/x.csv", detect=answered)],
    "/harvest/<id>/resource/<resource_id>/view": [
        get(
            "/harvest/{name}/resource/{table_id}/view",
            {"resource_view": VIEW_PREVIEW},
            where=hand_made,
            detect=answered,
        )
    ],
    "/harvest/<id>/resource/<resource_id>/view/<view_id>": [
        get("/harvest/{name}/resource/{table_id}/view/{view_id}", where=hand_made)
    ],
    "/harvest/<id>/resource/<resource_id>/views": [editor_page(HRES + "/views", "resource_view_create")],
    "/harvest/<id>/resource/<resource_id>/edit": [editor_page(HRES + "/edit", "resource_update")],
    "/harvest/<id>/resource/<resource_id>/delete": [editor_page(HRES + "/delete", "resource_delete")],
    "/harvest/<id>/resource/<resource_id>/new_view": [
        editor_page(HRES + "/new_view?view_type=image_view", "resource_view_create")
    ],
    "/harvest/<id>/resource/<resource_id>/edit_view/<view_id>": [
        editor_page("/harvest/{name}/resource/{table_id}/edit_view/{view_id}", "resource_view_update", where=hand_made)
    ],
    "/harvest/<id>/resource/new": [editor_page("/harvest/{name}/resource/new", "resource_create")],
}

# --- default probes: a new read-only page is probed, not silently exempt ---------------------------
# A URL rule in neither table whose variables are all known here and which answers GET is probed by default
# as a page that must show nothing hidden (the item's variables filled from every item; the member as the
# positive control that it answers). A rule with an unknown variable, or one that only takes POSTs (a
# change), must be classified by hand: test_every_channel_is_classified fails on it.
RULE_VARIABLES = {
    "id": "{name}",
    "_id": "{id}",
    "package_id": "{id}",
    "dataset_id": "{id}",
    "resource_id": "{resource_id}",
    "view_id": "{view_id}",
    "resource_view_id": "{view_id}",
    "activity_id": "{newest_activity_id}",
    "tag": "{tag}",
}


def default_probe(rule: str, methods: set[str] | frozenset[str]) -> Probe | None:
    import re

    if "GET" not in methods:
        return None
    variables = re.findall(r"<(?:[^:<>]+:)?(\w+)>", rule)
    if any(v not in RULE_VARIABLES for v in variables):
        return None
    url = re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: RULE_VARIABLES[m.group(1)], rule)
    if not variables:
        return page(url, detect="status", label="(default probe)")
    return get(url, detect="status", label="(default probe)", where=hand_made)


_STATIC = "static files (CSS, JavaScript, images) of CKAN and the plugins"
_USERS = "pages about users, their accounts and tokens; no dataset (a user's datasets: /user/<id>, exercised)"
_GROUP_ADMIN = "administration of a group or organization (its admins only): members, settings; no dataset"
EXEMPT_ROUTES: dict[str, str] = {
    "/klimadashboard": "the Klimadashboard: tiles of public datasets only (tests/klima/test_klima.py)",
    "/klimadashboard/kachel/<id>": _KLIMA_READ,
    "/klimadashboard/kachel/<id>/daten.<fmt>": _KLIMA_READ,
    "/klimadashboard/verwalten": "the Klimadashboard's tiles for sysadmins (403 for everybody else)",
    "/klimadashboard/verwalten/neu": _KLIMA_WRITE,
    "/klimadashboard/verwalten/<id>": _KLIMA_WRITE,
    "/klimadashboard/verwalten/<id>/loeschen": _KLIMA_WRITE,
    "/klimadashboard/verwalten/<id>/verschieben": _KLIMA_WRITE,
    "/<path:filename>": _STATIC,
    "/webassets/<path:path>": _STATIC,
    "/robots.txt": "a static robots.txt",
    "/impressum": "legal page: the operator's fixed text, no datasets",
    "/datenschutz": "legal page: the operator's fixed text, no datasets",
    "/barrierefreiheit": "legal page: the operator's fixed text, no datasets",
    "/api/udp/openapi.json": "the OpenAPI description of the plugin endpoints; no dataset",
    "/api/udp/dumps": "list of the bulk downloads (names, sizes, ETags); no dataset content",
    "/api/udp/dumps/<name>": "bulk downloads, built with an anonymous context; tests/api/test_dumps.py "
    "finds no hidden dataset or table in any dump",
    "/entwickler": "the developer page; its examples read only public channels",
    "/api/": "the API's version number",
    "/api/<int(min=1, max=3):ver>": "the API's version number",
    "/api/<int(min=1, max=2):ver>/i18n/<lang>": "translations of the JavaScript strings",
    "/api/i18n/<lang>": "translations of the JavaScript strings",
    "/api/<int(min=3, max=3):ver>/action/<logic_function>": (
        "the action API: every action is exercised through it (the action table)"
    ),
    "/api/<int(min=1, max=2):ver>/util/group/autocomplete": "names of groups",
    "/api/util/group/autocomplete": "names of groups",
    "/api/<int(min=1, max=2):ver>/util/organization/autocomplete": "names of organizations",
    "/api/util/organization/autocomplete": "names of organizations",
    "/api/<int(min=1, max=2):ver>/util/resource/format_autocomplete": "formats (closed vocabulary), see "
    "format_autocomplete",
    "/api/util/resource/format_autocomplete": "formats (closed vocabulary), see format_autocomplete",
    "/api/<int(min=1, max=2):ver>/util/user/autocomplete": "names of users (tests/security: no 500)",
    "/api/util/user/autocomplete": "names of users (tests/security: no 500)",
    "/api/udp/sensors/<source>/uplink": (
        "the sensor webhook: takes uplinks of a configured source with its secret and answers a count"
    ),
    "/util/redirect": "redirects to a local URL named in the request",
    "/no/": "redirects an old locale URL",
    "/no/<path:path>": "redirects an old locale URL",
    "/zh_CN/": "redirects an old locale URL",
    "/zh_CN/<path:path>": "redirects an old locale URL",
    "/zh_TW/": "redirects an old locale URL",
    "/zh_TW/<path:path>": "redirects an old locale URL",
    "/testing/custom_form_fields": "exists only with testing = true (CKAN's test pages)",
    "/testing/dashboard": "exists only with testing = true (CKAN's test pages)",
    "/testing/primer": "exists only with testing = true (CKAN's test pages)",
    "/ckan-admin/": "the sysadmins' settings page; no dataset",
    "/ckan-admin/config": "the sysadmins' settings page; no dataset",
    "/ckan-admin/reset_config": "the sysadmins' settings page; no dataset",
    "/dataset/new": "the form for a new dataset (takes no existing dataset)",
    "/harvest/new": "the form for a new harvest source (takes no existing dataset)",
    "/dashboard/groups": "the groups of the logged-in user",
    "/dashboard/organizations": "the organizations of the logged-in user",
    "/file/download/<id>": "CKAN's file API (see file_create)",
    "/file/public-download/<storage_name>/<path:location>": "CKAN's file API (see file_create)",
    "/file/trusted-download/<token>": "CKAN's file API (see file_create)",
    **{
        rule: _USERS
        for rule in (
            "/user/<id>/api-tokens",
            "/user/<id>/api-tokens/revoke",
            "/user/<id>/groups",
            "/user/<id>/organizations",
            "/user/_logout",
            "/user/logged_out_redirect",
            "/user/login",
            "/user/me",
            "/user/register",
            "/user/reset",
            "/user/reset/<id>",
            "/user/sysadmin",
            "/user/delete/<id>",
            "/user/edit",
            "/user/edit/<id>",
            "/user/follow/<id>",
            "/user/unfollow/<id>",
            "/user/followers/<id>",
        )
    },
    **{
        f"/{kind}/{page}": _GROUP_ADMIN
        for kind in ("group", "organization")
        for page in (
            "admins/<id>",
            "delete/<id>",
            "edit/<id>",
            "follow/<id>",
            "followers/<id>",
            "manage_members/<id>",
            "member_delete/<id>",
            "member_dump/<id>",
            "member_new/<id>",
            "members/<id>",
            "new",
            "unfollow/<id>",
        )
    },
    "/group/bulk_process/<id>": "bulk changes exist for organizations only (exercised there)",
}
