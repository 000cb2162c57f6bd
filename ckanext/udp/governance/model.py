"""Tables of the udp_governance plugin (created by its alembic migration in
``ckanext/udp/migration/udp_governance``). They have their own MetaData, so
``ckan db init`` does not create them, and they share CKAN's session, so a
state change and the dataset change it belongs to commit together."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import ckan.model as model
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DRAFT = "draft"
IN_REVIEW = "in_review"
PUBLISHED = "published"
ARCHIVED = "archived"
WITHDRAWN = "withdrawn"
STATES = (DRAFT, IN_REVIEW, PUBLISHED, ARCHIVED, WITHDRAWN)

OPEN = "open"
INTERNAL = "internal"
RESTRICTED = "restricted"
ACCESS_CLASSES = (OPEN, INTERNAL, RESTRICTED)

# states in which a dataset is "live": edits to it wait as pending edits
LIVE_STATES = (PUBLISHED, ARCHIVED)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = sa.MetaData()


class DatasetGovernance(Base):
    __tablename__ = "udp_governance_dataset"

    package_id: Mapped[str] = mapped_column(sa.UnicodeText, primary_key=True)
    state: Mapped[str] = mapped_column(sa.UnicodeText, nullable=False)
    access_class: Mapped[str] = mapped_column(sa.UnicodeText, nullable=False)
    submitted_by: Mapped[str | None] = mapped_column(sa.UnicodeText)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    last_editor: Mapped[str | None] = mapped_column(sa.UnicodeText)
    published_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime)
    created: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    modified: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)

    @classmethod
    def get(cls, package_id: str) -> DatasetGovernance | None:
        return model.Session.get(cls, package_id)

    @classmethod
    def lock(cls, package_id: str, state: str, access_class: str) -> DatasetGovernance:
        """The row, read fresh and locked (``SELECT ... FOR UPDATE``) until the
        transaction ends; created with ``state``/``access_class`` if missing."""
        query = model.Session.query(cls).filter(cls.package_id == package_id).with_for_update().populate_existing()
        row = query.one_or_none()
        if row is None:
            now = utcnow()
            model.Session.execute(
                insert(cls)
                .values(package_id=package_id, state=state, access_class=access_class, created=now, modified=now)
                .on_conflict_do_nothing(index_elements=[cls.package_id])
            )
            row = query.one()
        return row

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "access_class": self.access_class,
            "submitted_by": self.submitted_by,
            "submitted_at": _iso(self.submitted_at),
            "last_editor": self.last_editor,
            "published_at": _iso(self.published_at),
            "created": _iso(self.created),
            "modified": _iso(self.modified),
        }


class AuditEntry(Base):
    """Append-only (a database trigger refuses UPDATE and DELETE)."""

    __tablename__ = "udp_governance_audit"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    package_id: Mapped[str] = mapped_column(sa.UnicodeText, nullable=False)
    created: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(sa.UnicodeText)
    actor_name: Mapped[str | None] = mapped_column(sa.UnicodeText)
    action: Mapped[str] = mapped_column(sa.UnicodeText, nullable=False)
    from_state: Mapped[str | None] = mapped_column(sa.UnicodeText)
    to_state: Mapped[str | None] = mapped_column(sa.UnicodeText)
    comment: Mapped[str | None] = mapped_column(sa.UnicodeText)
    details: Mapped[str | None] = mapped_column(sa.UnicodeText)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "package_id": self.package_id,
            "created": _iso(self.created),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "comment": self.comment,
            "details": json.loads(self.details) if self.details else None,
        }


class Reviewer(Base):
    __tablename__ = "udp_governance_reviewer"

    organization_id: Mapped[str] = mapped_column(sa.UnicodeText, primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.UnicodeText, primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)


class OrgSetting(Base):
    __tablename__ = "udp_governance_org_setting"

    organization_id: Mapped[str] = mapped_column(sa.UnicodeText, primary_key=True)
    four_eyes: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    modified: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)


class PendingEdit(Base):
    __tablename__ = "udp_governance_pending_edit"

    package_id: Mapped[str] = mapped_column(sa.UnicodeText, primary_key=True)
    proposed: Mapped[str] = mapped_column(sa.UnicodeText, nullable=False)
    proposed_by: Mapped[str] = mapped_column(sa.UnicodeText, nullable=False)
    base_modified: Mapped[str | None] = mapped_column(sa.UnicodeText)
    #: the live dataset the change was proposed against (JSON), for the staleness check
    base: Mapped[str | None] = mapped_column(sa.UnicodeText)
    created: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)

    @classmethod
    def get(cls, package_id: str) -> PendingEdit | None:
        return model.Session.get(cls, package_id)

    @property
    def proposed_dict(self) -> dict[str, Any]:
        return json.loads(self.proposed)

    @property
    def base_dict(self) -> dict[str, Any] | None:
        return json.loads(self.base) if self.base else None


class IndexPending(Base):
    """A dataset whose search index entry has to catch up with a committed
    transition (see ``indexing.py``)."""

    __tablename__ = "udp_governance_index_pending"

    package_id: Mapped[str] = mapped_column(sa.UnicodeText, primary_key=True)
    token: Mapped[str] = mapped_column(sa.UnicodeText, nullable=False)
    marked_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.UnicodeText)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
