"""The check behind the stewards' quality view, cached in Redis.

A check serialises the dataset to RDF (ckanext-dcat), validates it against the
shapes (:mod:`.validation`) and splits the findings (:mod:`.findings`). Its
result is kept in CKAN's Redis under a key made of

- a digest of the dataset as ``package_show`` returns it (so every edit,
  including ``metadata_modified`` and the organization's summary, gives a new
  key),
- the version of the loaded shapes (a digest of the reference files), and
- :data:`FORMAT` (the layout of the cached entry).

An edited dataset therefore never shows the findings of its earlier state.
What the RDF takes from elsewhere (the site's configuration, organization
fields that ``package_show`` does not return) reaches the view at the latest
after :data:`TTL`. Without Redis, every request checks afresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from typing import Any

from ckanext.udp import rediscache
from ckanext.udp.dcatde import cli, findings, validation
from ckanext.udp.dcatde.validation import Report, Result

log = logging.getLogger(__name__)

PREFIX = "udp:dcatde:quality:"
FORMAT = 1
#: seconds a check is kept (bounds staleness from outside the dataset)
TTL = 24 * 3600


@dataclasses.dataclass(frozen=True)
class Check:
    """The whole report, the findings the stewards can act on, those about portal-set values."""

    report: Report
    mine: Report
    portal: Report


def check(pkg: dict[str, Any]) -> Check:
    """The (cached) quality check of ``pkg``, a ``package_show`` result.
    Raises :class:`validation.ShapesNotFound` without the shapes."""
    key = _key(pkg, validation.shapes_version())
    cached = _read(key)
    if cached is not None:
        return cached
    graph = cli.dataset_graph(pkg)
    report = validation.validate(graph)
    mine, portal = findings.split(report, graph)
    result = Check(report, mine, portal)
    _write(key, result)
    return result


def _key(pkg: dict[str, Any], shapes_version: str) -> str:
    digest = hashlib.sha256(json.dumps(pkg, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return f"{PREFIX}{FORMAT}:{shapes_version}:{pkg.get('id')}:{digest}"


def _dump(report: Report) -> dict[str, Any]:
    return dataclasses.asdict(report)


def _load(data: dict[str, Any]) -> Report:
    def results(items: list[dict[str, Any]]) -> tuple[Result, ...]:
        return tuple(Result(**item) for item in items)

    return Report(
        violations=results(data["violations"]),
        warnings=results(data["warnings"]),
        infos=results(data["infos"]),
        seconds=data["seconds"],
        triples=data["triples"],
        extra=data["extra"],
    )


def _read(key: str) -> Check | None:
    data = rediscache.get(key)
    if data is None:
        return None
    try:
        return Check(_load(data["report"]), _load(data["mine"]), _load(data["portal"]))
    except (KeyError, TypeError):
        log.warning("quality check cache: unreadable entry %s", key)
        return None


def _write(key: str, result: Check) -> None:
    rediscache.put(key, {name: _dump(getattr(result, name)) for name in ("report", "mine", "portal")}, TTL)


__all__ = ["FORMAT", "PREFIX", "TTL", "Check", "check"]
