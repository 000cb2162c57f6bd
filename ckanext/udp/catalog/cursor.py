"""Keyset paging over the catalog.

Datasets are ordered by an immutable key, (metadata_created, id). A page
carries the key of its last dataset as an opaque ``after`` token; the next page
asks Solr for keys strictly greater. A crawler paging through while datasets
are edited, created or deleted therefore sees every dataset that existed
throughout exactly once: edits do not move a dataset (its key never changes),
new datasets sort after existing ones (creation time), and deletions only
remove themselves. Offsets (``page=N``) have neither property.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass

SORT = "metadata_created asc, id asc"

_ID = re.compile(r"^[0-9a-zA-Z_-]{1,100}$")


class CursorError(ValueError):
    """A malformed ``after`` token."""


@dataclass(frozen=True)
class Cursor:
    created: str  # ISO 8601 UTC with milliseconds and Z, as Solr stores it
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.created, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            created, id_ = json.loads(raw)
            _parse_solr_date(created)
        except (binascii.Error, ValueError, TypeError) as e:
            raise CursorError(f"invalid paging token: {token[:40]!r}") from e
        if not isinstance(id_, str) or not _ID.match(id_):
            raise CursorError(f"invalid paging token: {token[:40]!r}")
        return cls(created, id_)

    @classmethod
    def of(cls, dataset: dict) -> Cursor:
        return cls(solr_date(dataset["metadata_created"]), dataset["id"])

    def fq(self) -> str:
        """Solr filter: everything strictly after this key."""
        # one required clause: CKAN prepends its own "+capacity:public ..."
        # clauses, beside which a bare OR would only be optional
        return (
            f'+(metadata_created:{{"{self.created}" TO *] OR '
            f'(metadata_created:"{self.created}" AND id:{{"{self.id}" TO *]))'
        )


def solr_date(value: str) -> str:
    """CKAN's ``metadata_created`` as Solr holds it: UTC, milliseconds, Z.

    Solr's date fields keep milliseconds; CKAN's dicts carry microseconds.
    """
    parsed = dt.datetime.fromisoformat(value.rstrip("Z"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


def _parse_solr_date(value: str) -> None:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", value):
        raise ValueError(value)
    dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
