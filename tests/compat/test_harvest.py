"""The CKAN core and ckanext-harvest internals that ckanext-udp's harvesting reaches through ``ckanext.udp.compat``
(block ``# --- harvest ---``): each test fails loudly when an upgrade changes the internal (name, signature,
constraint) and shows on the real stack that the wrapper still does its job."""

from __future__ import annotations

import inspect
import json
import time
import uuid

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp import compat


def _parameters(func: object) -> list[str]:
    return list(inspect.signature(func).parameters)  # type: ignore[arg-type]


def test_munge_name_is_ckans_dataset_name_munging():
    from ckan.lib import munge

    assert _parameters(munge.munge_name) == ["name"]
    assert compat.munge_name("Bäume der Südstadt (2024)!") == munge.munge_name("Bäume der Südstadt (2024)!")
    name = compat.munge_name("Bäume der Südstadt (2024)!")
    assert name == name.lower() and " " not in name and "(" not in name and name.startswith("b")


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_index_datasets_indexes_without_a_commit_per_dataset():
    from ckan import logic
    from ckan.lib.search import clear_all

    assert "defer_commit" in _parameters(logic.index_update_package)
    org = factories.Organization()
    dataset = public_dataset(owner_org=org["id"], title="Indexiert ohne Commit", notes="Baumkataster")
    clear_all()

    def found() -> int:
        search = tk.get_action("package_search")
        return search({"ignore_auth": True}, {"q": f"id:{dataset['id']}", "include_private": True})["count"]

    assert found() == 0
    assert compat.index_datasets([dataset["id"]]) == []
    deadline = time.monotonic() + 15  # searchable after Solr's autoSoftCommit, not at once
    while found() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert found() == 1
    failed = compat.index_datasets(["no-such-dataset"])
    assert [package_id for package_id, _reason in failed] == ["no-such-dataset"]


def test_the_harvest_object_package_fkey_is_named_and_deferrable():
    row = model.Session.execute(
        sa.text(
            "SELECT condeferrable FROM pg_constraint "
            "WHERE conname = :name AND conrelid = 'harvest_object'::regclass AND contype = 'f'"
        ),
        {"name": compat.HARVEST_OBJECT_PACKAGE_FKEY},
    ).first()
    model.Session.rollback()
    assert row is not None, f"ckanext-harvest no longer names the constraint {compat.HARVEST_OBJECT_PACKAGE_FKEY}"
    assert row[0], "the constraint is no longer DEFERRABLE"


@pytest.mark.usefixtures("with_plugins", "clean_db")
@pytest.mark.parametrize("deferred", [True, False])
def test_defer_harvest_object_package_fkey_lets_an_object_name_a_dataset_written_later(deferred):
    from ckanext.harvest.model import HarvestJob, HarvestObject, HarvestSource

    source = HarvestSource(url="http://127.0.0.1/katalog.ttl", type="udp_dcat")
    source.save()
    job = HarvestJob(source=source)
    job.save()
    obj = HarvestObject(guid="x", job=job, source=source, package_id=str(uuid.uuid4()))
    try:
        if deferred:
            compat.defer_harvest_object_package_fkey()
            model.Session.add(obj)
            model.Session.flush()  # checked at commit, not here
        else:
            model.Session.add(obj)
            with pytest.raises(sa.exc.IntegrityError, match=compat.HARVEST_OBJECT_PACKAGE_FKEY):
                model.Session.flush()
    finally:
        model.Session.rollback()


@pytest.mark.usefixtures("with_plugins")
def test_harvester_for_finds_the_loaded_harvester_of_a_source_type():
    from ckanext.harvest import queue

    assert _parameters(queue.get_harvester) == ["harvest_source_type"]
    assert compat.harvester_for("udp_dcat").info()["name"] == "udp_dcat"
    assert compat.harvester_for("no_such_type") is None


def test_the_stages_run_harvest_job_stages_calls_keep_their_signatures():
    # the run itself: every harvester test in tests/harvest runs its jobs through it (harvest.runner.run_source)
    from ckanext.harvest import queue
    from ckanext.harvest.model import HarvestObject

    assert _parameters(queue.gather_stage) == ["harvester", "job"]
    assert _parameters(queue.fetch_and_import_stages) == ["harvester", "obj"]
    assert callable(HarvestObject.get)


@pytest.mark.parametrize("kind", compat.HARVEST_QUEUE_KINDS)
def test_harvest_queue_takes_a_message_and_marks_it_in_flight(kind, reset_redis):
    from ckanext.harvest import queue

    hq = compat.harvest_queue(kind)
    reset_redis(f"{hq.consumer.routing_key}*")  # jobs other tests queued
    assert hq.redis, "the stack runs ckanext-harvest on Redis (ckan.harvest.mq.type = redis)"
    expected = queue.get_gather_queue_name() if kind == "gather" else queue.get_fetch_queue_name()
    assert hq.name == expected
    assert _parameters(hq.callback) == ["channel", "method", "header", "body"]
    body = json.dumps({hq.consumer.message_key: f"compat-test-{uuid.uuid4()}"})
    hq.consumer.redis.rpush(hq.consumer.routing_key, body)
    try:
        taken = compat.harvest_queue_take(hq, timeout=2)
        assert taken is not None and (taken.decode() if isinstance(taken, bytes) else taken) == body
        assert hq.consumer.redis.get(hq.consumer.persistance_key(taken)) is not None
        assert compat.harvest_queue_take(hq, timeout=1) is None
    finally:
        hq.consumer.redis.delete(hq.consumer.persistance_key(body))
        hq.consumer.redis.lrem(hq.consumer.routing_key, 0, body)


def test_harvest_queue_handle_and_amqp_use_what_ckanext_harvest_still_has():
    from ckanext.harvest import queue

    assert _parameters(queue.FakeMethod) == ["message"]
    assert _parameters(queue.RedisConsumer.persistance_key) == ["self", "message"]
    assert _parameters(queue.RedisConsumer.consume) == ["self", "queue"]
    with pytest.raises(ValueError, match="kind must be one of"):
        compat.harvest_queue("sideways")
