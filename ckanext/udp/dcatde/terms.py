"""Namespaces, fixed URIs and small URI helpers of DCAT-AP.de shared by the
validators, the defaults and the RDF profile."""

from __future__ import annotations

import re

from rdflib import Namespace

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
EU = "http://publications.europa.eu/resource/authority/"
GEOCODING = "http://dcat-ap.de/def/politicalGeocoding/"
CONTRIBUTORS = "http://dcat-ap.de/def/contributors/"
LICENSES = "http://dcat-ap.de/def/licenses/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
PUBLISHER_TYPES = "http://purl.org/adms/publishertype/"
PUBLISHER_TYPE_SCHEME = "http://purl.org/adms/publishertype/1.0"
SPDX_ALGORITHM = "http://spdx.org/rdf/terms#checksumAlgorithm_"
HVD_REGULATION = "http://data.europa.eu/eli/reg_impl/2023/138/oj"
DATA_THEME_SCHEME = EU + "data-theme"
LANGUAGE_GERMAN = EU + "language/DEU"

EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
URL = re.compile(r"^https?://\S+$")
_URL_UNSAFE = '<>"{}|\\^`'


def quote_url(url: str) -> str:
    """Percent-encode the characters a URI must not contain (``<>"{}|\\^```)."""
    for char in _URL_UNSAFE:
        url = url.replace(char, f"%{ord(char):02X}")
    return url


# Property URIs of every DCAT-AP.de version seen in real catalogs:
#   http://dcat-ap.de/def/dcatde/contributorID          (2.0, 3.0)
#   http://dcat-ap.de/def/dcatde/1.0/contributorID      (1.0), .../1.0.1/..., .../1.1/...
#   https://www.dcat-ap.de/def/dcatde/1.1/contributorID (Rostock)
#   http://dcat-ap.de/def/dcatde/1_0contributorID       (Brandenburg: prefix without slash)
_DCATDE_PROPERTY = re.compile(r"^https?://(?:www\.)?dcat-ap\.de/def/dcatde/(?:\d+(?:[._]\d+)*/?)?(?P<local>[A-Za-z]+)$")
_DCATAPDE_URI = re.compile(r"^https?://(?:www\.)?dcat-ap\.de/def/(?P<rest>.+)$")

CHECKSUM_ALGORITHMS = ("sha1", "sha224", "sha256", "sha384", "sha512", "md5")


def dcatde_local_name(predicate: str) -> str | None:
    """The local name of a dcatde property in any of its namespace variants."""
    match = _DCATDE_PROPERTY.match(predicate)
    return match.group("local") if match else None


def canonical_dcatapde_uri(uri: str) -> str:
    """``https://www.dcat-ap.de/def/x`` and friends -> ``http://dcat-ap.de/def/x``."""
    match = _DCATAPDE_URI.match(uri.strip())
    return "http://dcat-ap.de/def/" + match.group("rest") if match else uri.strip()


def media_type_uri(media_type: str) -> str:
    """``text/csv`` -> the IANA registry URI; IANA URIs are kept."""
    media_type = media_type.strip()
    if media_type.startswith(("http://", "https://")):
        return media_type
    return IANA_MEDIA_TYPES + media_type


def media_type_from_uri(value: str) -> str:
    """The IANA registry URI (http or https) -> ``text/csv``."""
    value = value.strip()
    match = re.match(r"^https?://(?:www\.)?iana\.org/assignments/media-types/(?P<t>.+)$", value)
    return match.group("t") if match else value


def checksum_algorithm_uri(name: str) -> str:
    return name if name.startswith("http") else SPDX_ALGORITHM + name.lower()


def checksum_algorithm_name(uri: str) -> str:
    return uri[len(SPDX_ALGORITHM) :] if uri.startswith(SPDX_ALGORITHM) else uri
