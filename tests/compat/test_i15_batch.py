"""Block ``# --- i15-batch ---`` of ``ckanext.udp.compat``: CKAN's actions roll
back the whole session before they raise a ValidationError (SQLAlchemy 2: the
outermost transaction, with every savepoint in it); ``savepoint_batch`` keeps
that rollback inside the innermost savepoint and refuses a commit, so that a
batched harvest import loses nothing of its other records and never commits
half a batch."""

from __future__ import annotations

import time
import uuid

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest

from ckanext.udp import compat


def _tag_in_savepoint() -> str:
    name = f"batch-{uuid.uuid4().hex[:8]}"
    savepoint = model.Session.begin_nested()
    model.Session.add(model.Tag(name=name))
    savepoint.commit()
    return name


def _refused_create() -> None:
    savepoint = model.Session.begin_nested()
    with pytest.raises(tk.ValidationError):
        tk.get_action("package_create")({"ignore_auth": True, "user": ""}, {"name": "x"})
    compat.rollback_savepoint(savepoint)


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_ckans_validation_rollback_reaches_only_the_savepoint_inside_a_batch():
    model.Session.commit()
    name = _tag_in_savepoint()
    _refused_create()  # CKAN: model.Session.rollback() - the tag of the earlier savepoint is gone
    model.Session.commit()
    assert model.Tag.by_name(name) is None, "CKAN no longer rolls back the whole session: savepoint_batch may go"

    with compat.savepoint_batch() as guard:
        name = _tag_in_savepoint()
        _refused_create()
    assert not guard.broken
    model.Session.commit()
    assert model.Tag.by_name(name) is not None


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_a_commit_inside_a_batch_is_refused_and_noted():
    model.Session.commit()
    with compat.savepoint_batch() as guard:
        name = _tag_in_savepoint()
        with pytest.raises(compat.CommitInBatch):
            model.repo.commit()
        assert guard.commit_refused and guard.broken
    model.Session.rollback()  # the batch's caller gives up the batch
    assert model.Tag.by_name(name) is None
    model.Session.commit()  # the session's own commit is back


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_index_datasets_together_sends_one_request_with_ckans_documents(monkeypatch):
    """Three datasets' documents, as CKAN builds them (``index_package`` calls
    ``make_connection`` and ``add`` in ``ckan.lib.search.index``), go to Solr in
    one request without a commit; all three are searchable afterwards; an unknown
    id is reported, the others are indexed."""
    import pysolr
    from ckan.lib.search import clear_all
    from ckan.lib.search import index as search_index
    from ckan.tests import factories
    from udp_testing import public_dataset

    assert callable(search_index.make_connection)
    org = factories.Organization()
    ids = [public_dataset(owner_org=org["id"], title=f"Zusammen {n}", notes="x")["id"] for n in range(3)]
    clear_all()
    requests: list[tuple[int, object]] = []
    real_add = pysolr.Solr.add

    def add(self, docs, *args, **kwargs):
        requests.append((len(docs), kwargs.get("commit")))
        return real_add(self, docs, *args, **kwargs)

    monkeypatch.setattr(pysolr.Solr, "add", add)
    failed = compat.index_datasets_together([*ids, "no-such-dataset"])
    assert [package_id for package_id, _reason in failed] == ["no-such-dataset"]
    assert requests == [(3, False)]
    search = tk.get_action("package_search")
    deadline = time.monotonic() + 30  # searchable after Solr's autoSoftCommit, not at once
    while time.monotonic() < deadline:
        found = search({"ignore_auth": True}, {"q": "title:Zusammen", "include_private": True})["results"]
        if len(found) == 3:
            break
        time.sleep(0.5)
    assert sorted(d["id"] for d in found) == sorted(ids)
