"""``compat.after_commit``: work that waits for CKAN's session to commit (the twin's
background checks of a harvest batch's links, the transparency outbox's note of the
datasets a transaction wrote a row for). SQLAlchemy fires ``after_commit`` when a
savepoint is released too, and ``after_soft_rollback`` when one is rolled back: the
work waits for the outermost commit, a rollback drops it, a rolled-back savepoint drops
only what was noted in it."""

from __future__ import annotations

from collections.abc import Callable

import ckan.model as model
import pytest
import sqlalchemy as sa
from udp_testing import records_of

from ckanext.udp import compat

pytestmark = pytest.mark.usefixtures("with_plugins")


@pytest.fixture
def ran() -> list[str]:
    model.Session.rollback()  # a fresh transaction for each test
    return []


def note(ran: list[str], name: str) -> bool:
    run: Callable[[], None] = lambda: ran.append(name)  # noqa: E731
    return compat.after_commit(("test", name), run)


def begin() -> None:
    model.Session.execute(sa.text("SELECT 1"))  # the session's transaction begins with its first statement


def test_the_commit_runs_the_work_once_in_the_order_noted(ran: list[str]) -> None:
    begin()
    assert note(ran, "a") and note(ran, "b")
    assert not note(ran, "a")  # noted again: runs once
    assert compat.waits_for_commit(("test", "a")) and ran == []
    model.Session.commit()
    assert ran == ["a", "b"]
    assert not compat.waits_for_commit(("test", "a"))
    begin()
    model.Session.commit()
    assert ran == ["a", "b"]  # nothing runs twice


@pytest.mark.parametrize("end", ["rollback", "close"])
def test_a_rollback_or_a_closed_session_drops_the_work(ran: list[str], end: str) -> None:
    begin()
    note(ran, "a")
    getattr(model.Session, end)()
    assert not compat.waits_for_commit(("test", "a"))
    begin()
    model.Session.commit()
    assert ran == []


def test_a_rolled_back_savepoint_drops_only_its_own_work(ran: list[str]) -> None:
    begin()
    note(ran, "before")
    released = model.Session.begin_nested()
    note(ran, "released")
    released.commit()
    assert ran == []  # a released savepoint commits nothing yet
    failed = model.Session.begin_nested()
    note(ran, "failed")
    inner = model.Session.begin_nested()
    note(ran, "inside the failed one")
    inner.commit()
    failed.rollback()
    assert not compat.waits_for_commit(("test", "failed"))
    assert compat.waits_for_commit(("test", "released"))
    note(ran, "after")
    model.Session.commit()
    assert ran == ["before", "released", "after"]


def test_work_noted_again_after_its_savepoint_was_rolled_back_runs(ran: list[str]) -> None:
    begin()
    savepoint = model.Session.begin_nested()
    note(ran, "a")
    savepoint.rollback()
    assert note(ran, "a")  # the same key, new again
    model.Session.commit()
    assert ran == ["a"]


def test_a_savepoint_rolled_back_by_a_batchs_guard_drops_only_its_own_work(ran: list[str]) -> None:
    """CKAN's actions call ``model.Session.rollback()`` on a ValidationError; in a batched
    import ``savepoint_batch`` turns that into the innermost savepoint's rollback."""
    begin()
    with compat.savepoint_batch():
        kept = model.Session.begin_nested()
        note(ran, "kept")
        kept.commit()
        model.Session.begin_nested()
        note(ran, "refused")
        model.Session.rollback()
    model.Session.commit()
    assert ran == ["kept"]


def test_with_no_transaction_open_the_work_runs_now(ran: list[str]) -> None:
    model.Session.close()
    assert model.Session().get_transaction() is None
    note(ran, "a")
    assert ran == ["a"]


def test_a_failing_work_is_logged_and_the_others_run(ran: list[str]) -> None:
    def fails() -> None:
        raise RuntimeError("queue down")

    begin()
    compat.after_commit(("test", "fails"), fails)
    note(ran, "b")
    with records_of("ckanext.udp.compat") as records:
        model.Session.commit()
    assert ran == ["b"]
    assert "work after a commit failed" in [r.getMessage() for r in records]
