"""Controlled vocabularies of DCAT-AP.de 3.0 with their real concept URIs.

The DCAT-AP.de shapes check vocabulary values through ``skos:inScheme`` on the
concept (``dcat-ap-de-controlledvocabularies.ttl``), so the validator needs the
vocabularies' membership triples; :func:`in_scheme_triples` builds them from
the tables here. The same tables give the steward forms their German select
lists (:func:`choices`) and the RDF parser its normalisation of legacy and
variant spellings (:func:`normalise`): ``https://www.dcat-ap.de/def/...``,
dcatde 1.x licence identifiers, retired EU codes (``language/GER``,
``frequency/IRREGULAR``, ``file-type/WMS``), bare codes (``CSV``, ``de``,
``dl-by-de/2.0``) and labels.

Sources: the EU Publications Office authority tables (data-theme, file-type,
language, frequency, access-right, planned-availability, distribution-status),
the EU high-value-dataset category scheme (``http://data.europa.eu/bna/``), the
ADMS publisher types and the dcat-ap.de vocabularies (licences 2020-07-15 as
shipped in ``dashboard/dcat-ap-de-licenses-open.rdf``, political geocoding
levels 1.0). Only the subset a municipal portal uses is listed for the big
tables (file-type, language, HVD categories); every URI listed is a real one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import rdflib
from rdflib.namespace import RDF, SKOS

EU = "http://publications.europa.eu/resource/authority/"
DCATAPDE = "http://dcat-ap.de/def/"
BNA = "http://data.europa.eu/bna/"
ELI = "http://data.europa.eu/eli/"
ELI_LEGAL_RESOURCE = "http://data.europa.eu/eli/ontology#LegalResource"
ADMS_PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
SPDX = "http://spdx.org/rdf/terms#"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"


@dataclass(frozen=True)
class Concept:
    """One concept of a controlled vocabulary."""

    uri: str
    code: str
    label_de: str
    label_en: str


@dataclass(frozen=True)
class Vocabulary:
    """A controlled vocabulary (SKOS concept scheme) and the concepts we use.

    ``concept_type`` is the class its published concepts carry (``skos:Concept``
    for the SKOS tables; ELI legal resources for ``applicable-legislation``),
    ``in_scheme`` whether they are members of ``scheme_uri`` via
    ``skos:inScheme`` (false for ELI, which is not a SKOS scheme).
    """

    name: str
    scheme_uri: str
    concepts: tuple[Concept, ...]
    concept_type: str = str(SKOS.Concept)
    in_scheme: bool = True


def _table(base: str, rows: Iterable[tuple[str, str, str]]) -> tuple[Concept, ...]:
    return tuple(Concept(base + code, code, de, en) for code, de, en in rows)


# --- EU data themes (13 + the EU's own "provisional data" marker) -------------
_DATA_THEME = _table(EU + "data-theme/", [
    ("AGRI", "Landwirtschaft, Fischerei, Forstwirtschaft und Nahrungsmittel",
     "Agriculture, fisheries, forestry and food"),
    ("ECON", "Wirtschaft und Finanzen", "Economy and finance"),
    ("EDUC", "Bildung, Kultur und Sport", "Education, culture and sport"),
    ("ENER", "Energie", "Energy"),
    ("ENVI", "Umwelt", "Environment"),
    ("GOVE", "Regierung und öffentlicher Sektor", "Government and public sector"),
    ("HEAL", "Gesundheit", "Health"),
    ("INTR", "Internationale Themen", "International issues"),
    ("JUST", "Justiz, Rechtssystem und öffentliche Sicherheit",
     "Justice, legal system and public safety"),
    ("REGI", "Regionen und Städte", "Regions and cities"),
    ("SOCI", "Bevölkerung und Gesellschaft", "Population and society"),
    ("TECH", "Wissenschaft und Technologie", "Science and technology"),
    ("TRAN", "Verkehr", "Transport"),
    ("OP_DATPRO", "Vorläufige Daten", "Provisional data"),
])

# --- EU file types (the ones open-data portals use) --------------------------
_FILE_TYPE = _table(EU + "file-type/", [
    ("CSV", "CSV", "CSV"),
    ("TSV", "TSV", "TSV"),
    ("JSON", "JSON", "JSON"),
    ("GEOJSON", "GeoJSON", "GeoJSON"),
    ("JSON_LD", "JSON-LD", "JSON-LD"),
    ("XML", "XML", "XML"),
    ("RDF", "RDF", "RDF"),
    ("RDF_XML", "RDF/XML", "RDF/XML"),
    ("RDF_TURTLE", "Turtle", "Turtle"),
    ("RDF_N_TRIPLES", "N-Triples", "N-Triples"),
    ("N3", "N3", "N3"),
    ("SPARQLQ", "SPARQL-Abfrage", "SPARQL query"),
    ("PDF", "PDF", "PDF"),
    ("PDFA1B", "PDF/A-1b", "PDF/A-1b"),
    ("XLSX", "Excel (XLSX)", "Excel (XLSX)"),
    ("XLS", "Excel (XLS)", "Excel (XLS)"),
    ("ODS", "OpenDocument-Tabelle (ODS)", "OpenDocument spreadsheet (ODS)"),
    ("DOCX", "Word (DOCX)", "Word (DOCX)"),
    ("DOC", "Word (DOC)", "Word (DOC)"),
    ("ODT", "OpenDocument-Text (ODT)", "OpenDocument text (ODT)"),
    ("PPTX", "PowerPoint (PPTX)", "PowerPoint (PPTX)"),
    ("RTF", "RTF", "RTF"),
    ("TXT", "Text", "Text"),
    ("HTML", "HTML", "HTML"),
    ("ZIP", "ZIP", "ZIP"),
    ("GZIP", "GZIP", "GZIP"),
    ("TAR", "TAR", "TAR"),
    ("7Z", "7z", "7z"),
    ("SHP", "Shapefile", "Shapefile"),
    ("GML", "GML", "GML"),
    ("KML", "KML", "KML"),
    ("KMZ", "KMZ", "KMZ"),
    ("GPKG", "GeoPackage", "GeoPackage"),
    ("GEOTIFF", "GeoTIFF", "GeoTIFF"),
    ("DXF", "DXF", "DXF"),
    ("DWG", "DWG", "DWG"),
    ("LAS", "LAS", "LAS"),
    ("LAZ", "LAZ", "LAZ"),
    ("WMS_SRVC", "WMS-Dienst", "WMS service"),
    ("WFS_SRVC", "WFS-Dienst", "WFS service"),
    ("WMTS_SRVC", "WMTS-Dienst", "WMTS service"),
    ("WCS_SRVC", "WCS-Dienst", "WCS service"),
    ("MAP_SRVC", "Kartendienst", "Map service"),
    ("REST", "REST-Schnittstelle", "REST API"),
    ("ATOM", "Atom-Feed", "Atom feed"),
    ("RSS", "RSS-Feed", "RSS feed"),
    ("ICS", "iCalendar", "iCalendar"),
    ("GTFS", "GTFS", "GTFS"),
    ("NETCDF", "NetCDF", "NetCDF"),
    ("SQL", "SQL", "SQL"),
    ("DBF", "dBASE (DBF)", "dBASE (DBF)"),
    ("MDB", "Access (MDB)", "Access (MDB)"),
    ("PNG", "PNG", "PNG"),
    ("JPEG", "JPEG", "JPEG"),
    ("GIF", "GIF", "GIF"),
    ("TIFF", "TIFF", "TIFF"),
    ("SVG", "SVG", "SVG"),
    ("MPEG4", "MP4", "MP4"),
    ("MP3", "MP3", "MP3"),
    ("YAML", "YAML", "YAML"),
    ("OCTET", "Binärdaten", "Binary data"),
])

# --- EU languages: the 24 official EU languages plus some others ------------
# (code, de, en, ISO 639-1, ISO 639-2/B if it differs)
_LANGUAGE_ROWS = [
    ("BUL", "Bulgarisch", "Bulgarian", "bg", ""),
    ("CES", "Tschechisch", "Czech", "cs", "cze"),
    ("DAN", "Dänisch", "Danish", "da", ""),
    ("DEU", "Deutsch", "German", "de", "ger"),
    ("ELL", "Griechisch", "Greek", "el", "gre"),
    ("ENG", "Englisch", "English", "en", ""),
    ("EST", "Estnisch", "Estonian", "et", ""),
    ("FIN", "Finnisch", "Finnish", "fi", ""),
    ("FRA", "Französisch", "French", "fr", "fre"),
    ("GLE", "Irisch", "Irish", "ga", ""),
    ("HRV", "Kroatisch", "Croatian", "hr", ""),
    ("HUN", "Ungarisch", "Hungarian", "hu", ""),
    ("ITA", "Italienisch", "Italian", "it", ""),
    ("LAV", "Lettisch", "Latvian", "lv", ""),
    ("LIT", "Litauisch", "Lithuanian", "lt", ""),
    ("MLT", "Maltesisch", "Maltese", "mt", ""),
    ("NLD", "Niederländisch", "Dutch", "nl", "dut"),
    ("POL", "Polnisch", "Polish", "pl", ""),
    ("POR", "Portugiesisch", "Portuguese", "pt", ""),
    ("RON", "Rumänisch", "Romanian", "ro", "rum"),
    ("SLK", "Slowakisch", "Slovak", "sk", "slo"),
    ("SLV", "Slowenisch", "Slovenian", "sl", ""),
    ("SPA", "Spanisch", "Spanish", "es", ""),
    ("SWE", "Schwedisch", "Swedish", "sv", ""),
    ("TUR", "Türkisch", "Turkish", "tr", ""),
    ("RUS", "Russisch", "Russian", "ru", ""),
    ("UKR", "Ukrainisch", "Ukrainian", "uk", ""),
    ("ARA", "Arabisch", "Arabic", "ar", ""),
    ("NOR", "Norwegisch", "Norwegian", "no", ""),
    ("ISL", "Isländisch", "Icelandic", "is", "ice"),
    ("LTZ", "Luxemburgisch", "Luxembourgish", "lb", ""),
    ("ZHO", "Chinesisch", "Chinese", "zh", "chi"),
    ("JPN", "Japanisch", "Japanese", "ja", ""),
]
_LANGUAGE = _table(EU + "language/", [(c, de, en) for c, de, en, _, _ in _LANGUAGE_ROWS])

# --- EU frequencies ----------------------------------------------------------
_FREQUENCY = _table(EU + "frequency/", [
    ("CONT", "kontinuierlich", "continuous"),
    ("UPDATE_CONT", "ständig aktualisiert", "continuously updated"),
    ("1MIN", "jede Minute", "every minute"),
    ("5MIN", "alle fünf Minuten", "every five minutes"),
    ("10MIN", "alle zehn Minuten", "every ten minutes"),
    ("15MIN", "alle fünfzehn Minuten", "every fifteen minutes"),
    ("30MIN", "alle dreißig Minuten", "every thirty minutes"),
    ("HOURLY", "stündlich", "hourly"),
    ("BIHOURLY", "alle zwei Stunden", "bihourly"),
    ("TRIHOURLY", "alle drei Stunden", "trihourly"),
    ("12HRS", "alle zwölf Stunden", "every twelve hours"),
    ("DAILY", "täglich", "daily"),
    ("DAILY_2", "zweimal täglich", "twice a day"),
    ("WEEKLY", "wöchentlich", "weekly"),
    ("WEEKLY_2", "zweimal wöchentlich", "semiweekly"),
    ("WEEKLY_3", "dreimal wöchentlich", "three times a week"),
    ("BIWEEKLY", "zweiwöchentlich", "biweekly"),
    ("MONTHLY", "monatlich", "monthly"),
    ("MONTHLY_2", "zweimal monatlich", "semimonthly"),
    ("MONTHLY_3", "dreimal monatlich", "three times a month"),
    ("BIMONTHLY", "zweimonatlich", "bimonthly"),
    ("QUARTERLY", "vierteljährlich", "quarterly"),
    ("ANNUAL_2", "halbjährlich", "semiannual"),
    ("ANNUAL_3", "dreimal jährlich", "three times a year"),
    ("ANNUAL", "jährlich", "annual"),
    ("BIENNIAL", "zweijährlich", "biennial"),
    ("TRIENNIAL", "dreijährlich", "triennial"),
    ("QUADRENNIAL", "vierjährlich", "quadrennial"),
    ("QUINQUENNIAL", "fünfjährlich", "quinquennial"),
    ("DECENNIAL", "alle zehn Jahre", "decennial"),
    ("IRREG", "unregelmäßig", "irregular"),
    ("OTHER", "sonstige", "other"),
    ("UNKNOWN", "unbekannt", "unknown"),
    ("NEVER", "nie", "never"),
    ("OP_DATPRO", "vorläufige Daten", "provisional data"),
])

_ACCESS_RIGHT = _table(EU + "access-right/", [
    ("PUBLIC", "öffentlich", "public"),
    ("RESTRICTED", "eingeschränkt", "restricted"),
    ("NON_PUBLIC", "nicht öffentlich", "non-public"),
])

_PLANNED_AVAILABILITY = _table(EU + "planned-availability/", [
    ("EXPERIMENTAL", "experimentell", "experimental"),
    ("TEMPORARY", "vorübergehend", "temporary"),
    ("AVAILABLE", "verfügbar", "available"),
    ("STABLE", "stabil", "stable"),
])

_DISTRIBUTION_STATUS = _table(EU + "distribution-status/", [
    ("COMPLETED", "abgeschlossen", "completed"),
    ("DEVELOP", "in Entwicklung", "under development"),
    ("DEPRECATED", "veraltet", "deprecated"),
    ("WITHDRAWN", "zurückgezogen", "withdrawn"),
])

# --- dcat-ap.de licences (version 2020-07-15, all 34 concepts) --------------
_LICENSE = _table(DCATAPDE + "licenses/", [
    ("dl-by-de/2.0", "Datenlizenz Deutschland Namensnennung 2.0",
     "Data licence Germany attribution 2.0"),
    ("dl-zero-de/2.0", "Datenlizenz Deutschland – Zero – Version 2.0",
     "Data licence Germany – zero – version 2.0"),
    ("dl-by-de/1.0", "Datenlizenz Deutschland Namensnennung 1.0",
     "Data licence Germany attribution 1.0"),
    ("dl-by-nc-de/1.0", "Datenlizenz Deutschland Namensnennung nicht-kommerziell 1.0",
     "Data licence Germany attribution non-commercial 1.0"),
    ("cc-by/4.0", "Creative Commons Namensnennung – 4.0 International (CC BY 4.0)",
     "Creative Commons Attribution 4.0 International (CC BY 4.0)"),
    ("cc-by-sa/4.0",
     "Creative Commons Namensnennung - Weitergabe unter gleichen Bedingungen 4.0 International (CC BY-SA 4.0)",
     "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0)"),
    ("cc-by-nd/4.0", "Creative Commons Namensnennung - Keine Bearbeitung 4.0 International (CC BY-ND 4.0)",
     "Creative Commons Attribution-NoDerivatives 4.0 International (CC BY-ND 4.0)"),
    ("cc-by-nc/4.0", "Creative Commons Namensnennung - Nicht kommerziell 4.0 International (CC BY-NC 4.0)",
     "Creative Commons Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)"),
    ("cc-zero", "Creative Commons CC Zero License (CC0)", "Creative Commons Zero (CC0)"),
    ("cc-by", "Creative Commons Namensnennung (CC BY)", "Creative Commons Attribution (CC BY)"),
    ("cc-by-sa", "Creative Commons Namensnennung - Weitergabe unter gleichen Bedingungen (CC BY-SA)",
     "Creative Commons Attribution-ShareAlike (CC BY-SA)"),
    ("cc-by-nd", "Creative Commons Namensnennung - Keine Bearbeitung (CC BY-ND)",
     "Creative Commons Attribution-NoDerivatives (CC BY-ND)"),
    ("cc-by-nc", "Creative Commons Namensnennung - Nicht kommerziell (CC BY-NC)",
     "Creative Commons Attribution-NonCommercial (CC BY-NC)"),
    ("cc-by-de/3.0", "Creative Commons Namensnennung 3.0 Deutschland (CC BY 3.0 DE)",
     "Creative Commons Attribution 3.0 Germany (CC BY 3.0 DE)"),
    ("cc-by-sa-de/3.0",
     "Creative Commons Namensnennung - Weitergabe unter gleichen Bedingungen 3.0 Deutschland (CC BY-SA 3.0 DE)",
     "Creative Commons Attribution-ShareAlike 3.0 Germany (CC BY-SA 3.0 DE)"),
    ("cc-by-nc-de/3.0", "Creative Commons Namensnennung-Nicht kommerziell 3.0 Deutschland (CC BY-NC 3.0 DE)",
     "Creative Commons Attribution-NonCommercial 3.0 Germany (CC BY-NC 3.0 DE)"),
    ("cc-by-nd/3.0", "Creative Commons Namensnennung - Keine Bearbeitung 3.0 Unported (CC BY-ND 3.0)",
     "Creative Commons Attribution-NoDerivs 3.0 Unported (CC BY-ND 3.0)"),
    ("ccpdm/1.0", "Public Domain Mark 1.0 (PDM)", "Public Domain Mark 1.0 (PDM)"),
    ("odbl", "Open Data Commons Open Database License (ODbL)",
     "Open Data Commons Open Database License (ODbL)"),
    ("odby", "Open Data Commons Attribution License (ODC-BY 1.0)",
     "Open Data Commons Attribution License (ODC-BY 1.0)"),
    ("odcpddl", "Open Data Commons Public Domain Dedication and Licence (ODC PDDL)",
     "Open Data Commons Public Domain Dedication and Licence (ODC PDDL)"),
    ("officialWork", "Amtliches Werk, lizenzfrei nach §5 Abs. 1 UrhG",
     "Official work, licence-free under section 5(1) UrhG"),
    ("geonutz/20130319", "Nutzungsbestimmungen für die Bereitstellung von Geodaten des Bundes",
     "Terms of use for federal geodata (GeoNutzV)"),
    ("geoNutz/20131001", "Nutzungsbestimmungen für die Bereitstellung von Geodaten des Landes Berlin",
     "Terms of use for geodata of the State of Berlin"),
    ("apache", "Freie Softwarelizenz der Apache Software Foundation", "Apache License"),
    ("bsd", "BSD Lizenz", "BSD licence"),
    ("gpl/3.0", "GNU General Public License version 3.0 (GPLv3)",
     "GNU General Public License version 3.0 (GPLv3)"),
    ("gfdl", "GNU Free Documentation License (GFDL)", "GNU Free Documentation License (GFDL)"),
    ("mozilla", "Mozilla Public License 2.0 (MPL)", "Mozilla Public License 2.0 (MPL)"),
    ("other-open", "Andere offene Lizenz", "Other open licence"),
    ("other-opensource", "Andere Open Source Lizenz", "Other open source licence"),
    ("other-freeware", "Andere Freeware Lizenz", "Other freeware licence"),
    ("other-commercial", "Andere kommerzielle Lizenz", "Other commercial licence"),
    ("other-closed", "Andere geschlossene Lizenz", "Other closed licence"),
])

#: Licences whose terms require naming the source (K35: the distribution then
#: carries ``dcatde:licenseAttributionByText``).
_ATTRIBUTION_REQUIRED = frozenset(DCATAPDE + "licenses/" + code for code in (
    "dl-by-de/2.0", "dl-by-de/1.0", "dl-by-nc-de/1.0",
    "cc-by/4.0", "cc-by-sa/4.0", "cc-by-nd/4.0", "cc-by-nc/4.0",
    "cc-by", "cc-by-sa", "cc-by-nd", "cc-by-nc",
    "cc-by-de/3.0", "cc-by-sa-de/3.0", "cc-by-nc-de/3.0", "cc-by-nd/3.0",
    "odbl", "odby", "geonutz/20130319", "geoNutz/20131001",
))

#: GovData's open-licence flag (``govdata:isOpenLicense`` in the dashboard file).
_CLOSED_LICENSES = frozenset(DCATAPDE + "licenses/" + code for code in (
    "cc-by-nc", "cc-by-nc-de/3.0", "cc-by-nc/4.0", "cc-by-nd", "cc-by-nd/3.0", "cc-by-nd/4.0",
    "dl-by-nc-de/1.0", "other-closed", "other-commercial", "other-freeware",
))

_POLITICAL_LEVEL = _table(DCATAPDE + "politicalGeocoding/Level/", [
    ("international", "international", "international"),
    ("european", "europäisch", "European"),
    ("federal", "Bund", "federal"),
    ("state", "Land", "federal state"),
    ("administrativeDistrict", "Kreis", "administrative district"),
    ("municipality", "Kommune", "municipality"),
])

# --- EU high-value dataset categories (Implementing Regulation (EU) 2023/138) -
_HVD_CATEGORY = _table(BNA, [
    ("c_ac64a52d", "Georaum", "Geospatial"),
    ("c_dd313021", "Erdbeobachtung und Umwelt", "Earth observation and environment"),
    ("c_164e0bf5", "Meteorologie", "Meteorological"),
    ("c_e1da4e07", "Statistik", "Statistics"),
    ("c_a9135398", "Unternehmen und Eigentümerschaft von Unternehmen", "Companies and company ownership"),
    ("c_b79e35eb", "Mobilität", "Mobility"),
    # sub-categories a city publishes
    ("c_c3de25e4", "Adressen", "Addresses"),
    ("c_60182062", "Gebäude", "Buildings"),
    ("c_6a3f6896", "Flurstücke/Grundstücke (Katasterparzellen)", "Cadastral parcels"),
    ("c_9427236f", "Verwaltungseinheiten", "Administrative units"),
    ("c_6c2bb82d", "Geografische Bezeichnungen", "Geographical names"),
    ("c_4b74ea13", "Verkehrsnetze", "Transport networks"),
    ("c_63b37dd4", "Luft", "Air"),
    ("c_e4358335", "Lärm", "Noise"),
    ("c_43f88346", "Wasser", "Water"),
    ("c_38933a65", "Abfall", "Waste"),
    ("c_59e64dd4", "Klima", "Climate"),
    ("c_91185a85", "Orthofotografie", "Orthoimagery"),
    ("c_3af3368c", "Beobachtungsmessdaten von Wetterstationen",
     "Observations data measured by weather stations"),
    ("c_f2b50efd", "Bevölkerung", "Population"),
])

_APPLICABLE_LEGISLATION = _table(ELI, [
    ("reg_impl/2023/138/oj",
     "Durchführungsverordnung (EU) 2023/138 (hochwertige Datensätze)",
     "Implementing Regulation (EU) 2023/138 (high-value datasets)"),
    ("dir/2019/1024/oj", "Richtlinie (EU) 2019/1024 (Open-Data-Richtlinie)",
     "Directive (EU) 2019/1024 (Open Data Directive)"),
    ("dir/2007/2/oj", "Richtlinie 2007/2/EG (INSPIRE)", "Directive 2007/2/EC (INSPIRE)"),
])

# --- EU dataset types (the ones a municipal portal uses) --------------------
_DATASET_TYPE = _table(EU + "dataset-type/", [
    ("STATISTICAL", "statistische Daten", "statistical data"),
    ("GEOSPATIAL", "Geodaten", "geospatial data"),
    ("HVD", "hochwertiger Datensatz", "high-value dataset"),
    ("TEST_DATA", "Testdaten", "test data"),
    ("SYNTHETIC_DATA", "synthetische Daten", "synthetic data"),
    ("DIRECTORY", "Verzeichnis", "directory"),
    ("SCHEMA", "Schema", "schema"),
    ("ONTOLOGY", "Ontologie", "ontology"),
    ("MAPPING", "Zuordnung", "mapping"),
    ("OP_DATPRO", "vorläufige Daten", "provisional data"),
])

# --- SPDX checksum algorithms (individuals of spdx:ChecksumAlgorithm) --------
_CHECKSUM_ALGORITHM = _table(SPDX, [
    ("checksumAlgorithm_sha1", "SHA-1", "SHA-1"),
    ("checksumAlgorithm_sha224", "SHA-224", "SHA-224"),
    ("checksumAlgorithm_sha256", "SHA-256", "SHA-256"),
    ("checksumAlgorithm_sha384", "SHA-384", "SHA-384"),
    ("checksumAlgorithm_sha512", "SHA-512", "SHA-512"),
    ("checksumAlgorithm_md5", "MD5", "MD5"),
])

_PUBLISHER_TYPE = _table(ADMS_PUBLISHER_TYPE, [
    ("LocalAuthority", "Kommunalverwaltung", "Local authority"),
    ("RegionalAuthority", "Regionalverwaltung", "Regional authority"),
    ("NationalAuthority", "Nationale Behörde", "National authority"),
    ("SupraNationalAuthority", "Supranationale Behörde", "Supra-national authority"),
    ("PublicBody", "Öffentliche Einrichtung", "Public body"),
    ("Academia-ScientificOrganisation", "Hochschule/Forschungseinrichtung",
     "Academia/scientific organisation"),
    ("Company", "Unternehmen", "Company"),
    ("IndustryConsortium", "Industriekonsortium", "Industry consortium"),
    ("InternationalOrganisation", "Internationale Organisation", "International organisation"),
    ("NonGovernmentalOrganisation", "Nichtregierungsorganisation", "Non-governmental organisation"),
    ("NonProfitOrganisation", "Gemeinnützige Organisation", "Non-profit organisation"),
    ("PrivateIndividual(s)", "Privatperson(en)", "Private individual(s)"),
    ("StandardisationBody", "Normungsorganisation", "Standardisation body"),
])

VOCABULARIES: dict[str, Vocabulary] = {
    v.name: v
    for v in (
        Vocabulary("data-theme", EU + "data-theme", _DATA_THEME),
        Vocabulary("file-type", EU + "file-type", _FILE_TYPE),
        Vocabulary("language", EU + "language", _LANGUAGE),
        Vocabulary("frequency", EU + "frequency", _FREQUENCY),
        Vocabulary("access-right", EU + "access-right", _ACCESS_RIGHT),
        Vocabulary("license", DCATAPDE + "licenses", _LICENSE),
        Vocabulary("political-geocoding-level", DCATAPDE + "politicalGeocoding/Level", _POLITICAL_LEVEL),
        Vocabulary("hvd-category", BNA + "asd487ae75", _HVD_CATEGORY),
        Vocabulary("applicable-legislation", ELI.rstrip("/"), _APPLICABLE_LEGISLATION,
                   concept_type=ELI_LEGAL_RESOURCE, in_scheme=False),
        Vocabulary("planned-availability", EU + "planned-availability", _PLANNED_AVAILABILITY),
        Vocabulary("distribution-status", EU + "distribution-status", _DISTRIBUTION_STATUS),
        # DCAT-AP.de uses the EU distribution-status table for datasets, too.
        Vocabulary("dataset-status", EU + "distribution-status", _DISTRIBUTION_STATUS),
        Vocabulary("publisher-type", ADMS_PUBLISHER_TYPE + "1.0", _PUBLISHER_TYPE),
        Vocabulary("dataset-type", EU + "dataset-type", _DATASET_TYPE),
        # Not a SKOS scheme: the SPDX ontology declares these individuals.
        Vocabulary("checksum-algorithm", SPDX + "ChecksumAlgorithm", _CHECKSUM_ALGORITHM,
                   concept_type=SPDX + "ChecksumAlgorithm", in_scheme=False),
    )
}

# --- legacy and variant spellings -------------------------------------------
# Extra aliases per vocabulary: alias (any case) -> code of the canonical concept.
_ALIASES: dict[str, dict[str, str]] = {
    "language": {
        "GER": "DEU",  # retired EU code, still in the 2021 GovData catalogs
        **{iso1: c for c, _, _, iso1, _ in _LANGUAGE_ROWS},
        **{iso2b: c for c, _, _, _, iso2b in _LANGUAGE_ROWS if iso2b},
        "de-DE": "DEU", "de_DE": "DEU", "en-GB": "ENG", "en-US": "ENG",
    },
    "frequency": {
        "IRREGULAR": "IRREG",  # DCAT-AP.de 1.x / old EU spelling
        "CONTINUOUS": "CONT",
        "BIANNUAL": "ANNUAL_2",
        "SEMIANNUAL": "ANNUAL_2",
        "FORTNIGHTLY": "BIWEEKLY",
        "YEARLY": "ANNUAL",
    },
    "file-type": {
        "WMS": "WMS_SRVC", "WFS": "WFS_SRVC", "WMTS": "WMTS_SRVC", "WCS": "WCS_SRVC",
        "RDF/XML": "RDF_XML", "RDFXML": "RDF_XML", "TTL": "RDF_TURTLE", "TURTLE": "RDF_TURTLE",
        "JSON-LD": "JSON_LD", "JSONLD": "JSON_LD", "NT": "RDF_N_TRIPLES", "N-TRIPLES": "RDF_N_TRIPLES",
        "GEO+JSON": "GEOJSON", "GEO-JSON": "GEOJSON", "SHAPE": "SHP", "SHAPEFILE": "SHP",
        "ESRI SHAPEFILE": "SHP", "HTM": "HTML", "TEXT": "TXT", "JPG": "JPEG", "TIF": "TIFF",
        "MP4": "MPEG4", "GZ": "GZIP", "API": "REST", "GEOPACKAGE": "GPKG", "NC": "NETCDF",
        "YML": "YAML", "EXCEL": "XLSX", "BIN": "OCTET",
        # IANA media types
        "text/csv": "CSV", "text/tab-separated-values": "TSV", "application/json": "JSON",
        "application/geo+json": "GEOJSON", "application/vnd.geo+json": "GEOJSON",
        "application/ld+json": "JSON_LD", "application/xml": "XML", "text/xml": "XML",
        "application/rdf+xml": "RDF_XML", "text/turtle": "RDF_TURTLE",
        "application/n-triples": "RDF_N_TRIPLES", "application/pdf": "PDF",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
        "application/vnd.ms-excel": "XLS",
        "application/vnd.oasis.opendocument.spreadsheet": "ODS",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
        "application/msword": "DOC", "application/vnd.oasis.opendocument.text": "ODT",
        "text/html": "HTML", "text/plain": "TXT", "application/zip": "ZIP",
        "application/gzip": "GZIP", "application/x-tar": "TAR",
        "application/vnd.google-earth.kml+xml": "KML", "application/vnd.google-earth.kmz": "KMZ",
        "application/gml+xml": "GML", "application/geopackage+sqlite3": "GPKG",
        "application/atom+xml": "ATOM", "application/rss+xml": "RSS", "text/calendar": "ICS",
        "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/tiff": "TIFF",
        "image/svg+xml": "SVG", "application/octet-stream": "OCTET", "application/sql": "SQL",
        "application/x-shapefile": "SHP", "application/yaml": "YAML",
    },
    "license": {
        # GovData / OGD licence ids (CKAN license_id in dcatde 1.x portals)
        "dl-de-by-2.0": "dl-by-de/2.0", "dl-de/by-2-0": "dl-by-de/2.0",
        "dl-de-zero-2.0": "dl-zero-de/2.0", "dl-de/zero-2-0": "dl-zero-de/2.0",
        "dl-de-by-1.0": "dl-by-de/1.0", "dl-de/by-1-0": "dl-by-de/1.0",
        "dl-de-by-nc-1.0": "dl-by-nc-de/1.0", "dl-de/by-nc-1-0": "dl-by-nc-de/1.0",
        "cc-by-4.0": "cc-by/4.0", "cc-by-sa-4.0": "cc-by-sa/4.0", "cc-by-nd-4.0": "cc-by-nd/4.0",
        "cc-by-nc-4.0": "cc-by-nc/4.0", "cc-nc-4.0": "cc-by-nc/4.0",
        "cc-by-nc-de/4.0": "cc-by-nc/4.0",  # no such licence; 2021 catalogs write it for CC BY-NC 4.0
        "cc-by-3.0-de": "cc-by-de/3.0", "cc-by-sa-3.0-de": "cc-by-sa-de/3.0",
        "cc-by-nc-3.0-de": "cc-by-nc-de/3.0", "cc-by-nd-3.0": "cc-by-nd/3.0",
        "cc0": "cc-zero", "cc0-1.0": "cc-zero", "cc-0": "cc-zero",
        "odc-odbl": "odbl", "odc-by": "odby", "odc-pddl": "odcpddl", "odbl-1.0": "odbl",
        "official-work": "officialWork", "geonutz": "geonutz/20130319",
        "geolizenz-v1.3.1": "other-open",
        # EU licence authority table
        EU + "licence/CC_BY_4_0": "cc-by/4.0", EU + "licence/CC_BYSA_4_0": "cc-by-sa/4.0",
        EU + "licence/CC_BYND_4_0": "cc-by-nd/4.0", EU + "licence/CC_BYNC_4_0": "cc-by-nc/4.0",
        EU + "licence/CC0": "cc-zero", EU + "licence/DL_BY_DE_2_0": "dl-by-de/2.0",
        EU + "licence/DL_ZERO_DE_2_0": "dl-zero-de/2.0", EU + "licence/ODC_BL": "odbl",
        EU + "licence/ODC_BY": "odby", EU + "licence/ODC_PDDL": "odcpddl",
        # licence deeds
        "http://creativecommons.org/licenses/by/4.0": "cc-by/4.0",
        "http://creativecommons.org/licenses/by-sa/4.0": "cc-by-sa/4.0",
        "http://creativecommons.org/licenses/by-nd/4.0": "cc-by-nd/4.0",
        "http://creativecommons.org/licenses/by-nc/4.0": "cc-by-nc/4.0",
        "http://creativecommons.org/licenses/by/3.0/de": "cc-by-de/3.0",
        "http://creativecommons.org/licenses/by-sa/3.0/de": "cc-by-sa-de/3.0",
        "http://creativecommons.org/publicdomain/zero/1.0": "cc-zero",
        "http://creativecommons.org/publicdomain/mark/1.0": "ccpdm/1.0",
        "http://www.govdata.de/dl-de/by-2-0": "dl-by-de/2.0",
        "http://www.govdata.de/dl-de/zero-2-0": "dl-zero-de/2.0",
        "http://opendatacommons.org/licenses/odbl": "odbl",
        "http://opendatacommons.org/licenses/odbl/1.0": "odbl",
        "http://opendatacommons.org/licenses/by": "odby",
        "http://opendatacommons.org/licenses/pddl": "odcpddl",
    },
    "planned-availability": {},
    "checksum-algorithm": {
        "SHA1": "checksumAlgorithm_sha1", "SHA-1": "checksumAlgorithm_sha1",
        "SHA256": "checksumAlgorithm_sha256", "SHA-256": "checksumAlgorithm_sha256",
        "SHA512": "checksumAlgorithm_sha512", "SHA-512": "checksumAlgorithm_sha512",
        "MD5": "checksumAlgorithm_md5",
        # deprecated dcat-ap.de hash algorithm list (dcatde 1.x/2.0)
        DCATAPDE + "hashAlgorithms/sha/1": "checksumAlgorithm_sha1",
        DCATAPDE + "hashAlgorithms/sha/256": "checksumAlgorithm_sha256",
        DCATAPDE + "hashAlgorithms/sha/512": "checksumAlgorithm_sha512",
        DCATAPDE + "hashAlgorithms/md/5": "checksumAlgorithm_md5",
    },
    "access-right": {"OPEN": "PUBLIC", "NON-PUBLIC": "NON_PUBLIC", "NONPUBLIC": "NON_PUBLIC"},
    "applicable-legislation": {"HVD": "reg_impl/2023/138/oj", "2023/138": "reg_impl/2023/138/oj"},
    "political-geocoding-level": {
        "Bundesebene": "federal", "Landesebene": "state", "Kreisebene": "administrativeDistrict",
        "Gemeinde": "municipality", "Stadt": "municipality", "Kommunalebene": "municipality",
        "bundesland": "state", "landkreis": "administrativeDistrict",
    },
}

# Namespace spellings that mean the canonical ones (prefix match, any case).
_URI_REWRITES: tuple[tuple[str, str], ...] = (
    ("https://www.dcat-ap.de/def/", DCATAPDE),
    ("http://www.dcat-ap.de/def/", DCATAPDE),
    ("https://dcat-ap.de/def/", DCATAPDE),
    ("https://publications.europa.eu/resource/authority/", EU),
    ("https://data.europa.eu/", "http://data.europa.eu/"),
    ("https://creativecommons.org/", "http://creativecommons.org/"),
    ("https://www.govdata.de/", "http://www.govdata.de/"),
    ("https://govdata.de/", "http://www.govdata.de/"),
    ("https://opendatacommons.org/", "http://opendatacommons.org/"),
    ("https://purl.org/", "http://purl.org/"),
    ("https://www.iana.org/assignments/media-types/", ""),
    ("http://www.iana.org/assignments/media-types/", ""),
)

# Older namespaces whose last path segment is a code of the current vocabulary.
_LEGACY_PREFIXES: dict[str, tuple[str, ...]] = {
    "planned-availability": (DCATAPDE + "plannedAvailability/",),
}


def _canonical_uri(value: str) -> str:
    low = value.lower()
    for old, new in _URI_REWRITES:
        if low.startswith(old.lower()):
            value = new + value[len(old):]
            break
    return value.rstrip("/") if "://" in value else value


def _build_index(vocab: Vocabulary) -> dict[str, str]:
    index: dict[str, str] = {}
    by_code = {c.code: c.uri for c in vocab.concepts}

    def add(alias: str, uri: str) -> None:
        key = alias.strip().lower()
        if index.setdefault(key, uri) != uri:
            raise ValueError(f"vocabulary {vocab.name}: alias {alias!r} is ambiguous")

    for c in vocab.concepts:
        add(c.uri, c.uri)
        add(c.code, c.uri)
    for alias, code in _ALIASES.get(vocab.name, {}).items():
        add(_canonical_uri(alias), by_code[code])
    # Labels last, and only where they do not clash with a code.
    for c in vocab.concepts:
        for lab in (c.label_de, c.label_en):
            index.setdefault(lab.lower(), c.uri)
    return index


_INDEX: dict[str, dict[str, str]] = {name: _build_index(v) for name, v in VOCABULARIES.items()}
_CONCEPTS: dict[str, dict[str, Concept]] = {
    name: {c.uri: c for c in v.concepts} for name, v in VOCABULARIES.items()
}
_BY_URI: dict[str, list[Vocabulary]] = {}
for _v in VOCABULARIES.values():
    for _c in _v.concepts:
        _BY_URI.setdefault(_c.uri, [])
        if all(o.scheme_uri != _v.scheme_uri for o in _BY_URI[_c.uri]):
            _BY_URI[_c.uri].append(_v)


def get(name: str) -> Vocabulary:
    """The vocabulary called ``name``; ``KeyError`` naming the known ones if unknown."""
    try:
        return VOCABULARIES[name]
    except KeyError:
        raise KeyError(f"unknown vocabulary {name!r}; known: {', '.join(sorted(VOCABULARIES))}") from None


def choices(name: str) -> list[dict[str, str]]:
    """Select options for ckanext-scheming: ``[{"value": uri, "label": label_de}]``."""
    return [{"value": c.uri, "label": c.label_de} for c in get(name).concepts]


def label(name: str, uri: str, lang: str = "de") -> str | None:
    """The concept's label in ``lang`` (``de`` or ``en``; other languages get
    the German one), or None if ``uri`` is not a concept of the vocabulary.
    Variant spellings are accepted as in :func:`normalise`."""
    canonical = normalise(name, uri)
    if canonical is None:
        return None
    concept = _CONCEPTS[name][canonical]
    return concept.label_en if lang.lower().startswith("en") else concept.label_de


def normalise(name: str, value: str) -> str | None:
    """The canonical concept URI for ``value``, or None if it is not in the vocabulary.

    Accepted: the URI; its code (any case); http/https and ``www.`` variants of
    the namespace (``https://www.dcat-ap.de/def/...``); a trailing slash; legacy
    codes and URIs (``language/GER``, ``frequency/IRREGULAR``,
    ``file-type/WMS``, dcatde 1.x licence ids such as ``dl-de-by-2.0``, version
    numbers written ``2_0``, the EU licence table, licence deed URLs,
    ``dcat-ap.de/def/plannedAvailability/...``); IANA media types for file
    types; ISO 639-1/-2 codes for languages; the German or English label.
    """
    get(name)
    if value is None:
        return None
    raw = str(value).strip()
    if not raw:
        return None
    index = _INDEX[name]
    hit = index.get(raw.lower())
    if hit:
        return hit
    canon = _canonical_uri(raw)
    hit = index.get(canon.lower())
    if hit:
        return hit
    # A URI in the vocabulary's own (or a legacy) namespace with a variant code.
    vocab = VOCABULARIES[name]
    prefixes = (vocab.scheme_uri + "/",) + _LEGACY_PREFIXES.get(name, ())
    code = next((canon[len(p):] for p in prefixes if canon.lower().startswith(p.lower())), canon)
    for candidate in (code, code.replace("_", "."), re.sub(r"(\d)_(\d)", r"\1.\2", code)):
        hit = index.get(candidate.lower())
        if hit:
            return hit
    return None


def requires_attribution(uri: str) -> bool:
    """True if the licence requires naming the source (K35), so a distribution
    with it needs ``dcatde:licenseAttributionByText``. Variants accepted."""
    canonical = normalise("license", uri)
    return canonical in _ATTRIBUTION_REQUIRED


def is_open_license(uri: str) -> bool:
    """GovData's open-licence flag for a dcat-ap.de licence (False if unknown)."""
    canonical = normalise("license", uri)
    return canonical is not None and canonical not in _CLOSED_LICENSES


def in_scheme_triples(graph: rdflib.Graph) -> rdflib.Graph:
    """Membership triples for every known concept URI that ``graph`` uses.

    For each canonical concept URI found as subject or object: ``skos:inScheme``
    its scheme and ``rdf:type`` the class its vocabulary publishes it with
    (``skos:Concept``; ELI legal resources for legislation), plus the scheme as
    ``skos:ConceptScheme``. This is what the official validator gets from
    importing the authority tables. Variant spellings are deliberately NOT
    matched: data must use the canonical URIs to pass the vocabulary checks.
    """
    out = rdflib.Graph()
    used: set[str] = set()
    for s, _p, o in graph:
        for node in (s, o):
            if isinstance(node, rdflib.URIRef) and str(node) in _BY_URI:
                used.add(str(node))
    for uri in sorted(used):
        node = rdflib.URIRef(uri)
        for vocab in _BY_URI[uri]:
            out.add((node, RDF.type, rdflib.URIRef(vocab.concept_type)))
            if vocab.in_scheme:
                scheme = rdflib.URIRef(vocab.scheme_uri)
                out.add((node, SKOS.inScheme, scheme))
                out.add((scheme, RDF.type, SKOS.ConceptScheme))
    return out


__all__ = [
    "Concept", "Vocabulary", "VOCABULARIES", "get", "choices", "label", "normalise",
    "requires_attribution", "is_open_license", "in_scheme_triples",
]
