"""Workflow transitions are atomic: one transaction under a row lock on the
governance row, the index follows after the commit, and what Solr missed is
repaired. Run against the real PostgreSQL and the real Solr, whose test core
is unloaded ("stopped") and loaded again in between."""

from __future__ import annotations

import contextlib
import random
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.cli.cli import ckan as ckan_cli
from govworld import World, act
from udp_testing import run_jobs

from ckanext.udp.governance import workflow as wf
from ckanext.udp.governance.model import AuditEntry, DatasetGovernance, IndexPending

TRANSITION_ACTIONS = {"submit", "approve", "reject", "withdraw", "archive", "restore"}


# --- Solr's test core, stopped and started --------------------------------------


def _core_admin(**params: str) -> None:
    base, _core = tk.config["solr_url"].rstrip("/").rsplit("/", 1)
    with urllib.request.urlopen(f"{base}/admin/cores?{urlencode(params)}", timeout=60) as resp:
        assert resp.status == 200


@contextlib.contextmanager
def solr_core_stopped() -> Iterator[None]:
    """Unload the test core (Solr answers 404 for it, as for a core that is
    down) and load it again afterwards with its index as it was."""
    core = tk.config["solr_url"].rstrip("/").rsplit("/", 1)[1]
    _core_admin(action="UNLOAD", core=core)
    try:
        yield
    finally:
        _core_admin(
            action="CREATE", name=core, instanceDir=core, config="solrconfig.xml", schema="schema.xml", dataDir="data"
        )


# --- what the database and the index say -----------------------------------------


def _fresh() -> None:
    model.Session.rollback()
    model.Session.expire_all()


def indexed(pkg_id: str) -> dict[str, Any]:
    """The dataset as Solr holds it (the dict stored at index time)."""
    found = tk.get_action("package_search")({"ignore_auth": True}, {"fq": f'id:"{pkg_id}"', "include_private": True})[
        "results"
    ]
    assert len(found) == 1
    return found[0]


def publicly_found(pkg_id: str) -> bool:
    return tk.get_action("package_search")({"user": "", "auth_user_obj": None}, {"fq": f'id:"{pkg_id}"'})["count"] == 1


def assert_consistent(pkg_id: str) -> DatasetGovernance:
    _fresh()
    row = model.Session.get(DatasetGovernance, pkg_id)
    pkg = model.Package.get(pkg_id)
    status = wf.Status(row.state, row.access_class)
    assert pkg.private == wf.private_flag(status), "private flag and state disagree in the database"
    doc = indexed(pkg_id)
    assert (doc["udp_workflow_state"], doc["udp_access_class"], doc["private"]) == (
        row.state,
        row.access_class,
        pkg.private,
    ), "the index disagrees with the database"
    assert publicly_found(pkg_id) == wf.is_public(status)
    # the audit trail is one chain: every transition starts where the last one ended
    trail = model.Session.query(AuditEntry).filter(AuditEntry.package_id == pkg_id).order_by(AuditEntry.id).all()
    states = [e.to_state for e in trail if e.action == "create"]
    for entry in trail:
        if entry.action in TRANSITION_ACTIONS:
            assert entry.from_state == states[-1], (
                f"{entry.action} from {entry.from_state}, "
                f"but the dataset was {states[-1]}: two transitions decided on the same state"
            )
            states.append(entry.to_state)
    assert states[-1] == row.state
    return row


def markers() -> set[str]:
    _fresh()
    return {r[0] for r in model.Session.query(IndexPending.package_id)}


# --- concurrent callers -----------------------------------------------------------


def _waiting_on_a_lock() -> bool:
    """Whether another session of the test database waits for a lock."""
    with model.meta.engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar()
        )


