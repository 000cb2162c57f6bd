"""The CKAN internals udp_transparency uses through ``ckanext.udp.compat``
(block ``i16-transparency2``): CKAN's ORM session events and the package table.
Each test fails when a CKAN upgrade changes what the wrapper relies on."""

from __future__ import annotations

from typing import Any

import ckan.model as model
import pytest
from ckan.tests import factories
from sqlalchemy import event
from udp_testing import public_dataset

from ckanext.udp import compat

pytestmark = pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[compat.FlushedDatasets] = []

    def __call__(self, session: Any, _ctx: Any) -> None:
        self.seen.append(compat.flushed_datasets(session))

    def touched(self) -> set[str]:
        return set().union(*(s.touched for s in self.seen))

    def left(self) -> set[str]:
        return set().union(*(s.left_view for s in self.seen))


@pytest.fixture
def recorder():
    rec = _Recorder()
    compat.listen_session("after_flush", rec)
    yield rec
    event.remove(model.Session, "after_flush", rec)


def test_a_flush_names_the_datasets_it_touches_and_those_leaving_public_view(recorder):
    pkg = public_dataset(title="Öffentlich", owner_org=factories.Organization()["id"])
    assert pkg["id"] in recorder.touched()
    assert pkg["id"] not in recorder.left(), "a new dataset leaves no view"
    recorder.seen.clear()
    # a resource row names its dataset through package_id
    factories.Resource(package_id=pkg["id"], url="https://www.karlsruhe.de/x.csv", format="CSV")
    assert pkg["id"] in recorder.touched()
    recorder.seen.clear()
    obj = model.Package.get(pkg["id"])
    obj.private = True
    model.Session.commit()
    assert recorder.left() == {pkg["id"]}, "public before this flush: it left public view"
    recorder.seen.clear()
    obj.notes = "Nur geändert"
    model.Session.commit()
    assert recorder.touched() == {pkg["id"]} and recorder.left() == set(), "private already: nothing left view"


def test_public_dataset_ids_are_active_and_not_private():
    org = factories.Organization()
    visible = public_dataset(owner_org=org["id"])
    hidden = factories.Dataset(owner_org=org["id"], private=True)
    ids = compat.public_dataset_ids(model.Session)
    assert visible["id"] in ids and hidden["id"] not in ids
    assert compat.public_dataset_ids(model.Session, [hidden["id"]]) == []
    assert compat.public_dataset_ids(model.Session, [visible["id"], hidden["id"]]) == [visible["id"]]
