"""When the change log records a change a second time: after the session's outermost
commit. SQLAlchemy fires ``after_commit`` when a savepoint is released (a harvest batch
releases one per record) and ``after_soft_rollback`` when one is rolled back; neither
is the transaction's end. Recorded at a release, the change's position in the feed
would come before its commit and index (a client past the cursor could miss it);
dropped at a savepoint's rollback, the changes noted beside it would lose their second
recording."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import ckan.model as model
import pytest
import sqlalchemy as sa

from ckanext.udp.api import changes


def seq(package_id: str) -> int | None:
    with model.meta.engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT seq FROM udp_api_change WHERE package_id = :id"), {"id": package_id}
        ).scalar()


@pytest.fixture
def ids(with_plugins: None, clean_db: None) -> Iterator[list[str]]:
    model.Session.rollback()
    changes.listen()
    yield [f"test-{uuid.uuid4()}" for _ in range(3)]
    model.Session.rollback()


def begin() -> None:
    model.Session.execute(sa.text("SELECT 1"))


def test_a_released_savepoint_does_not_record_the_second_time(ids: list[str]) -> None:
    outer, inner, _ = ids
    begin()
    changes.record(outer, True)
    savepoint = model.Session.begin_nested()
    changes.record(inner, True)
    at_index = {i: seq(i) for i in (outer, inner)}
    savepoint.commit()
    assert {i: seq(i) for i in (outer, inner)} == at_index, "a released savepoint is no commit"
    model.Session.commit()
    after = {i: seq(i) for i in (outer, inner)}
    assert all(after[i] > at_index[i] for i in (outer, inner)), "recorded again after the commit"


def test_a_rolled_back_savepoint_drops_only_its_own_second_recording(ids: list[str]) -> None:
    outer, failed, later = ids
    begin()
    changes.record(outer, True)
    savepoint = model.Session.begin_nested()
    changes.record(failed, False, was_public=True)
    savepoint.rollback()
    changes.record(later, True)
    at_index = {i: seq(i) for i in ids}
    model.Session.commit()
    assert seq(outer) > at_index[outer] and seq(later) > at_index[later]
    assert seq(failed) == at_index[failed], "the rolled-back record is not recorded again"


def test_the_latest_values_of_a_dataset_recorded_twice_are_recorded(ids: list[str]) -> None:
    pid = ids[0]
    begin()
    changes.record(pid, True)
    changes.record(pid, False, was_public=True)
    changes.record(pid, True)
    model.Session.commit()
    with model.meta.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT public_now, was_public FROM udp_api_change WHERE package_id = :id"), {"id": pid}
        ).one()
    assert row.public_now is True and row.was_public is True


def test_a_rollback_records_nothing_the_second_time(ids: list[str]) -> None:
    pid = ids[0]
    begin()
    changes.record(pid, True)
    first = seq(pid)
    model.Session.rollback()
    begin()
    model.Session.commit()
    assert seq(pid) == first