def in_threads(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread (its own database session); return
    what each returned or raised."""
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            results[i] = call()
        except Exception as e:  # noqa: BLE001 - the test looks at it
            results[i] = e
        finally:
            model.Session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a transition hung (deadlock?)"
    return results


class Rendezvous:
    """Makes two concurrent changes meet right after each has decided on the
    state it read (at the audit entry, written before the commit): without
    a row lock both decide on the same state and both commit; with it, the
    second cannot read before the first committed, so the first goes on alone
    after a short wait and the second then decides on the new state."""

    def __init__(self) -> None:
        self.armed = False
        self.barrier = threading.Barrier(2)

    def meet(self) -> None:
        if self.armed:
            try:
                self.barrier.wait(timeout=6)
            except threading.BrokenBarrierError:
                pass


@pytest.fixture
def rendezvous(monkeypatch: pytest.MonkeyPatch) -> Rendezvous:
    from ckanext.udp.governance import trail

    meeting = Rendezvous()
    original = trail.record

    def audit(*args: Any, **kwargs: Any) -> None:
        meeting.meet()
        original(*args, **kwargs)

    monkeypatch.setattr(trail, "record", audit)
    return meeting


class TestConcurrentTransitions:
    def test_approve_and_reject_at_once_only_one_wins(self, world: World, rendezvous: Rendezvous):
        pkg = world.dataset()
        act(world.editor, "udp_submit", id=pkg["id"])
        rendezvous.armed = True
        results = in_threads(
            [
                lambda: act(world.reviewer, "udp_approve", id=pkg["id"]),
                lambda: act(world.admin, "udp_reject", id=pkg["id"], reason="Zu früh"),
            ]
        )
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1 and isinstance(errors[0], tk.ValidationError), results
        assert_consistent(pkg["id"])

    def test_withdraw_and_opening_at_once_never_make_a_withdrawn_dataset_public(
        self, world: World, rendezvous: Rendezvous
    ):
        # without the lock: withdraw commits private=True, the access-class
        # change (decided on "published") commits private=False after it
        pkg = world.published(access_class="restricted")
        rendezvous.armed = True
        results = in_threads(
            [
                lambda: act(world.editor, "udp_withdraw", id=pkg["id"], reason="Datenschutz"),
                lambda: act(world.admin, "udp_set_access_class", id=pkg["id"], access_class="open"),
            ]
        )
        assert not any(isinstance(r, Exception) for r in results), results
        row = assert_consistent(pkg["id"])
        assert row.state == "withdrawn" and not publicly_found(pkg["id"])

    def test_index_runs_of_one_dataset_take_turns(self, world: World, monkeypatch: pytest.MonkeyPatch):
        """The index run after one transition has read the dataset (restricted) and is
        held just before its Solr write; meanwhile a second transition (to open)
        commits and runs its own index. That run must wait for the first one: were it
        to write first, the first run's older document would land after it and the
        index would stay "restricted" for a dataset the database has open (the race
        the test above hit now and then)."""
        from ckan.lib.search.index import PackageSearchIndex

        from ckanext.udp.governance import indexing

        pkg = world.published(access_class="restricted")
        indexing.mark(pkg["id"])  # as a transition leaves it
        model.Session.commit()
        held, release = threading.Event(), threading.Event()
        original = PackageSearchIndex.index_package

        def index_package(self: Any, pkg_dict: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name == "first-index":
                held.set()
                release.wait(60)
            return original(self, pkg_dict, *args, **kwargs)

        monkeypatch.setattr(PackageSearchIndex, "index_package", index_package)
        results: dict[str, Any] = {}

        def run(name: str, call: Callable[[], Any]) -> threading.Thread:
            def target() -> None:
                try:
                    results[name] = call()
                except Exception as e:  # noqa: BLE001 - the test looks at it
                    results[name] = e
                finally:
                    model.Session.remove()

            thread = threading.Thread(target=target, name=name)
            thread.start()
            return thread

        first = run("first-index", lambda: indexing.sync(pkg["id"]))
        assert held.wait(60), "the first index run did not reach Solr"
        second = run("second", lambda: act(world.admin, "udp_set_access_class", id=pkg["id"], access_class="open"))
        deadline = time.monotonic() + 60
        while second.is_alive() and not _waiting_on_a_lock():
            assert time.monotonic() < deadline, "the second transition neither finished nor waited"
            time.sleep(0.05)
        release.set()
        for thread in (first, second):
            thread.join(120)
            assert not thread.is_alive(), "an index run hung"
        assert not any(isinstance(r, Exception) for r in results.values()), results
        row = assert_consistent(pkg["id"])
        assert row.access_class == "open" and publicly_found(pkg["id"])

    def test_many_transitions_at_once_stay_consistent(self, world: World):
        pkgs = [world.published() for _ in range(2)]
        plan = {  # who does what: every transition and access-class change, by its role
            "editor": (world.editor, ["udp_submit", "udp_withdraw", "udp_restore"]),
            "reviewer": (world.reviewer, ["udp_approve", "udp_reject", "udp_archive", "udp_restore"]),
            "admin": (world.admin, ["udp_approve", "udp_archive", "udp_set_access_class", "udp_withdraw"]),
        }

        def worker(seed: int) -> Callable[[], int]:
            def run() -> int:
                rng = random.Random(seed)
                done = 0
                for _ in range(8):
                    user, actions = plan[rng.choice(sorted(plan))]
                    action = rng.choice(actions)
                    data: dict[str, Any] = {"id": rng.choice(pkgs)["id"], "reason": "Test"}
                    if action == "udp_set_access_class":
                        data["access_class"] = rng.choice(["open", "internal", "restricted"])
                    try:
                        act(user, action, **data)
                        done += 1
                    except (tk.ValidationError, tk.NotAuthorized):
                        pass  # not possible in the state another thread left
                return done

            return run

        results = in_threads([worker(seed) for seed in range(4)])
        assert all(isinstance(r, int) for r in results), results
        assert sum(results) > 0
        for pkg in pkgs:
            assert_consistent(pkg["id"])


class TestSolrDown:
    def test_transitions_commit_and_the_index_is_repaired(self, world: World, cli):
        review = world.dataset(title="Wartet auf Prüfung")
        act(world.editor, "udp_submit", id=review["id"])
        live = world.published(title="Noch öffentlich")
        edited = world.published(title="Alter Titel")
        act(world.editor, "package_patch", id=edited["id"], title="Neuer Titel")
        with solr_core_stopped():
            # two at once, a third after: all commit, none needs Solr to do so
            results = in_threads(
                [
                    lambda: act(world.reviewer, "udp_approve", id=review["id"]),
                    lambda: act(world.editor, "udp_withdraw", id=live["id"], reason="Fehler in den Daten"),
                ]
            )
            assert not any(isinstance(r, Exception) for r in results), results
            act(world.reviewer, "udp_approve", id=edited["id"])
            assert markers() == {review["id"], live["id"], edited["id"]}
        # Solr is back, the index still has the old states
        assert indexed(review["id"])["udp_workflow_state"] == "in_review"
        assert publicly_found(live["id"]) and indexed(edited["id"])["title"] == "Alter Titel"

        result = cli.invoke(ckan_cli, ["udp", "governance", "reindex-pending"])
        assert result.exit_code == 0, result.output
        assert "3 datasets re-indexed" in result.output
        assert markers() == set()
        assert assert_consistent(review["id"]).state == "published"
        assert assert_consistent(live["id"]).state == "withdrawn"
        assert assert_consistent(edited["id"]).state == "published"
        assert indexed(edited["id"])["title"] == "Neuer Titel"
        assert publicly_found(review["id"]) and not publicly_found(live["id"])

    @pytest.mark.usefixtures("clean_redis")
    def test_a_queued_job_repairs_once_solr_is_back(self, world: World):
        pkg = world.published()
        with solr_core_stopped():
            act(world.editor, "udp_withdraw", id=pkg["id"], reason="Personenbezug")
            run_jobs()  # the retry fails while Solr is down; the marker stays
            assert markers() == {pkg["id"]}
            act(world.editor, "udp_restore", id=pkg["id"])  # queues another retry
        assert publicly_found(pkg["id"])  # stale: still the published version
        run_jobs()
        assert markers() == set()
        assert assert_consistent(pkg["id"]).state == "draft"
        assert not publicly_found(pkg["id"])

    def test_the_next_successful_transition_repairs_the_rest(self, world: World):
        stale, other = world.published(), world.published()
        with solr_core_stopped():
            act(world.editor, "udp_withdraw", id=stale["id"], reason="Fehler")
        assert markers() == {stale["id"]}
        act(world.admin, "udp_archive", id=other["id"])
        assert markers() == set()
        assert_consistent(stale["id"])
        assert_consistent(other["id"])
