"""The ckanext-dcat RDF profile ``dcatap_de``: DCAT-AP.de 3.0 on top of
``euro_dcat_ap_3`` (run it after that profile: ``euro_dcat_ap_3 dcatap_de``).

Serialising adds the dcatde properties (contributor ID, political geocoding
mirrored into ``dct:spatial`` (K08/K11), maintainer, originator, licence
attribution text), the dataset's licence on every distribution (K32), IANA
media-type URIs, ``dcat:accessURL`` for download-only distributions (K39) and
the catalog's publisher, language URI, homepage and theme taxonomy.

Parsing reads the dcatde properties in every namespace variant seen in real
catalogs (dcatde 1.0, 1.0.1, 1.1, ``https://www.dcat-ap.de/...``) and turns
the dict into one that passes the DCAT-AP.de schema: vocabulary values
normalised to their canonical URIs (``vocab.normalise``), licences to
dcat-ap.de licence URIs, values that cannot be represented dropped (and
logged), keywords made valid CKAN tags.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import ckan.plugins.toolkit as tk
from dateutil.parser import parse as parse_date
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from ckanext.dcat.profiles import DCAT, DCT, FOAF, LOCN, RDFProfile
from ckanext.dcat.profiles.base import CleanedURIRef
from ckanext.dcat.utils import resource_uri
from ckanext.udp.dcatde import terms, vocab
from ckanext.udp.dcatde.terms import DCATAP, DCATDE

log = logging.getLogger(__name__)

_HTTP = terms.URL
_EMAIL = terms.EMAIL
_TAG_BAD = re.compile(r"[^\w \-.]", re.UNICODE)
_AGENT_KEYS = ("uri", "name", "type", "url", "email")
_CONTACT_KEYS = ("uri", "name", "email", "url")
ADMS_UNKNOWN_IPR = URIRef("http://purl.org/adms/licencetype/UnknownIPR")


def _json_list(value: Any) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return [str(v) for v in json.loads(value) if v not in (None, "")]
        except ValueError:
            return []
    return [str(value)]


def _set_or_drop(d: dict[str, Any], key: str, value: Any) -> None:
    """``d[key] = value``, or no ``key`` at all for an empty value."""
    if value:
        d[key] = value
    else:
        d.pop(key, None)


class DcatApDeProfile(RDFProfile):
    """DCAT-AP.de 3.0 (GovData conventions) for the ckanext-udp schema."""

    # ------------------------------------------------------------------ output

    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: URIRef) -> None:
        g = self.g
        g.bind("dcatde", DCATDE)
        g.bind("dcatap", DCATAP)

        contributor = dataset_dict.get("contributor_id")
        if contributor:
            g.add((dataset_ref, DCATDE.contributorID, CleanedURIRef(contributor)))

        level = dataset_dict.get("political_geocoding_level_uri")
        if level:
            g.add((dataset_ref, DCATDE.politicalGeocodingLevelURI, CleanedURIRef(level)))
        for uri in _json_list(dataset_dict.get("political_geocoding_uri")):
            ref = CleanedURIRef(uri)
            g.add((dataset_ref, DCATDE.politicalGeocodingURI, ref))
            # K11: mirrored into dct:spatial for European interoperability
            g.add((dataset_ref, DCT.spatial, ref))
            g.add((ref, RDF.type, DCT.Location))
        if dataset_dict.get("geocoding_description"):
            g.add((dataset_ref, DCATDE.geocodingDescription, Literal(dataset_dict["geocoding_description"])))

        for key, predicate in (("dcatde_maintainer", DCATDE.maintainer), ("dcatde_originator", DCATDE.originator)):
            for agent in dataset_dict.get(key) or []:
                if isinstance(agent, dict) and any(agent.get(k) for k in _AGENT_KEYS):
                    self._add_agent_to_graph(dataset_ref, predicate, {k: agent[k] for k in _AGENT_KEYS if agent.get(k)})

        self._distributions_de(dataset_dict, dataset_ref)

    def _distributions_de(self, dataset_dict: dict[str, Any], dataset_ref: URIRef) -> None:
        g = self.g
        dataset_license = dataset_dict.get("license_id")
        dataset_attribution = dataset_dict.get("license_attribution_by_text")
        canonical_dataset_license = vocab.normalise("license", dataset_license) if dataset_license else None
        if canonical_dataset_license:
            g.add((dataset_ref, DCT.license, URIRef(canonical_dataset_license)))
        for resource in dataset_dict.get("resources", []):
            dist = CleanedURIRef(resource_uri(resource))
            # K32: every distribution carries a dcat-ap.de licence
            licence = resource.get("license") or dataset_license
            canonical = vocab.normalise("license", licence) if licence else None
            g.remove((dist, DCT.license, None))
            if canonical:
                ref = URIRef(canonical)
                g.add((dist, DCT.license, ref))
                g.add((ref, RDF.type, DCT.LicenseDocument))
                g.remove((ref, DCT.type, ADMS_UNKNOWN_IPR))
            elif licence:
                g.add((dist, DCT.license, CleanedURIRef(licence) if _HTTP.match(licence) else Literal(licence)))
            # K35
            attribution = resource.get("license_attribution_by_text") or dataset_attribution
            if attribution:
                g.add((dist, DCATDE.licenseAttributionByText, Literal(attribution)))
            # IANA media types as URIs (dcat:mediaType ranges over dct:MediaType)
            for obj in list(g.objects(dist, DCAT.mediaType)):
                if isinstance(obj, Literal):
                    g.remove((dist, DCAT.mediaType, obj))
                    ref = URIRef(terms.media_type_uri(str(obj)))
                    g.add((dist, DCAT.mediaType, ref))
                    g.add((ref, RDF.type, DCT.MediaType))
            # K39: a download-only distribution names its file as access URL too
            if (dist, DCAT.accessURL, None) not in g:
                fallback = resource.get("access_url") or resource.get("download_url") or resource.get("url")
                if fallback:
                    g.add((dist, DCAT.accessURL, CleanedURIRef(fallback)))

    def graph_from_catalog(self, catalog_dict: dict[str, Any] | None, catalog_ref: URIRef) -> None:
        g = self.g
        g.bind("dcatde", DCATDE)
        config = tk.config
        g.remove((catalog_ref, DCT.language, None))
        language = URIRef(terms.LANGUAGE_GERMAN)
        g.add((catalog_ref, DCT.language, language))
        g.add((language, RDF.type, DCT.LinguisticSystem))
        if (catalog_ref, FOAF.homepage, None) not in g and config.get("ckan.site_url"):
            g.add((catalog_ref, FOAF.homepage, URIRef(config.get("ckan.site_url"))))
        taxonomy = URIRef(terms.DATA_THEME_SCHEME)
        g.add((catalog_ref, DCAT.themeTaxonomy, taxonomy))
        g.add((taxonomy, RDF.type, SKOS.ConceptScheme))
        g.remove((catalog_ref, DCT.publisher, None))
        site = config.get("ckan.site_url", "").rstrip("/")
        publisher = URIRef(f"{site}/#publisher") if site else BNode()
        g.add((catalog_ref, DCT.publisher, publisher))
        g.add((publisher, RDF.type, FOAF.Agent))
        g.add((publisher, FOAF.name, Literal(config.get("ckanext.udp.dcatde.catalog_publisher"))))
        g.add((publisher, DCT.type, URIRef(config.get("ckanext.udp.dcatde.publisher_type"))))
        homepage = config.get("ckanext.udp.city_homepage") or config.get("ckanext.udp.dcatde.publisher_homepage")
        if homepage:
            g.add((publisher, FOAF.homepage, URIRef(homepage)))

    # ------------------------------------------------------------------- input

    def _dcatde_objects(self, subject: Any, local: str) -> list[Any]:
        """Objects of the dcatde property ``local`` in any namespace variant."""
        out = []
        for predicate, obj in self.g.predicate_objects(subject):
            if terms.dcatde_local_name(str(predicate)) == local:
                out.append(obj)
        return out

    def _dcatde_agents(self, subject: Any, local: str) -> list[dict[str, Any]]:
        predicates = {p for p in self.g.predicates(subject) if terms.dcatde_local_name(str(p)) == local}
        agents: list[dict[str, Any]] = []
        for predicate in sorted(predicates):
            agents.extend(self._agents_details(subject, predicate))
        return agents

    def parse_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Any) -> dict[str, Any]:
        d = dataset_dict
        self._extras_to_fields(d)
        self._parse_dcatde(d, dataset_ref)
        self._parse_vocabularies(d)
        self._parse_agents(d, dataset_ref)
        self._parse_simple(d)
        self._parse_resources(d, dataset_ref)
        return d

    def _extras_to_fields(self, d: dict[str, Any]) -> None:
        """Extras named like a schema field become the field (CKAN refuses
        both); euro_dcat_ap_3 leaves some behind when its scheming step ran
        before the extra was added."""
        extras = []
        for extra in d.get("extras") or []:
            if self._schema_field(extra["key"]):
                d.setdefault(extra["key"], extra["value"])
            else:
                extras.append(extra)
        d["extras"] = extras

    def _parse_dcatde(self, d: dict[str, Any], ref: Any) -> None:
        contributors = sorted(
            {terms.canonical_dcatapde_uri(str(o)) for o in self._dcatde_objects(ref, "contributorID")}
        )
        contributors = [c for c in contributors if c.startswith(terms.CONTRIBUTORS) and c != terms.CONTRIBUTORS]
        if contributors:
            own = tk.config.get("ckanext.udp.dcatde.contributor_id")
            # K12/K13: exactly one; a catalog that carries several keeps ours if present
            d["contributor_id"] = own if own in contributors else contributors[0]
            if len(contributors) > 1:
                log.info("dataset %s: %d contributor IDs, kept %s", ref, len(contributors), d["contributor_id"])
        geocoding = []
        for obj in self._dcatde_objects(ref, "politicalGeocodingURI"):
            uri = terms.canonical_dcatapde_uri(str(obj))
            if (
                uri.startswith(terms.GEOCODING)
                and not uri.startswith(terms.GEOCODING + "Level/")
                and uri not in geocoding
            ):
                geocoding.append(uri)
        # DCAT-AP.de 3.0 deprecates dcatde:politicalGeocodingURI in favour of
        # the same URI in dct:spatial: read it from there, too
        for obj in self.g.objects(ref, DCT.spatial):
            uri = terms.canonical_dcatapde_uri(str(obj)) if isinstance(obj, URIRef) else ""
            if (
                uri.startswith(terms.GEOCODING)
                and not uri.startswith(terms.GEOCODING + "Level/")
                and uri not in geocoding
            ):
                geocoding.append(uri)
        if geocoding:
            d["political_geocoding_uri"] = geocoding
        for obj in self._dcatde_objects(ref, "politicalGeocodingLevelURI"):
            level = vocab.normalise("political-geocoding-level", str(obj))
            if level:
                d["political_geocoding_level_uri"] = level
                break
        descriptions = [str(o) for o in self._dcatde_objects(ref, "geocodingDescription") if isinstance(o, Literal)]
        if descriptions:
            d["geocoding_description"] = sorted(descriptions, key=lambda s: (-len(s), s))[0]
        # Areas from dct:spatial, read here because euro_dcat_ap_3 merges all
        # areas into one and loses bbox/centroid with scheming (ckanext-dcat
        # 2.4.4 runs its scheming step before the v2 spatial step). The
        # mirror of the political geocoding (K11) is not a separate area.
        coverage = []
        for spatial in self.g.objects(ref, DCT.spatial):
            item: dict[str, str] = {}
            if isinstance(spatial, URIRef):
                uri = str(spatial)
                if uri in geocoding or terms.canonical_dcatapde_uri(uri).startswith(terms.GEOCODING):
                    continue
                if _HTTP.match(uri):
                    item["uri"] = uri
            elif isinstance(spatial, Literal):
                item["text"] = str(spatial)
            for label_predicate in (SKOS.prefLabel, RDFS.label):
                label = self._object_value(spatial, label_predicate)
                if label:
                    item["text"] = label
            for key, predicate in (("geom", LOCN.geometry), ("bbox", DCAT.bbox), ("centroid", DCAT.centroid)):
                value = self._parse_geodata(spatial, predicate, None)
                if value:
                    item[key] = value
            if item:
                coverage.append(item)
        _set_or_drop(d, "spatial_coverage", coverage)
        d["extras"] = [e for e in d.get("extras", []) if not e["key"].startswith("spatial")]

    def _parse_vocabularies(self, d: dict[str, Any]) -> None:
        for key, name in (("theme", "data-theme"), ("language", "language"), ("hvd_category", "hvd-category")):
            values = self._normalised_list(name, _json_list(d.get(key)), key)
            _set_or_drop(d, key, values)
        legislation = []
        for value in _json_list(d.get("applicable_legislation")):
            uri = vocab.normalise("applicable-legislation", value) or (value if _HTTP.match(value) else None)
            if uri and uri not in legislation:
                legislation.append(uri)
        _set_or_drop(d, "applicable_legislation", legislation)
        self._normalise_single(d, (("frequency", "frequency"), ("access_rights", "access-right")))

    @staticmethod
    def _normalise_single(d: dict[str, Any], fields: Iterable[tuple[str, str]]) -> None:
        """Single vocabulary values to canonical URIs; unknown ones are dropped."""
        for key, name in fields:
            if d.get(key):
                value = vocab.normalise(name, d[key])
                if not value:
                    log.info("dropped %s %r (not in the vocabulary)", key, d[key])
                _set_or_drop(d, key, value)

    @staticmethod
    def _normalised_list(name: str, values: Iterable[str], key: str) -> list[str]:
        out: list[str] = []
        for value in values:
            uri = vocab.normalise(name, value)
            if uri is None:
                log.info("dropped %s %r (not in the vocabulary)", key, value)
            elif uri not in out:
                out.append(uri)
        return out

    def _clean_agent(self, agent: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        if agent.get("name"):
            out["name"] = str(agent["name"]).strip()
        if agent.get("type"):
            kind = vocab.normalise("publisher-type", str(agent["type"]))
            if kind:
                out["type"] = kind
        for key in ("url", "uri"):
            if agent.get(key) and _HTTP.match(str(agent[key]).strip()):
                out[key] = str(agent[key]).strip()
        email = str(agent.get("email") or "").strip()
        if email.lower().startswith("mailto:"):
            email = email[7:]
        if _EMAIL.match(email):
            out["email"] = email
        return out

    def _parse_agents(self, d: dict[str, Any], dataset_ref: Any) -> None:
        for key, local in (("dcatde_maintainer", "maintainer"), ("dcatde_originator", "originator")):
            agents = [a for a in (self._clean_agent(x) for x in self._dcatde_agents(dataset_ref, local)) if a]
            if agents:
                d[key] = agents[:1]
        publishers = [a for a in (self._clean_agent(x) for x in d.get("publisher") or []) if a]
        if publishers:
            d["publisher"] = publishers[:1]
        else:
            d.pop("publisher", None)
        d.pop("creator", None)
        contacts = []
        for contact in d.get("contact") or []:
            clean = self._clean_agent(contact)
            clean.pop("type", None)
            if clean.get("email") or clean.get("url"):
                contacts.append({k: clean[k] for k in _CONTACT_KEYS if k in clean})
            else:
                log.info("dropped contact point without e-mail or URL (K01): %r", contact)
        _set_or_drop(d, "contact", contacts)

    @staticmethod
    def _date(value: Any) -> str | None:
        if not value:
            return None
        text = str(value).strip()
        if re.fullmatch(r"\d{4}(-\d{2}){0,2}", text):
            return text
        try:
            return parse_date(text.replace(" GMT ", "T")).isoformat()
        except (ValueError, OverflowError):
            try:
                return parse_date(text, fuzzy=True).isoformat()
            except (ValueError, OverflowError):
                return None

    def _clean_dates(self, d: dict[str, Any]) -> None:
        """issued/modified as ISO dates; unreadable ones are dropped."""
        for key in ("issued", "modified"):
            if key in d:
                value = self._date(d[key])
                if value:
                    d[key] = value
                else:
                    d.pop(key)

    @staticmethod
    def _clean_url_lists(d: dict[str, Any]) -> None:
        """documentation/conforms_to: http(s) URIs only, dcat-ap.de spellings canonical."""
        for key in ("documentation", "conforms_to"):
            urls = [terms.canonical_dcatapde_uri(u) for u in _json_list(d.get(key)) if _HTTP.match(u)]
            _set_or_drop(d, key, urls)

    def _parse_simple(self, d: dict[str, Any]) -> None:
        self._clean_dates(d)
        periods = []
        for period in d.get("temporal_coverage") or []:
            dates = {k: self._date(period.get(k)) for k in ("start", "end")}
            clean: dict[str, str] = {k: v for k, v in dates.items() if v}
            if clean.get("start") and clean.get("end") and clean["end"][:10] < clean["start"][:10]:
                clean["start"], clean["end"] = clean["end"], clean["start"]
            if clean:
                periods.append(clean)
        _set_or_drop(d, "temporal_coverage", periods)
        self._clean_url_lists(d)
        if d.get("url") and not _HTTP.match(d["url"]):
            d.pop("url")
        if d.get("identifier"):
            d["identifier"] = " ".join(str(d["identifier"]).split())
        if not (d.get("notes") or "").strip() and d.get("title"):
            d["notes"] = d["title"]  # the schema requires a description
        tags: list[dict[str, str]] = []
        for tag in d.get("tags") or []:
            name = " ".join(_TAG_BAD.sub(" ", tag.get("name", "")).split())[:100]
            if len(name) >= 2 and name not in [t["name"] for t in tags]:
                tags.append({"name": name})
        d["tags"] = tags
        for key in ("version",):
            if d.get(key):
                d[key] = str(d[key])[:100]

    def _parse_resources(self, d: dict[str, Any], dataset_ref: Any) -> None:
        licences: list[str] = []
        for resource in d.get("resources", []):
            dist_ref = resource.pop("distribution_ref", None)
            dist = (
                URIRef(dist_ref)
                if dist_ref and _HTTP.match(dist_ref)
                else self._find_distribution(dataset_ref, dist_ref)
            )
            licence = vocab.normalise("license", resource["license"]) if resource.get("license") else None
            resource.pop("license", None)
            if licence:
                resource["license"] = licence
                licences.append(licence)
            texts = [str(o) for o in self._dcatde_objects(dist, "licenseAttributionByText")] if dist is not None else []
            if texts:
                resource["license_attribution_by_text"] = texts[0]
            if dist is not None and not resource.get("availability"):
                for obj in self._dcatde_objects(dist, "plannedAvailability"):
                    resource["availability"] = str(obj)
            self._normalise_single(resource, (("format", "file-type"), ("availability", "planned-availability")))
            if resource.get("status"):
                status = vocab.normalise("distribution-status", resource["status"]) or vocab.normalise(
                    "distribution-status", resource["status"].rstrip("/").rsplit("/", 1)[-1]
                )
                if status:
                    resource["status"] = status
                else:
                    resource.pop("status")
            if resource.get("mimetype"):
                mimetype = terms.media_type_from_uri(resource["mimetype"]).lower()
                if re.fullmatch(r"[a-z0-9][\w!#$&^.+-]*/[a-z0-9][\w!#$&^.+-]*", mimetype):
                    resource["mimetype"] = mimetype
                else:
                    resource.pop("mimetype")
            if resource.get("hash_algorithm"):
                name = terms.checksum_algorithm_name(resource["hash_algorithm"]).lower()
                if name in terms.CHECKSUM_ALGORITHMS:
                    resource["hash_algorithm"] = terms.checksum_algorithm_uri(name)
                else:
                    resource.pop("hash_algorithm")
            for key in ("language",):
                values = self._normalised_list("language", _json_list(resource.get(key)), key)
                _set_or_drop(resource, key, values)
            if isinstance(resource.get("rights"), str):
                resource["rights"] = terms.canonical_dcatapde_uri(resource["rights"])
            self._clean_url_lists(resource)
            for key in ("access_url", "download_url"):
                if resource.get(key) and not _HTTP.match(resource[key]):
                    resource.pop(key)
            self._clean_dates(resource)
            if isinstance(resource.get("size"), int) and resource["size"] < 0:
                resource.pop("size")
        # the dataset's licence: its own dct:license (DCAT-AP.de allows it on
        # the dataset, and we write it), else the one most distributions carry
        dataset_licence = self._object_value(dataset_ref, DCT.license)
        own = vocab.normalise("license", dataset_licence) if dataset_licence else None
        if own:
            d["license_id"] = own
        elif licences:
            counts = Counter(licences)
            d["license_id"] = sorted(counts, key=lambda uri: (-counts[uri], uri))[0]
        else:
            d.pop("license_id", None)
        attributions = {r.get("license_attribution_by_text") for r in d.get("resources", [])} - {None, ""}
        if len(attributions) == 1:
            d["license_attribution_by_text"] = attributions.pop()
        for resource in d.get("resources", []):
            if resource.get("license") and resource["license"] == d.get("license_id"):
                resource.pop("license")
            if (
                d.get("license_attribution_by_text")
                and resource.get("license_attribution_by_text") == d["license_attribution_by_text"]
            ):
                resource.pop("license_attribution_by_text")
        self._attribution_fallback(d)

    def _attribution_fallback(self, d: dict[str, Any]) -> None:
        """K35 in harvested data: a licence that requires attribution but no
        text gets the publisher's name, the party the licence wants named."""
        agent = (d.get("publisher") or [{}])[0]
        publisher = agent.get("name") or self._catalog_publisher_name() or agent.get("uri")
        if not publisher:
            return
        if (
            d.get("license_id")
            and vocab.requires_attribution(d["license_id"])
            and not d.get("license_attribution_by_text")
        ):
            d["license_attribution_by_text"] = publisher
        for resource in d.get("resources", []):
            if (
                resource.get("license")
                and vocab.requires_attribution(resource["license"])
                and not resource.get("license_attribution_by_text")
                and not d.get("license_attribution_by_text")
            ):
                resource["license_attribution_by_text"] = publisher

    def _catalog_publisher_name(self) -> str | None:
        for catalog in self.g.subjects(RDF.type, DCAT.Catalog):
            for agent in self._agents_details(catalog, DCT.publisher):
                if agent.get("name"):
                    return agent["name"]
        return None

    def _find_distribution(self, dataset_ref: Any, dist_ref: str | None) -> Any:
        for dist in self._distributions(dataset_ref):
            if str(dist) == dist_ref:
                return dist
        return None
