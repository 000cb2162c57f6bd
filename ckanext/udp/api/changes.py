"""The change log behind ``udp_changes``.

One row per dataset in ``udp_api_change``; every change moves the row to the
end (a new ``seq`` from a sequence), so the log stays as long as the catalog
and a client reading from its cursor sees each changed dataset once, at its
latest change. The row says nothing about content: the feed looks each
dataset up at read time, as an anonymous ``package_search`` would, and the row
only adds whether the dataset was ever in public view (only then may a
tombstone name it) and where it last entered public view (created vs. updated).

When is a change recorded? CKAN indexes a dataset in Solr and then commits
the database, and a governance transition commits and then re-indexes. A
change is therefore recorded twice: at index time (``touch`` in its own short
transaction, which covers the transitions) and again after the session's
next commit (which covers create/update/delete, whose index and commit come
after every hook). A reader only takes rows older than a short settling time
(``ckanext.udp.api.changes_settle_seconds``), so the index has caught up with
a row before a client's cursor passes it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ckan.model as model
import sqlalchemy as sa
from sqlalchemy import event

from ckanext.udp import compat

_PENDING = "udp_api_pending_changes"

_TOUCH = sa.text("""
    WITH s AS (SELECT nextval('udp_api_change_seq') AS seq)
    INSERT INTO udp_api_change AS c (package_id, seq, changed, was_public, public_now, public_since)
    SELECT :id, s.seq, clock_timestamp(), :was_public OR :public_now, :public_now,
           CASE WHEN :public_now THEN s.seq END
    FROM s
    ON CONFLICT (package_id) DO UPDATE SET
        seq = EXCLUDED.seq,
        changed = EXCLUDED.changed,
        was_public = c.was_public OR EXCLUDED.was_public,
        public_now = EXCLUDED.public_now,
        public_since = CASE WHEN EXCLUDED.public_now AND NOT c.public_now THEN EXCLUDED.seq
                            ELSE c.public_since END
""")


def touch(changes: Iterable[tuple[str, bool, bool]]) -> None:
    """Record (package id, public now, was public until now) in a short
    transaction of its own."""
    rows = [{"id": i, "public_now": now, "was_public": was} for i, now, was in changes]
    if not rows:
        return
    with model.meta.engine.begin() as conn:
        for row in rows:
            conn.execute(_TOUCH, row)


def public_now(package_id: str) -> bool:
    """Was the dataset in public view at its last recorded change?"""
    with model.meta.engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text("SELECT public_now FROM udp_api_change WHERE package_id = :id"), {"id": package_id}
            ).scalar()
        )


def record(package_id: str, public_now: bool, was_public: bool = False) -> None:
    """Record a change now and once more after the session's next commit (the
    outermost one: a savepoint released inside a harvest batch is no commit; a
    rolled-back savepoint drops what was noted in it)."""
    touch([(package_id, public_now, was_public)])
    latest: dict[str, tuple[bool, bool]] = model.Session().info.setdefault(_PENDING, {})
    old = latest.get(package_id, (False, False))
    latest[package_id] = (public_now, was_public or old[1])
    compat.after_commit((_PENDING, package_id), lambda: _touch_latest(latest, package_id))


def _touch_latest(latest: dict[str, tuple[bool, bool]], package_id: str) -> None:
    values = latest.pop(package_id, None)
    if values is not None:
        touch([(package_id, *values)])


def _ended(session: Any, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction is over: its values are spent
        session.info.pop(_PENDING, None)


def listen() -> None:
    if not event.contains(model.Session, "after_transaction_end", _ended):
        event.listen(model.Session, "after_transaction_end", _ended)


# --- reading -------------------------------------------------------------------


class CursorError(ValueError):
    """A malformed ``since`` token."""


@dataclass(frozen=True)
class Cursor:
    seq: int

    def encode(self) -> str:
        raw = json.dumps({"v": 1, "s": self.seq}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            if len(token) > 200:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            seq = data["s"]
            if data.get("v") != 1 or not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**63:
                raise ValueError("bad token")
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as e:
            raise CursorError("invalid cursor") from e
        return cls(seq)


@dataclass(frozen=True)
class Row:
    package_id: str
    seq: int
    was_public: bool
    public_since: int | None
    settled: bool


def read(after: int, limit: int, settle_seconds: float) -> list[Row]:
    """Up to ``limit`` rows after ``after`` in feed order."""
    result = model.Session.execute(
        sa.text("""
        SELECT package_id, seq, was_public, public_since,
               changed <= clock_timestamp() - make_interval(secs => :settle) AS settled
        FROM udp_api_change WHERE seq > :after ORDER BY seq LIMIT :limit
    """),
        {"after": after, "limit": limit, "settle": settle_seconds},
    )
    return [Row(*r) for r in result]


def mark_public(package_ids: list[str]) -> None:
    """Seen in public view by a reader: a later tombstone may name it."""
    if package_ids:
        with model.meta.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE udp_api_change SET was_public = true WHERE package_id = ANY(:ids) AND NOT was_public"),
                {"ids": package_ids},
            )
