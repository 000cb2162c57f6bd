"""The leak matrix, enumerated from the running app.

Every registered action (CKAN's logic registry: core, activity, DataStore,
ckanext-harvest, ckanext-dcat, scheming and ours) and every Flask URL rule is
either exercised by a probe in ``channels.py`` or listed there as exempt with
the reason it cannot show a dataset; a new action or rule in neither fails
``test_every_channel_is_classified`` (fast, always run).

``test_enumerated_leak_matrix`` builds an organization's datasets in every
workflow state x access class, by hand and by a real DCAT harvest, and asks
every probe as an anonymous visitor, a plain logged-in user, an editor of
another organization and (the positive control) a member of the owning
organization. A cell

- LEAKs when a viewer is shown an item the rules hide from them,
- MISSes when an exact channel does not show what the rules allow,
- is MUTE when the channel does not answer the viewer who may see the item
  (a channel that errors for everybody proves nothing),
- ERRs on any 5xx.
Changes (actions and forms that write) must be refused to every viewer, while
``check_access`` lets the organization's editor (or the named role) do them.
The pending edit of every published dataset must stay invisible everywhere.

The default run (``make test``; UDP_LEAK_MATRIX unset) asks a subset: every probe of every exercised channel,
of a smaller world (``leakworld.QUICK_HAND_MADE``/``QUICK_HARVESTED``: every workflow state and access class and
every visibility class, by hand and by harvest), actions by one viewer per visibility class (``QUICK_VIEWERS``)
and each page of one hidden item by the viewer it is hidden from (``quick_page``), beside the member; it prints
only problems (UDP_LEAK_MATRIX_ROWS=1: a row per probe). The world is built once (one test); actions are called
directly as the action API calls them (the viewer logged in, as in an API request), pages go through the Flask
test client, and a read asked again by the same viewer is answered from its first answer. The model runs on a
pooled engine (``pooled_db``), the world's resources get no xloader job and Solr is committed once after the
build.

``UDP_LEAK_MATRIX=all`` (or a regular expression: only the channels it matches, e.g.
``UDP_LEAK_MATRIX='^harvest|^/harvest'``) asks the complete read pass: one item per workflow state, per access
class and per visibility class (``leakworld.HAND_MADE``/``HARVESTED``), every action by all four viewers, pages of
``PAGE_TARGETS`` by one viewer per visibility class (``PAGE_VIEWERS``). The change pass runs only with
``UDP_LEAK_MATRIX_WRITES=1`` (or the full product); changes are asked of ``WRITE_TARGETS``.
``UDP_LEAK_MATRIX_FULL=1`` asks the whole product (15 states x access classes, by hand and by harvest; about an
hour). The udp_semantic probes run in a semantic pass at the end (``semantic_pass``). A URL rule in neither table
that answers GET with known variables is probed by default (``channels.default_probe``). Run pytest with -s to
see the per-channel summary and the counts.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import channels as ch
import ckan.plugins.toolkit as tk
import pytest
from leakworld import QUICK_HAND_MADE, QUICK_HARVESTED, SECRET, VIEWERS, Item, LeakWorld


def registered_actions() -> list[str]:
    """Every action in CKAN's logic registry, built in a fixed order. CKAN has no public listing:
    ``ckan.logic._actions`` is filled by the first ``get_action`` (internal, read-only use in a test).

    The registry's content depends on what was built first: ckanext-harvest collects both its actions and its auth
    functions into ONE dict (``_get_logic_functions``' mutable default argument), so once its auth functions have
    been built, its ``get_actions`` also hands CKAN the auth-only names (``harvest_sources_clear`` and its local
    ``auth_allow_anonymous_access`` decorator). A fresh process builds the actions first, a process in which
    plugins were reloaded (or a portal that checked access before its first action) after. The matrix enumerates
    the larger registry every time: auth functions first, then the actions anew."""
    import ckan.authz as authz
    import ckan.logic as logic

    authz.auth_functions_list()  # builds the auth functions
    logic.clear_actions_cache()
    tk.get_action("status_show")
    return sorted(logic._actions)  # noqa: SLF001


def registered_rules(app: Any) -> list[str]:
    return sorted({rule.rule for rule in app.flask_app.url_map.iter_rules()})


def default_routes(app: Any) -> dict[str, list[ch.Probe]]:
    """URL rules in neither table that are probed by default (channels.default_probe): a new read-only page."""
    methods: dict[str, set[str]] = collections.defaultdict(set)
    for rule in app.flask_app.url_map.iter_rules():
        methods[rule.rule] |= set(rule.methods or ())
    out = {}
    for rule, allowed in sorted(methods.items()):
        if rule not in ch.ROUTES and rule not in ch.EXEMPT_ROUTES:
            probe = ch.default_probe(rule, allowed)
            if probe is not None:
                out[rule] = [probe]
    return out


# --- classification -------------------------------------------------------------------------


def test_every_channel_is_classified(app):
    actions, rules = registered_actions(), registered_rules(app)
    unclassified = [a for a in actions if a not in ch.ACTIONS and a not in ch.EXEMPT_ACTIONS]
    both = [a for a in actions if a in ch.ACTIONS and a in ch.EXEMPT_ACTIONS]
    stale = [a for a in [*ch.ACTIONS, *ch.EXEMPT_ACTIONS] if a not in actions]
    defaults = default_routes(app)
    unrouted = [r for r in rules if r not in ch.ROUTES and r not in ch.EXEMPT_ROUTES and r not in defaults]
    if defaults:
        print(f"probed by default (read-only pages in neither table): {sorted(defaults)}")
    both_r = [r for r in rules if r in ch.ROUTES and r in ch.EXEMPT_ROUTES]
    stale_r = [r for r in [*ch.ROUTES, *ch.EXEMPT_ROUTES] if r not in rules]
    assert not unclassified, f"actions neither exercised nor exempt: {unclassified}"
    assert not unrouted, f"URL rules neither exercised nor exempt: {unrouted}"
    assert not both and not both_r, f"in both tables: {both + both_r}"
    assert not stale and not stale_r, f"in the tables but not registered: {stale + stale_r}"
    assert all(reason.strip() for reason in [*ch.EXEMPT_ACTIONS.values(), *ch.EXEMPT_ROUTES.values()])
    assert all(ch.ACTIONS[a] for a in ch.ACTIONS) and all(ch.ROUTES[r] for r in ch.ROUTES)


def test_a_new_read_only_page_is_probed_by_default_and_a_new_form_must_be_classified():
    page = ch.default_probe("/dataset/<id>/vorschau/<resource_id>", {"GET", "HEAD"})
    assert page is not None and page.url == "/dataset/{name}/vorschau/{resource_id}" and page.scope == "item"
    legal = ch.default_probe("/impressum", {"GET"})
    assert legal is not None and legal.url == "/impressum" and legal.scope == "global"
    assert ch.default_probe("/dataset/<id>/publish", {"POST"}) is None  # a change: classify it
    assert ch.default_probe("/export/<path:unknown>", {"GET"}) is None  # a variable nobody can fill


# --- the matrix -------------------------------------------------------------------------------

TEMPLATE = re.compile(r"\{(\w+)\}")


def expand(template: Any, env: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Fill a template (str, dict or list) from env; a list-valued variable
    gives one filling per element. Yields (request text, filled value); none
    when a variable is missing (the probe does not apply to the item)."""
    text = json.dumps(template)
    names = [n for n in dict.fromkeys(TEMPLATE.findall(text))]
    missing = [n for n in names if n not in env]
    if missing:
        return
    lists = [n for n in names if isinstance(env[n], list)]
    for combo in itertools.product(*[env[n] for n in lists]):
        values = dict(env, **dict(zip(lists, combo, strict=True)))

        def fill(match: re.Match[str], values: dict[str, Any] = values) -> str:
            name = match.group(1)
            return json.dumps(str(values[name]))[1:-1] if name in values else match.group(0)

        filled = json.loads(TEMPLATE.sub(fill, text))
        yield json.dumps(filled), filled


class Runner:
    def __init__(self, app: Any, world: LeakWorld) -> None:
        self.app = app
        self.world = world
        self.requests = 0  # asked of the app
        self.answered_from_cache = 0
        self.seconds: dict[str, float] = collections.defaultdict(float)
        # a read (GET page or action, not a change) asked again by the same viewer is answered once: several
        # probes (and items) ask the same page or call, and every item is judged against that one answer
        self.cache: dict[tuple[str, str, str, str], tuple[int, str]] = {}

    def act(self, viewer: str, action: str, params: Any) -> tuple[int, str]:
        """An action called directly, as the action API calls it (a quarter of the cost of a request through
        the app); its errors mapped to the API's status codes, its result to the API's JSON body."""
        from ckan import model
        from ckan.common import login_user
        from ckan.lib.search import SearchError

        user = self.world.users[viewer]
        try:
            with self.app.flask_app.test_request_context():  # some actions read the request (DCAT's paging)
                # logged in as the action API's request is (flask-login's current_user, the context's
                # auth_user_obj): CKAN's auth then finds the user without a query per check
                user_obj = model.User.get(user["name"]) if user else None
                if user_obj is not None:
                    login_user(user_obj)
                context = {"user": user["name"] if user else "", "auth_user_obj": user_obj}
                result = tk.get_action(action)(context, dict(params or {}))
        except tk.NotAuthorized as err:
            return 403, json.dumps({"success": False, "error": {"message": str(err)}})
        except tk.ObjectNotFound as err:
            return 404, json.dumps({"success": False, "error": {"message": str(err)}})
        except (tk.ValidationError, SearchError) as err:
            model.Session.rollback()
            return 409, json.dumps({"success": False, "error": str(getattr(err, "error_dict", err))}, default=str)
        return 200, json.dumps({"success": True, "result": result}, default=str)

    def call(self, viewer: str, channel: str, probe: ch.Probe, params: Any, url: str) -> tuple[int, str]:
        read = probe.write is None and (not probe.url or probe.method == "GET")
        key = (viewer, probe.method if probe.url else "action", url or channel, json.dumps(params, sort_keys=True))
        if read and key in self.cache:
            self.answered_from_cache += 1
            return self.cache[key]
        answer = self._call(viewer, channel, probe, params, url)
        if read:
            self.cache[key] = answer
        return answer

    def _call(self, viewer: str, channel: str, probe: ch.Probe, params: Any, url: str) -> tuple[int, str]:
        token = self.world.tokens[viewer]
        headers = {"Authorization": token} if token else {}
        started = time.monotonic()
        self.requests += 1
        try:
            if not probe.url:  # an action
                return self.act(viewer, channel, params)
            elif probe.method == "GET":
                res = self.app.get(url, query_string=params or None, headers=headers, follow_redirects=False)
            else:
                res = self.app.post(url, data=params or {}, headers=headers, follow_redirects=False)
            # (images and downloads are bytes: read as text where they are text)
            body = res.get_data().decode("utf-8", "replace") + " " + res.headers.get("Location", "")
            status = res.status_code
        except Exception as err:  # the test app lets exceptions through: a 500 in production
            from ckan import model

            model.Session.rollback()
            status, body = 500, f"{type(err).__name__}: {err}"
        finally:
            self.seconds[channel] += time.monotonic() - started
        return status, body


def shown_by(probe: ch.Probe, status: int, body: str, shown: set[str], asked: Item | None) -> set[str]:
    """Items a response shows: by their tell-tales (2xx), or for status-detected
    probes the asked item whenever the channel answered."""
    out = set(shown) if 200 <= status < 300 else set()
    if asked is not None and probe.detect is not None:
        hit = probe.detect(status, body) if callable(probe.detect) else 200 <= status < 300
        out.discard(asked.key)
        if hit:
            out.add(asked.key)
    return out


def check_write(world: LeakWorld, action: str, role: str, params: Any) -> str | None:
    """Positive control of a change: the role's check_access passes."""
    user = world.users[role] if role in world.users else None
    if role == "reviewer":
        user = world.w.reviewer
    assert user is not None, role
    try:
        tk.check_access(action, {"user": user["name"]}, dict(params) if isinstance(params, dict) else {})
    except tk.NotAuthorized as err:
        return f"check_access({action}) refused to {role}: {err}"
    except tk.ObjectNotFound as err:
        return f"check_access({action}) for {role}: not found: {err}"
    return None


class Matrix:
    def __init__(self, app: Any, world: LeakWorld, full: bool = False, quick: bool = False) -> None:
        self.full = full
        self.quick = quick  # the default subset (QUICK_VIEWERS, quick_page)
        self.pages_asked = 0  # page probes asked so far (the quick subset rotates its pairs by it)
        self.runner = Runner(app, world)
        self.world = world
        self.problems: list[str] = []
        self.rows: list[str] = []
        self.cells = 0
        self.exercised: set[str] = set()

    def env(self, viewer: str, item: Item | None) -> dict[str, Any]:
        user = self.world.users.get(viewer)
        env = dict(self.world.globals, self=user["name"] if user else "")
        if item is not None:
            env.update(item.vars)
        return env

    def problem(self, kind: str, channel: str, viewer: str, what: str) -> None:
        self.problems.append(f"{kind:5s} {channel} [{viewer}] {what}")

    def run(self, channel: str, probe: ch.Probe) -> None:
        name = f"{channel} {probe.label or ''}".strip()
        self.exercised.add(channel)
        problems_before = len(self.problems)
        w = self.world
        viewers = list(VIEWERS if self.full or not probe.url else PAGE_VIEWERS)
        if self.quick and not probe.url:
            viewers = list(QUICK_VIEWERS)
        seer = probe.seer
        counts = collections.Counter()
        targets: list[Item | None] = [None]
        if probe.scope == "item":
            targets = [i for i in w.items if i.kind in probe.kinds and (probe.where is None or probe.where(i))]
            if not self.full:
                keep = WRITE_TARGETS if probe.write is not None else PAGE_TARGETS if probe.url else None
                if keep is not None:
                    kept = [t for t in targets if t is not None and (t.kind == "source" or t.key in keep)]
                    targets = kept or targets[:1]
        if self.quick and probe.url:
            targets, viewers = quick_page(probe, targets, self.pages_asked)
            self.pages_asked += 1
        if seer not in viewers:
            viewers.append(seer)
        answered_by_seer: dict[str | None, bool] = {}
        seer_said: dict[str | None, str] = {}
        for target in targets:
            key = target.key if target else None
            for viewer in viewers:
                env = self.env(viewer, target)
                for request_text, filled in expand([probe.url, probe.params], env):
                    url, params = filled
                    status, body = self.runner.call(viewer, channel, probe, params, url)
                    counts["requests"] += 1
                    if status >= 500:
                        self.problem("ERR", name, viewer, f"{status} {key or ''} {url or ''} {body[:300]}")
                        continue
                    if viewer in VIEWERS and SECRET in body:
                        self.problem("LEAK", name, viewer, f"the pending edit ({key}) {request_text[:120]}")
                    seen = shown_by(probe, status, body, w.shown(request_text, body), target)
                    # the positive control: the seer answers for every item its rule lets it see (a channel for
                    # the public only shows the member no draft)
                    if viewer == seer and (target is None or seer not in VIEWERS or probe.rule(seer, target)):
                        ok = (callable(probe.detect) and probe.detect(status, body)) or (
                            200 <= status < 300
                            and (
                                target is None
                                or probe.detect is not None
                                or target.key in seen
                                or probe.write is not None
                            )
                        )
                        if target is None and probe.detect is None and probe.write is None:
                            ok = ok and any(i.key in seen for i in w.items if i.kind in probe.kinds)
                        answered_by_seer[key] = answered_by_seer.get(key, False) or ok
                        if not ok:
                            seer_said[key] = f"{status} {body[:160]!r}"
                    if viewer not in VIEWERS:
                        continue
                    relevant = [target] if target is not None else [i for i in w.items if i.kind in probe.kinds]
                    for it in w.items:
                        allowed = probe.rule(viewer, it) if it.kind in probe.kinds else ch.may_see(viewer, it)
                        if it.key in seen and not allowed:
                            counts["leak"] += 1
                            self.problem("LEAK", name, viewer, f"{it.key} {request_text[:160]}")
                    for it in relevant:
                        self.cells += 1
                        if probe.exact and probe.rule(viewer, it) and it.key not in seen:
                            counts["miss"] += 1
                            self.problem("MISS", name, viewer, f"{it.key} -> {status} {request_text[:120]}")
                    if probe.check is not None and 200 <= status < 300 and not probe.url:
                        for p in probe.check(w, viewer, json.loads(body)["result"]):
                            self.problem("LEAK", name, viewer, p)
            if probe.write is not None and target is not None:
                for _, filled in expand(probe.params, self.env(probe.write, target)):
                    refused = check_write(w, probe.action or channel, probe.write, filled)
                    if refused:
                        self.problem("MUTE", name, probe.write, f"{target.key}: {refused}")
                    break
        if not probe.attack and probe.write is None:
            if targets and not answered_by_seer and counts["requests"]:
                self.problem("MUTE", name, seer, "no item the seer may see: the channel has no positive control")
            for key, ok in answered_by_seer.items():
                if not ok:
                    self.problem(
                        "MUTE", name, seer, f"does not answer for {key or 'the global call'}: {seer_said.get(key)}"
                    )
        row = (
            f"{name[:70]:70s} {len(targets):3d} items {counts['requests']:4d} req "
            f"{counts['leak']:3d} leaks {counts['miss']:3d} misses {self.runner.seconds[channel]:6.1f} s"
        )
        self.rows.append(row)
        new = self.problems[problems_before:]
        if new or not self.quick or os.environ.get("UDP_LEAK_MATRIX_ROWS"):  # the default subset: problems only
            print(row + (f"  {len(new)} problems" if new else ""), flush=True)
        for line in new[:4]:
            print("    " + line[:220], flush=True)


# A change is refused to every viewer whatever the item's state: it is asked of one item per visibility class
# (public, logged-in users, the organization only) and per kind; reads are asked of every item.
WRITE_TARGETS = frozenset(
    {"published/open", "published/internal", "draft/open", "harvested published/open", "harvested draft/internal"}
)
# Pages cost a rendering each (about 10 action calls): a page of an item is asked of one item per visibility
# class (the public: published/open; logged-in users: archived/open; the organization only: a draft), by hand
# and by harvest; the actions behind them (package_show, resource_show, the activity and DataStore actions ...)
# are asked of every item, every state and access class.
PAGE_TARGETS = frozenset(
    {
        "published/open",
        "archived/open",
        "draft/open",
        "harvested published/open",
        "harvested archived/internal",
        "harvested draft/internal",
    }
)
# Pages are asked by one viewer per visibility class: the plain logged-in user sees what the other organization's
# editor sees (the same labels; the editor may do more), so pages ask the editor; every action asks both.
PAGE_VIEWERS = tuple(v for v in VIEWERS if v != "plain")
# The default subset (``make test``, UDP_LEAK_MATRIX unset): every probe of every channel is asked, of a smaller
# world (leakworld.QUICK_HAND_MADE/QUICK_HARVESTED: every state and access class, every visibility class by hand
# and by harvest), actions by one viewer per visibility class (QUICK_VIEWERS: the other organization's editor
# stands for the plain logged-in user), and each page of one hidden item by the one viewer it is hidden from
# (quick_page), beside the member (the positive control).
QUICK_VIEWERS = ("anonymous", "outsider", "member")
# a page probe's (visibility class of the item, viewer it is hidden from), taken in turn: the items logged-in
# users see (archived/open) to the anonymous visitor, the organization's own (a draft) to the other
# organization's editor; the other order for the next probe
QUICK_PAIRS = (("logged-in", "anonymous"), ("organization", "outsider"))


def visibility(item: Item) -> str:
    if item.kind == "source" or not ch.may_see("outsider", item):
        return "organization"
    return "public" if item.public else "logged-in"


def quick_page(probe: ch.Probe, targets: list[Item | None], asked: int) -> tuple[list[Item | None], list[str]]:
    """One target and one non-member viewer for the ``asked``-th page probe (see QUICK_PAIRS): the pair in turn,
    else the other pair, else the first target; global pages alternate their non-member viewer. When the probe's
    rule lets its seer see none of them (a page for the public), an item it may see is asked too (the positive
    control)."""
    pairs = QUICK_PAIRS[asked % 2 :] + QUICK_PAIRS[: asked % 2]
    if targets == [None]:
        return [None], [pairs[0][1], "member"]
    chosen, viewer = targets[:1], pairs[0][1]
    for cls, hidden_from in pairs:
        found = [t for t in targets if t is not None and visibility(t) == cls]
        if found:
            chosen, viewer = found[:1], hidden_from
            break
    if probe.seer in VIEWERS and not any(t is not None and probe.rule(probe.seer, t) for t in chosen):
        chosen += [t for t in targets if t is not None and probe.rule(probe.seer, t)][:1]
    return chosen, [viewer, "member"]


SELECTED = os.environ.get("UDP_LEAK_MATRIX", "")
FULL = bool(os.environ.get("UDP_LEAK_MATRIX_FULL"))
# the change pass (every change refused to every viewer, allowed to its role): long, asked on request
WRITES = FULL or bool(os.environ.get("UDP_LEAK_MATRIX_WRITES"))


def semantic_pass(
    m: Matrix, world: LeakWorld, chosen: re.Pattern[str], monkeypatch: pytest.MonkeyPatch
) -> list[str] | None:
    """The probes of udp_semantic (``Probe.semantic``): the plugin is loaded but off in test.ini, so it is
    switched on here and the world's datasets are indexed with their vectors (embedded as one batch, as
    ``ckan udp semantic reindex`` does); then its actions, the hybrid search and the dataset page with its
    similar datasets are asked. A passage asked again (each viewer's similar datasets of the same item) is
    embedded once: the vectors are the same, the filters (what is probed) are the caller's each time.
    Then the self-test: with the similar datasets' public filters switched off, the matrix must report
    the hidden neighbours (the world's titles and descriptions are alike: a draft is near every dataset).
    Answers the LEAKs of that self-test (None: no semantic probe chosen)."""
    from ckanext.udp import compat
    from ckanext.udp.semantic import index, similar
    from ckanext.udp.semantic import model as semantic_model

    probes = [
        (channel, probe)
        for table in (ch.ACTIONS, ch.ROUTES)
        for channel, probes in table.items()
        for probe in probes
        if probe.semantic and chosen.search(channel)
    ]
    if not probes:
        return None
    started = time.monotonic()
    real = semantic_model.passages
    known: dict[str, list[float]] = {}

    def passages(texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        known.update(zip(missing, real(missing), strict=True))
        return [known[t] for t in texts]

    with monkeypatch.context() as patched:
        patched.setitem(tk.config, "ckanext.udp.semantic.enabled", True)
        patched.setattr(semantic_model, "passages", passages)
        ids = [world.anchor["id"], *(i.vars["id"] for i in world.items if i.kind != "source")]
        index.prepare([tk.get_action("package_show")({"ignore_auth": True}, {"id": pid}) for pid in ids])
        compat.reindex_datasets(ids)
        index.forget_prepared()
        print(f"semantic pass: {len(ids)} datasets indexed with vectors in {time.monotonic() - started:.0f} s")
        m.runner.cache.clear()  # the same pages and calls answer differently now
        for channel, probe in probes:
            m.run(channel, probe)
        m.runner.cache.clear()
        broken = Matrix(m.runner.app, world, full=m.full, quick=m.quick)
        print("\nself-test, the similar datasets' public filters switched off (LEAKs expected):")
        patched.setattr(similar, "public_filters", lambda: ["+state:active"])
        for probe in ch.ACTIONS["udp_semantic_similar"]:
            broken.run("udp_semantic_similar", probe)
    return [p for p in broken.problems if p.startswith("LEAK")]


@pytest.fixture
def pooled_db(clean_db: None) -> Iterator[None]:
    """The model bound to a pooled engine for the matrix's run. CKAN's core migration environment
    (``ckan/migration/env.py``, which ``clean_db`` runs) binds the model to its own NullPool engine
    (``init_model(connectable)``) for the rest of the process: afterwards every transaction opens a new
    PostgreSQL connection (a sixth of the world build on the loaded box). A portal runs with a pool."""
    import ckan.model as model
    import sqlalchemy as sa

    before = model.meta.engine
    engine = sa.engine_from_config(dict(tk.config), pool_pre_ping=True)
    model.init_model(engine)
    yield
    model.init_model(before)
    engine.dispose()


QUICK = not (SELECTED or FULL)
QUICK_SERIES = frozenset({"archived/open", "draft/open"})  # the hand-made items quick_page asks


def test_enumerated_leak_matrix(app, with_plugins, pooled_db, clean_index, http_server, capsys, monkeypatch):
    chosen = re.compile("" if SELECTED in ("", "all") else SELECTED)
    started, cpu_started = time.monotonic(), time.process_time()
    world = LeakWorld(
        http_server,
        full=FULL,
        series_for=None if FULL else QUICK_SERIES if QUICK else PAGE_TARGETS,
        hand_made=QUICK_HAND_MADE if QUICK else None,
        harvested=QUICK_HARVESTED if QUICK else None,
    )
    with monkeypatch.context() as patched:
        # no xloader job for the world's resources (no worker runs here; their tables are made by
        # datastore_create): submitting one per resource was a sixth of the world build
        from ckanext.xloader.utils import XLoaderFormats

        patched.setattr(XLoaderFormats, "is_it_an_xloader_format", classmethod(lambda cls, fmt: False))
        # no Solr commit per change while the world is built (Solr's soft commit makes the documents visible
        # within a second; nothing in the build searches): one commit at the end
        patched.setitem(tk.config, "ckan.search.solr_commit", False)
        world.build()
    from ckan.lib import search

    search.commit()
    built = time.monotonic() - started
    with capsys.disabled():
        print(f"\nworld built in {built:.0f} s ({'the default subset' if QUICK else 'selected'})", flush=True)
    m = Matrix(app, world, full=FULL, quick=QUICK)
    actions, rules = registered_actions(), registered_rules(app)
    with capsys.disabled():  # one line per probe as it is done
        print()
        for write_pass in (False, True) if WRITES else (False,):
            for table in (ch.ACTIONS, ch.ROUTES, default_routes(app)):
                for channel, probes in table.items():
                    for probe in probes:
                        if (probe.write is not None) == write_pass and not probe.semantic and chosen.search(channel):
                            m.run(channel, probe)
        caught_similar = semantic_pass(m, world, chosen, monkeypatch)
    # the matrix can fail: with udp_security's tag filter switched off it must report the hidden tags
    from ckanext.udp.security.channels import tags as tag_guard

    broken = Matrix(app, world, full=FULL, quick=QUICK)
    with capsys.disabled():
        print("\nself-test, udp_security's tag filter switched off (LEAKs expected):")
        monkeypatch.setattr(tag_guard, "system", lambda context: True)
        for channel in ("tag_list", "tag_search", "tag_autocomplete", "tag_show"):
            for probe in ch.ACTIONS[channel]:
                broken.run(channel, probe)
        monkeypatch.undo()
    caught = [p for p in broken.problems if p.startswith("LEAK")]
    # and with its activity filter switched off, the view activities of hidden datasets reach the streams
    from ckanext.udp.security.channels import activity as activity_guard

    unfiltered = Matrix(app, world, full=FULL, quick=QUICK)
    with capsys.disabled():
        print("\nself-test, udp_security's activity filter switched off (LEAKs expected):")
        monkeypatch.setattr(activity_guard, "filter_activities", lambda context, activities: activities)
        for channel in ("user_activity_list", "dashboard_activity_list", "organization_activity_list"):
            for probe in ch.ACTIONS[channel]:
                unfiltered.run(channel, probe)
        monkeypatch.undo()
    caught_activities = [p for p in unfiltered.problems if p.startswith("LEAK")]
    exercised_actions = [a for a in actions if a in ch.ACTIONS]
    defaults = default_routes(app)
    exercised_routes = [r for r in rules if r in ch.ROUTES or r in defaults]
    summary = (
        f"\n{len(actions)} actions: {len(exercised_actions)} exercised, "
        f"{len([a for a in actions if a in ch.EXEMPT_ACTIONS])} exempt; "
        f"{len(rules)} URL rules: {len(exercised_routes)} exercised, "
        f"{len([r for r in rules if r in ch.EXEMPT_ROUTES])} exempt; "
        f"{sum(len(p) for p in ch.ACTIONS.values()) + sum(len(p) for p in ch.ROUTES.values())} probes over "
        f"{len(world.items)} items ({sum(1 for i in world.items if i.kind == 'dataset')} hand-made, "
        f"{sum(1 for i in world.items if i.kind == 'harvested')} harvested, 1 harvest source) x "
        f"{len(VIEWERS)} viewers: {m.cells} cells, {m.runner.requests} requests "
        f"(and {m.runner.answered_from_cache} answered again from the first answer); "
        f"built in {built:.0f} s, asked in {time.monotonic() - started - built:.0f} s "
        f"(this process's CPU: {time.process_time() - cpu_started:.0f} s)"
    )
    slow = sorted(m.runner.seconds.items(), key=lambda kv: -kv[1])[:8]
    with capsys.disabled():
        print(summary)
        print("slowest channels: " + ", ".join(f"{k} {v:.1f}s" for k, v in slow))
        if m.problems:
            print("\n".join(m.problems))
        print(f"self-test: {len(caught)} LEAKs reported with the tag filter off, e.g. {caught[:2]}")
        print(
            f"self-test: {len(caught_activities)} LEAKs reported with the activity filter off, "
            f"e.g. {caught_activities[:2]}"
        )
        if caught_similar is not None:
            print(
                f"self-test: {len(caught_similar)} LEAKs reported with the similar datasets' filters off, "
                f"e.g. {caught_similar[:2]}"
            )
    assert not m.problems, f"{len(m.problems)} problems:\n" + "\n".join(m.problems[:200])
    assert caught_similar is None or len(caught_similar) >= 3, (
        f"the similar datasets' filters off, the matrix reported only {caught_similar}"
    )
    assert len(caught) >= 10, f"the tag filter off, the matrix reported only {caught}"
    assert len(caught_activities) >= 3, f"the activity filter off, the matrix reported only {caught_activities}"
