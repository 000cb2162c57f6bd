"""The CKAN internals the harvesters need, in one place: indexing a dataset
without a Solr commit per document, and CKAN's name munging.

``package_create``/``package_update`` index each dataset with a hard commit
(``ckan.search.solr_commit``), the most expensive step of a harvested
dataset. The harvesters write with ``defer_commit`` (no index, no commit),
commit the database themselves and then index the datasets here without a
Solr commit: Solr's ``autoSoftCommit`` (1 s in the project's solrconfig.xml;
set it in production's, too) makes them searchable.
"""
from __future__ import annotations

import logging

from ckan import logic
from ckan.lib.munge import munge_name

__all__ = ["index_datasets", "munge_name"]

log = logging.getLogger(__name__)


def index_datasets(package_ids: list[str]) -> list[tuple[str, str]]:
    """Index the datasets (after their transaction committed). Returns the
    ``(id, reason)`` of those that could not be indexed."""
    failed = []
    for package_id in package_ids:
        try:
            logic.index_update_package({"ignore_auth": True}, package_id, defer_commit=True)
        except Exception as err:  # Solr down, a broken dict: the caller records it
            log.warning("indexing %s failed: %s", package_id, err)
            failed.append((package_id, str(err) or type(err).__name__))
    return failed
