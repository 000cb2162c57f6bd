"""ISO 19139 metadata (GDI-DE, INSPIRE) from a CSW into the portal's DCAT-AP.de
schema, and the CSW client around OWSLib.

Parsing is declaration-safe: every document is parsed from bytes (an
``<?xml ... encoding=...?>`` declaration is fine; ckanext-spatial 2.3.2 turns
records into text first and fails on every declaration), DOCTYPE and ENTITY
declarations are refused by defusedxml before lxml sees the document, lxml
resolves no entities and loads no DTD or network resource. Records are checked against
ckanext-spatial's ``iso19139eden`` XSD profile (which accepts service records
and GML 3.2, unlike the default ``iso19139``).

Mapping (OWSLib's ``MD_Metadata``): title, abstract, keywords, topic
categories -> themes, dates, contacts -> publisher and contact point, the
GDI-DE licence JSON in ``otherConstraints`` (``{"id": "dl-by-de/2.0", ...,
"quelle": ...}``) or a licence name -> licence (``quelle`` / "Quellenvermerk"
-> attribution text), access constraints -> access rights, maintenance
frequency, the bounding box -> spatial coverage (and the city districts it
lies on), temporal extent, online resources -> distributions (WMS/WFS typed
as services), service records -> a distribution per service endpoint, and a
link to the original ISO record (the CSW's GetRecordById) kept as a
distribution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError as DefusedParseError
from defusedxml.ElementTree import fromstring as defused_fromstring
from lxml import etree
from owslib import util as owsutil
from owslib.catalogue.csw2 import CatalogueServiceWeb
from owslib.catalogue.csw2 import namespaces as csw_namespaces
from owslib.iso import MD_Metadata

from ckanext.udp import fetch
from ckanext.udp.dcatde import vocab
from ckanext.udp.harvest import crosswalk, geo
from ckanext.udp.harvest.base import GatherIncomplete, Record, _

GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
NS = {"gmd": GMD, "gco": GCO, "srv": "http://www.isotc211.org/2005/srv"}
DEFAULT_PAGE_SIZE = 20
DEFAULT_MAX_RECORDS = 20000
DEFAULT_PROFILE = "iso19139eden"
_HTTP = re.compile(r"^https?://\S+$")
_TAG_BAD = re.compile(r"[^\w \-.]", re.UNICODE)
# ISO 19115 topic categories -> EU data themes (closest fit; ours)
_TOPIC_THEMES = {
    "farming": "AGRI",
    "biota": "ENVI",
    "boundaries": "REGI",
    "climatologyMeteorologyAtmosphere": "ENVI",
    "economy": "ECON",
    "elevation": "ENVI",
    "environment": "ENVI",
    "geoscientificInformation": "TECH",
    "health": "HEAL",
    "imageryBaseMapsEarthCover": "ENVI",
    "intelligenceMilitary": "GOVE",
    "inlandWaters": "ENVI",
    "location": "REGI",
    "oceans": "ENVI",
    "planningCadastre": "REGI",
    "society": "SOCI",
    "structure": "REGI",
    "transportation": "TRAN",
    "utilitiesCommunication": "ENER",
}
_SERVICE_PATTERNS = (
    ("WMTS_SRVC", r"\bwmts\b|web map tile service"),
    ("WMS_SRVC", r"\bwms\b|web map service"),
    ("WFS_SRVC", r"\bwfs\b|web feature service"),
    ("WCS_SRVC", r"\bwcs\b|web coverage service"),
)


class RefusedXML(ValueError):
    pass


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(data: bytes) -> Any:
    """An lxml tree from untrusted bytes (declaration fine; DOCTYPE/ENTITY refused)."""
    try:  # defusedxml's expat pass: it detects the encoding itself, so a DOCTYPE in UTF-16 is caught too
        defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise RefusedXML(
            "XML with a DOCTYPE or ENTITY declaration is refused "
            "(external entities and entity expansion are not allowed)"
        ) from None
    except DefusedParseError as err:
        raise RefusedXML(f"not well-formed XML: {err}") from None
    try:
        return etree.parse(BytesIO(data), _PARSER)
    except etree.XMLSyntaxError as err:
        raise RefusedXML(f"not well-formed XML: {err}") from None


# --- the CSW client: OWSLib's requests, our fetch --------------------------------


class GuardedCsw(CatalogueServiceWeb):
    """OWSLib's CSW client whose requests go through ``ckanext.udp.fetch``
    (timeouts, size cap, SSRF guard, same-origin redirects) and whose answers
    are parsed with :func:`parse_xml`."""

    request: Any  # OWSLib's: the KVP query string or the request element, then its bytes

    def __init__(self, url: str, fetcher: fetch.Fetcher) -> None:
        self._fetcher = fetcher
        super().__init__(url, skip_caps=True, timeout=int(fetcher.policy.read_timeout))

    def _invoke(self) -> None:
        if isinstance(self.request, str):  # GET KVP
            self.request = f"{owsutil.bind_url(self.url)}{self.request}"
            body = self._fetcher.get(self.request).content
        else:
            request = owsutil.cleanup_namespaces(self.request)
            for query in request.findall(owsutil.nspath_eval("csw:Query", csw_namespaces)):
                names = query.get("typeNames", None)
                if names is not None:
                    request = owsutil.add_namespaces(request, [x.split(":")[0] for x in names.split(" ")])
            request = owsutil.add_namespaces(request, "ows")
            self.request = owsutil.element_to_string(request, encoding="utf-8")
            payload = self.request if isinstance(self.request, bytes) else self.request.encode("utf-8")
            body = self._fetcher.post(self.url, payload, headers={"Content-Type": "application/xml"}).content
        self.response = body
        try:
            self._exml = parse_xml(body)
        except RefusedXML as err:
            message = _("{url}: the answer was refused: {reason}").format(url=self.url, reason=err)
            raise GatherIncomplete(message) from None
        root = self._exml.getroot().tag
        if root == owsutil.nspath_eval("ows:ExceptionReport", csw_namespaces):
            text = " ".join(t.strip() for t in self._exml.getroot().itertext() if t.strip())
            raise GatherIncomplete(_("{url}: the CSW reports an error: {reason}").format(url=self.url, reason=text))
        if root != owsutil.nspath_eval("csw:GetRecordsResponse", csw_namespaces):
            raise GatherIncomplete(_("{url}: not a CSW GetRecords answer").format(url=self.url))
        self.exceptionreport = None


def csw_records(url: str, config: dict[str, Any], fetcher: fetch.Fetcher) -> Iterator[tuple[str, bytes]]:
    """(identifier, record XML) of every ISO record of the CSW, page by page.
    Raises GatherIncomplete when the catalogue cannot be read to its end."""
    page = int(config.get("page_size", DEFAULT_PAGE_SIZE))
    limit = int(config.get("max_records", DEFAULT_MAX_RECORDS))
    csw = GuardedCsw(url, fetcher)
    position, seen_positions, matches_first = 1, set(), None
    read = 0
    while True:
        if position in seen_positions:
            raise GatherIncomplete(_("the CSW pages back to record {n}").format(n=position))
        seen_positions.add(position)
        csw.getrecords2(
            typenames="gmd:MD_Metadata",
            esn="full",
            outputschema=GMD,
            startposition=position,
            maxrecords=page,
            resulttype="results",
        )
        matches = int(csw.results.get("matches") or 0)
        if matches_first is None:
            matches_first = matches
            if matches > limit:
                raise GatherIncomplete(
                    _("the CSW lists {count} records, more than max_records ({limit})").format(
                        count=matches, limit=limit
                    )
                )
        elif matches != matches_first:
            raise GatherIncomplete(
                _("the catalogue changed while it was read ({before} records, then {after})").format(
                    before=matches_first, after=matches
                )
            )
        records = csw._exml.findall(f".//{{{GMD}}}MD_Metadata")
        for element in records:
            ident = element.findtext("gmd:fileIdentifier/gco:CharacterString", namespaces=NS)
            yield (ident or "").strip(), etree.tostring(element, xml_declaration=True, encoding="UTF-8")
        read += len(records)
        nxt = csw.results.get("nextrecord")
        if not records or not nxt or nxt > matches or read >= matches:
            break
        position = int(nxt)
    if read < (matches_first or 0):
        raise GatherIncomplete(
            _("the CSW announced {count} records but delivered {read}").format(count=matches_first, read=read)
        )


# --- mapping -----------------------------------------------------------------------


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def _tag(text: str) -> str | None:
    name = " ".join(_TAG_BAD.sub(" ", text).split())[:100]
    return name if len(name) >= 2 else None


def _date(value: Any) -> str | None:
    text = _text(value)
    match = re.match(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2})?", text)
    if not match:
        return None
    return match.group(1) + (match.group(2) or "")


def _licence(constraints: list[str]) -> tuple[str | None, str | None]:
    """(licence URI, attribution text) from otherConstraints: the GDI-DE JSON
    first, then any text naming a licence; "Quellenvermerk: ..." as attribution."""
    licence, attribution = None, None
    for text in constraints:
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                doc = json.loads(stripped)
            except (ValueError, RecursionError):
                continue
            if isinstance(doc, dict):
                licence = (
                    licence
                    or vocab.normalise("license", str(doc.get("id") or ""))
                    or vocab.normalise("license", str(doc.get("url") or ""))
                )
                if doc.get("quelle"):
                    attribution = attribution or str(doc["quelle"]).strip() or None
    for text in constraints:
        stripped = text.strip()
        if not licence and not stripped.startswith("{"):
            licence = vocab.normalise("license", stripped)
        match = re.match(r"^\s*Quellenvermerk\s*:\s*(.+)$", stripped, re.I | re.S)
        if match and not attribution:
            attribution = match.group(1).strip()[:500]
    return licence, attribution


def _agent(party: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    name = _text(getattr(party, "organization", None) or getattr(party, "name", None))
    if name:
        out["name"] = name[:300]
    email = _text(getattr(party, "email", None))
    if re.match(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$", email):
        out["email"] = email
    online = getattr(party, "onlineresource", None)
    url = _text(getattr(online, "url", None)) if online is not None else ""
    if _HTTP.match(url):
        out["url"] = url
    return out


def _service_format(*hints: Any) -> str | None:
    """The EU file type of an OGC service named in a protocol, name or URL."""
    text = " ".join(_text(h).lower() for h in hints if h)
    for code, pattern in _SERVICE_PATTERNS:
        if re.search(pattern, text):
            return vocab.normalise("file-type", code)
    return None


def _frequency(element: Any) -> str | None:
    value = element.xpath(".//gmd:resourceMaintenance//gmd:MD_MaintenanceFrequencyCode/@codeListValue", namespaces=NS)
    return crosswalk.frequency(value[0]) if value else None


def record_url(csw_url: str, identifier: str) -> str:
    return f"{csw_url}?" + urlencode(
        {
            "service": "CSW",
            "version": "2.0.2",
            "request": "GetRecordById",
            "id": identifier,
            "outputSchema": GMD,
            "elementSetName": "full",
        }
    )


def map_record(xml: bytes, csw_url: str) -> Record:
    """One ISO 19139 record as a dataset (guid: its fileIdentifier)."""
    tree = parse_xml(xml)
    root = tree.getroot()
    md = MD_Metadata(root)
    identifier = _text(md.identifier)
    idents = md.identification if isinstance(md.identification, list) else [md.identification]
    ident = next((i for i in idents if i is not None), None)
    if not identifier or ident is None:
        return Record(
            guid=f"{csw_url}#{identifier or 'ohne-kennung'}",
            label=_text(getattr(ident, "title", "")),
            error=_("The record has no fileIdentifier or no identification section."),
        )
    title = _text(ident.title) or identifier
    d: dict[str, Any] = {"title": title[:500], "notes": (ident.abstract or "").strip() or title}
    tags: list[dict[str, str]] = []
    for group in getattr(ident, "keywords", None) or []:
        for keyword in getattr(group, "keywords", None) or []:
            tag = _tag(_text(getattr(keyword, "name", None)))
            if tag and {"name": tag} not in tags:
                tags.append({"name": tag})
    d["tags"] = tags
    themes = []
    for topic in getattr(ident, "topiccategory", None) or []:
        code = _TOPIC_THEMES.get(str(topic))
        uri = vocab.normalise("data-theme", code) if code else None
        if uri and uri not in themes:
            themes.append(uri)
    if themes:
        d["theme"] = themes
    languages = []
    for code in (
        getattr(ident, "resourcelanguagecode", None) or getattr(ident, "resourcelanguage", None) or [md.languagecode]
    ):
        uri = vocab.normalise("language", str(code)) if code else None
        if uri and uri not in languages:
            languages.append(uri)
    if languages:
        d["language"] = languages
    dates = {getattr(x, "type", None): _date(getattr(x, "date", None)) for x in getattr(ident, "date", None) or []}
    if dates.get("publication") or dates.get("creation"):
        d["issued"] = dates.get("publication") or dates.get("creation")
    if dates.get("revision"):
        d["modified"] = dates["revision"]
    uricodes = [u for u in getattr(ident, "uricode", None) or [] if u]
    d["identifier"] = _text(uricodes[0] if uricodes else identifier)[:500]
    parties = list(getattr(ident, "contact", None) or [])
    publisher = next(
        (
            _agent(p)
            for p in parties
            if getattr(p, "role", None) in ("publisher", "owner", "custodian", "resourceProvider", "distributor")
        ),
        None,
    ) or (_agent(parties[0]) if parties else {})
    if publisher.get("name"):
        d["publisher"] = [{k: v for k, v in publisher.items() if k in ("name", "url", "email")}]
    contact = next((_agent(p) for p in list(md.contact or []) + parties if _agent(p).get("email")), None)
    if contact:
        d["contact"] = [contact]
    licence, attribution = _licence([str(c) for c in getattr(ident, "otherconstraints", None) or []])
    if licence:
        d["license_id"] = licence
    if attribution:
        d["license_attribution_by_text"] = attribution
    elif licence and vocab.requires_attribution(licence) and publisher.get("name"):
        d["license_attribution_by_text"] = publisher["name"]
    access = None
    for text in list(getattr(ident, "otherconstraints", None) or []) + list(
        getattr(ident, "accessconstraints", None) or []
    ):
        access = crosswalk.access_rights(text)
        if access:
            break
    if access:
        d["access_rights"] = access
    frequency = _frequency(root)
    if frequency:
        d["frequency"] = frequency
    start, end = _date(getattr(ident, "temporalextent_start", None)), _date(getattr(ident, "temporalextent_end", None))
    if start or end:
        d["temporal_coverage"] = [{k: v for k, v in (("start", start), ("end", end)) if v}]
    areas = []
    bbox = getattr(ident, "bbox", None)
    if bbox is not None:
        try:
            west, south, east, north = (float(bbox.minx), float(bbox.miny), float(bbox.maxx), float(bbox.maxy))
        except (TypeError, ValueError):
            west = south = east = north = float("nan")
        area = geo.area_from_bbox(west, south, east, north, text=_text(getattr(ident, "extent_description", "")))
        if area:
            areas.append(area)
            for number, name in geo.districts_in(west, south, east, north):
                areas.append({"text": f"Stadtteil {name} ({number})"})
    if areas:
        d["spatial_coverage"] = areas
    d["resources"] = _resources(md, ident, csw_url, identifier, title)
    hierarchy = _text(md.hierarchy) or "dataset"
    return Record(
        guid=identifier,
        dataset=d,
        label=title,
        payload={"original_url": record_url(csw_url, identifier), "hierarchy": hierarchy},
    )


def _resources(md: Any, ident: Any, csw_url: str, identifier: str, title: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    urls: set[str] = set()
    service_type = _text(getattr(ident, "type", None)).lower()  # view / download / ...
    online = list(getattr(getattr(md, "distribution", None), "online", None) or [])
    endpoints = []  # a service record's GetCapabilities connect points
    for operation in getattr(ident, "operations", None) or []:
        if operation.get("name") == "GetCapabilities":
            points = operation.get("connectpoint") or []
            endpoints += [pt for pt in points if _HTTP.match(_text(getattr(pt, "url", None)))]
    for res in endpoints + online:
        url = _text(getattr(res, "url", None))
        if not _HTTP.match(url) or url in urls:
            continue
        urls.add(url)
        protocol, name = _text(getattr(res, "protocol", None)), _text(getattr(res, "name", None))
        description = _text(getattr(res, "description", None))
        function = _text(getattr(res, "function", None))
        fmt = _service_format(protocol, name, description, url)
        if fmt is None and res in endpoints:
            fmt = _service_format({"view": "wms", "download": "wfs"}.get(service_type, ""), title)
        item: dict[str, Any] = {
            "url": url,
            "name": (name or protocol or title)[:300],
            "description": description,
            "access_url": url,
        }
        if fmt:
            item["format"] = fmt
            item["description"] = (description + "\n\n" if description else "") + (
                "OGC-Dienst (" + fmt.rsplit("/", 1)[-1].replace("_SRVC", "") + "), Capabilities-Dokument."
            )
        elif function == "download" or "download" in protocol.lower():
            item["download_url"] = url
        out.append(item)
    out.append(
        {
            "url": record_url(csw_url, identifier),
            "name": "INSPIRE-Metadaten (ISO 19139)",
            "description": "Der Original-Metadatensatz im Katalogdienst (CSW GetRecordById).",
            "format": vocab.normalise("file-type", "XML"),
            "access_url": record_url(csw_url, identifier),
        }
    )
    return out


def validate_record(xml: bytes, profile: str) -> str | None:
    """None if the record passes the XSD profile, else the first reasons."""
    if profile in ("", "none"):
        return None
    from ckanext.spatial.validation import Validators

    valid, _profile, errors = Validators(profiles=[profile]).is_valid(parse_xml(xml))
    if valid:
        return None
    reasons = "; ".join(f"{msg} (line {line})" if line else str(msg) for msg, line in errors[:3])
    return _("The record does not pass the {profile} schema: {reasons}").format(profile=profile, reasons=reasons)
