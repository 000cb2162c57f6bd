"""Per-dataset RDF fragments, built with ckanext-dcat's profiles and cached.

The expensive part of a catalog page is running the RDF profiles over each
dataset. A dataset's fragment only changes when the dataset does, so it is
cached in the catalog's Redis database (cache.py), one hash per (profiles,
base URI, dataset id) holding all formats and the ``metadata_modified`` they
were built from: a read checks that version, a write replaces the previous
version (none is left behind to wait for its TTL), a deletion removes it. A
page costs one Redis round trip for the datasets already seen. Each dataset
gets a graph of its own, so memory is bounded by the page, not the catalog
(ckanext-dcat's stock catalog builds one graph for all datasets of a page and
scans it per dataset).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import ckan.plugins.toolkit as tk
from rdflib import Graph

from ckanext.dcat.processors import RDFSerializer
from ckanext.udp import compat

from . import rdfwriter
from .cache import connect as connect_to_redis

FORMATS = ("ttl", "rdf", "jsonld")
_KEY = "udp:catalog:fragment:v2:{config}:{id}"
_VERSION = "modified"


def _profiles() -> list[str]:
    return tk.aslist(tk.config.get("ckanext.dcat.rdf.profiles"))


def config_key() -> str:
    """Changes when anything that shapes every fragment changes."""
    raw = "|".join([" ".join(_profiles()), compat.dcat_catalog_uri()])
    return hashlib.sha1(raw.encode()).hexdigest()[:12]


class FragmentBuilder:
    """Builds fragments for many datasets with one set of loaded profiles."""

    def __init__(self) -> None:
        self._serializer = RDFSerializer(profiles=_profiles())

    def graph(self, dataset: dict[str, Any]) -> tuple[Graph, Any]:
        self._serializer.g = Graph()
        ref = self._serializer.graph_from_dataset(dataset)
        return self._serializer.g, ref

    def build(self, dataset: dict[str, Any]) -> dict[str, str]:
        graph, ref = self.graph(dataset)
        prefix = "d" + dataset["id"].replace("-", "")[:12]
        fragments = {fmt: rdfwriter.WRITERS[fmt](graph, prefix) for fmt in FORMATS}
        fragments["ref"] = str(ref)
        return fragments


def _key(conf: str, dataset_id: str) -> str:
    return _KEY.format(config=conf, id=dataset_id)


def _store(pipe: Any, key: str, dataset: dict[str, Any], built: dict[str, str], ttl: int) -> None:
    """Replace whatever version the key held with this one (``pipe`` is a
    transactional pipeline: MULTI ... EXEC)."""
    pipe.delete(key)
    pipe.hset(key, mapping={**built, _VERSION: dataset["metadata_modified"]})
    pipe.expire(key, ttl)


def _write(redis: Any, key: str, dataset: dict[str, Any], built: dict[str, str], ttl: int) -> None:
    pipe = redis.pipeline(transaction=True)
    _store(pipe, key, dataset, built, ttl)
    pipe.execute()


def forget(dataset_id: str) -> None:
    """Drop a dataset's fragment (it was deleted)."""
    connect_to_redis().delete(_key(config_key(), dataset_id))


def warm(dataset_ids: Sequence[str]) -> int:
    """Build and cache the fragments of these datasets as the public sees them
    (a background job after each write, and ``ckan udp catalog warm``).
    Returns how many were built."""
    ttl = tk.config.get("ckanext.udp.catalog.cache_ttl")
    if ttl <= 0:
        return 0
    conf = config_key()
    redis = connect_to_redis()
    builder: FragmentBuilder | None = None
    built = 0
    for id_ in dataset_ids:
        try:
            dataset = tk.get_action("package_show")({"user": "", "auth_user_obj": None}, {"id": id_})
        except (tk.ObjectNotFound, tk.NotAuthorized):
            continue  # not public: never in the catalog
        key = _key(conf, dataset["id"])
        cached = redis.hget(key, _VERSION)
        if isinstance(cached, bytes) and cached.decode() == dataset["metadata_modified"]:
            continue
        builder = builder or FragmentBuilder()
        _write(redis, key, dataset, builder.build(dataset), ttl)
        built += 1
    return built


#: the datasets written since the warm job last ran (a set in the catalog's Redis) ...
_PENDING = "udp:catalog:warm:pending:{site}"
#: ... and the mark that a warm job is queued: a write finding it adds its id and queues nothing
_QUEUED = "udp:catalog:warm:queued:{site}"
#: a queued job lost with a killed worker: the next write queues one again after this
QUEUED_SECONDS = 600
#: datasets taken from the set at a time
WARM_BATCH = 200


def _site() -> str:
    return tk.config.get("ckan.site_id") or "default"


def schedule(dataset_id: str) -> bool:
    """Have ``dataset_id`` serialised by the warm job; queue the job unless one is
    waiting. One job serves every write until it starts: CKAN's worker loads the
    whole application for each job (seconds), so a job per written dataset kept a
    harvest's worker busy for hours. Returns whether a job was queued."""
    redis = connect_to_redis()
    site = _site()
    redis.sadd(_PENDING.format(site=site), dataset_id)
    if not redis.set(_QUEUED.format(site=site), "1", nx=True, ex=QUEUED_SECONDS):
        return False
    try:
        tk.enqueue_job(warm_pending, title="udp catalog: serialise datasets")
    except Exception:
        # no job queued: without the mark the next write tries again (with it, the
        # written datasets would wait QUEUED_SECONDS for a job)
        redis.delete(_QUEUED.format(site=site))
        raise
    return True


def warm_pending() -> int:
    """The warm job: every dataset written since it was queued (and any left by a
    job that died). The mark goes first, so a write from now on queues the next job
    and no dataset waits for one that already ran. Returns how many were built."""
    redis = connect_to_redis()
    site = _site()
    redis.delete(_QUEUED.format(site=site))
    built = 0
    while ids := redis.spop(_PENDING.format(site=site), WARM_BATCH):
        built += warm([i.decode() if isinstance(i, bytes) else str(i) for i in ids])
    return built


def fragments_for(datasets: Sequence[dict[str, Any]], fmt: str) -> tuple[list[str], list[str]]:
    """(fragments in the requested format, dataset URIs), built or from the cache."""
    conf = config_key()
    keys = [_key(conf, d["id"]) for d in datasets]
    ttl = tk.config.get("ckanext.udp.catalog.cache_ttl")
    redis = connect_to_redis()
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.hmget(key, _VERSION, fmt, "ref")
    cached = pipe.execute()

    builder: FragmentBuilder | None = None
    out: list[str] = []
    refs: list[str] = []
    store = redis.pipeline(transaction=True)
    stored = False
    for key, dataset, (version, body, ref) in zip(keys, datasets, cached, strict=True):
        if body is None or ref is None or version is None or version.decode() != dataset["metadata_modified"]:
            builder = builder or FragmentBuilder()
            built = builder.build(dataset)
            if ttl > 0:
                _store(store, key, dataset, built, ttl)
                stored = True
            out.append(built[fmt])
            refs.append(built["ref"])
        else:
            out.append(body.decode("utf-8"))
            refs.append(ref.decode("utf-8"))
    if stored:
        store.execute()
    return out, refs
