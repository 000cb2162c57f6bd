"""Validators of the DCAT-AP.de schema (forms and Action API alike).

Error messages are English msgids translated to German in
``ckanext/udp/portal/i18n/de/LC_MESSAGES/ckanext-udp.po``. Each validator either
stores a clean, canonical value or reports an error; nothing is stored half
because CKAN writes nothing when any field has an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import ckan.plugins.toolkit as tk
from ckan.types import Context, FlattenDataDict, FlattenErrorDict, FlattenKey

from ckanext.scheming.validation import scheming_validator
from ckanext.udp import compat
from ckanext.udp.dcatde import districts, geo, terms, vocab
from ckanext.udp.urlrule import url_problem  # the portal's one URL rule

Validator = Callable[..., Any]
missing = tk.missing

_EMAIL = terms.EMAIL
_URL = terms.URL
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _empty(value: Any) -> bool:
    return value is missing or value is None or value == "" or value == []


def _as_list(value: Any) -> list[str]:
    """A list of strings from a list, a JSON list or a string (one value per line)."""
    if _empty(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise tk.Invalid(tk._("Not a valid list of values.")) from None
        else:
            # a text area holds one value per line
            value = text.splitlines() if text else []
    if not isinstance(value, (list, tuple)):
        raise tk.Invalid(tk._("Not a valid list of values."))
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise tk.Invalid(tk._("Not a valid list of values."))
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def _vocabulary_error(value: str, name: str) -> tk.Invalid:
    return tk.Invalid(
        tk._(
            '"{value}" is not a value of the controlled vocabulary ({vocabulary}). Choose a value from the list.'
        ).format(value=value, vocabulary=name)
    )


def _normalise(name: str, value: str, open_values: bool) -> str:
    canonical = vocab.normalise(name, value)
    if canonical:
        return canonical
    if open_values and _URL.match(value):
        return value
    raise _vocabulary_error(value, name)


@scheming_validator
def dcatde_vocab(field: dict[str, Any], schema: dict[str, Any]) -> Validator:
    """One value of the controlled vocabulary ``field['dcatde_vocabulary']``,
    stored as its canonical URI (legacy spellings are normalised)."""
    name = field["dcatde_vocabulary"]
    open_values = bool(field.get("dcatde_open"))

    def validator(value: Any) -> Any:
        if _empty(value):
            return value
        if not isinstance(value, str):
            raise _vocabulary_error(str(value), name)
        return _normalise(name, value.strip(), open_values)

    return validator


@scheming_validator
def dcatde_vocab_list(field: dict[str, Any], schema: dict[str, Any]) -> Validator:
    """Zero or more values of a controlled vocabulary, stored as a JSON list
    of canonical URIs (``dcatde_open: true`` also accepts other http(s) URIs)."""
    name = field["dcatde_vocabulary"]
    open_values = bool(field.get("dcatde_open"))

    def validator(value: Any) -> Any:
        items = _as_list(value)
        if not items:
            return missing if value is missing else ""
        canonical: list[str] = []
        for item in items:
            uri = _normalise(name, item, open_values)
            if uri not in canonical:
                canonical.append(uri)
        return json.dumps(canonical)

    return validator


def dcatde_list_output(value: Any) -> Any:
    """Stored JSON list -> list (also for values stored by other schemas)."""
    if isinstance(value, list) or _empty(value):
        return value or []
    try:
        loaded = json.loads(value)
    except (TypeError, ValueError):
        return [value]
    return loaded if isinstance(loaded, list) else [loaded]


def dcatde_url(value: Any) -> Any:
    if _empty(value):
        return value
    if url_problem(value) is not None:
        raise tk.Invalid(tk._("Please enter a web address starting with http:// or https://."))
    return terms.quote_url(value.strip())


def dcatde_resource_url(value: Any) -> Any:
    """A distribution's URL: a web address, or the name of an uploaded file
    (CKAN keeps that relative). The portal's one URL rule: no javascript: etc."""
    if _empty(value):
        return value
    if url_problem(value, relative_ok=True) is not None:
        raise tk.Invalid(tk._("Please enter a web address starting with http:// or https://."))
    return terms.quote_url(value.strip())


def dcatde_url_list(value: Any) -> Any:
    items = _as_list(value)
    for item in items:
        if url_problem(item) is not None:
            raise tk.Invalid(
                tk._('"{value}" is not a web address starting with http:// or https://.').format(value=item)
            )
    items = [terms.quote_url(item) for item in items]
    return json.dumps(items) if items else ("" if value is not missing else missing)


def dcatde_email(value: Any) -> Any:
    if _empty(value):
        return value
    if not isinstance(value, str):
        raise tk.Invalid(tk._("Please enter a valid e-mail address."))
    text = value.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    if not _EMAIL.match(text):
        raise tk.Invalid(tk._("Please enter a valid e-mail address."))
    return text


def dcatde_contact_reachable(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """K01: a contact point needs an e-mail address or a URL (contact form)."""
    base = key[:-1]
    email = data.get(base + ("email",))
    url = data.get(base + ("url",))
    name = data.get(base + ("name",))
    uri = data.get(base + ("uri",))
    if all(_empty(v) for v in (email, url, name, uri)):
        return  # an empty form row
    if _empty(email) and _empty(url):
        errors[key].append(tk._("A contact point needs an e-mail address or a web address of a contact form (K01)."))


def dcatde_temporal_end(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> None:
    """The end of a temporal coverage must not lie before its start."""
    end = data.get(key)
    start = data.get(key[:-1] + ("start",))
    if _empty(end) or _empty(start) or errors.get(key):
        return
    if str(end)[:10] < str(start)[:10]:
        errors[key].append(tk._("The end of the time period must not be before its start."))


# CKAN stores a resource's size in a PostgreSQL bigint
MAX_BYTE_SIZE = 2**63 - 1


def dcatde_byte_size(value: Any) -> Any:
    """xsd:nonNegativeInteger that fits the database column."""
    if _empty(value):
        return value
    if isinstance(value, bool):
        raise tk.Invalid(tk._("The size must be a whole number of bytes (0 or more)."))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise tk.Invalid(tk._("The size must be a whole number of bytes (0 or more)."))
    if value > MAX_BYTE_SIZE:
        raise tk.Invalid(tk._("The size is too large to be a file size in bytes."))
    return value


def dcatde_contributor_id(value: Any) -> Any:
    """K12/K13: exactly one contributor ID from http://dcat-ap.de/def/contributors/."""
    if _empty(value):
        return value
    items = (
        _as_list(value)
        if isinstance(value, (list, tuple)) or str(value).strip().startswith("[")
        else [str(value).strip()]
    )
    if len(items) != 1:
        raise tk.Invalid(tk._("Exactly one contributor ID is allowed (K12/K13)."))
    uri = terms.canonical_dcatapde_uri(items[0])
    if not uri.startswith(terms.CONTRIBUTORS) or len(uri) == len(terms.CONTRIBUTORS):
        raise tk.Invalid(
            tk._("The contributor ID must be a URI starting with {prefix} (K12).").format(prefix=terms.CONTRIBUTORS)
        )
    return uri


def dcatde_geocoding_uris(value: Any) -> Any:
    """Political geocoding URIs (http://dcat-ap.de/def/politicalGeocoding/...)."""
    items = _as_list(value)
    out: list[str] = []
    for item in items:
        uri = terms.canonical_dcatapde_uri(item)
        if not uri.startswith(terms.GEOCODING) or uri.startswith(terms.GEOCODING + "Level/"):
            raise tk.Invalid(
                tk._('"{value}" is not a political geocoding URI ({prefix}...).').format(
                    value=item, prefix=terms.GEOCODING
                )
            )
        if uri not in out:
            out.append(uri)
    return json.dumps(out) if out else ("" if value is not missing else missing)


def dcatde_identifier(value: Any) -> Any:
    """K25: the dataset's identifier is one line of text without control characters."""
    if _empty(value):
        return value
    text = str(value).strip()
    if not text or _CONTROL.search(text) or len(text) > 1000:
        raise tk.Invalid(tk._("The identifier must be a single line of text (K25)."))
    return text


def dcatde_media_type(value: Any) -> Any:
    """An IANA media type such as text/csv (an IANA registry URI is accepted)."""
    if _empty(value):
        return value
    text = terms.media_type_from_uri(str(value))
    if not _MEDIA_TYPE.match(text):
        raise tk.Invalid(tk._('"{value}" is not a media type such as text/csv.').format(value=value))
    return text.lower()


def dcatde_geojson(value: Any) -> Any:
    """A GeoJSON geometry (WGS 84 longitude/latitude), stored as compact JSON."""
    if _empty(value):
        return value
    try:
        geo.geometry(value)
    except ValueError:
        raise tk.Invalid(
            tk._('Please enter a GeoJSON geometry, e.g. {"type": "Point", "coordinates": [8.40, 49.01]}.')
        ) from None
    geometry = json.loads(value) if isinstance(value, str) else value
    return json.dumps(geometry, separators=(", ", ": "))


def dcatde_license_attribution(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """K35: the attribution text is required where the licence demands it.

    On the dataset it is checked against the dataset's licence; on a
    distribution against the distribution's own licence (if it has one), and
    the dataset's attribution text counts for its distributions."""
    if errors.get(key):
        return
    own = data.get(key)
    if not _empty(own):
        data[key] = str(own).strip()
        return
    if key[0] == "resources":
        license_uri = data.get(key[:-1] + ("license",))
        if _empty(license_uri) or not _empty(data.get(("license_attribution_by_text",))):
            return
    else:
        license_uri = data.get(("license_id",))
    if not _empty(license_uri) and vocab.requires_attribution(str(license_uri)):
        errors[key].append(
            tk._("The licence {license} requires an attribution text (K35).").format(
                license=vocab.label("license", str(license_uri)) or license_uri
            )
        )


# German transliteration (CKAN's munge writes "ä" as "a")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def _slug(title: str) -> str:
    """A web address from a German title: "Bäume in Grünwinkel" -> "baeume-in-gruenwinkel"
    (CKAN's ``munge_title_to_name`` after the German transliteration)."""
    return compat.munge_title_to_name(title.translate(_UMLAUTS)).strip("_-")


def dcatde_name_from_title(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> None:
    """An empty web address (the form's URL field, usually filled by its
    script) is derived from the title, made unique with a number. Without a
    title the address gets no error of its own: the missing title is the one
    error the steward has to fix."""
    if not _empty(data.get(key)):
        return
    title = data.get(("title",))
    if _empty(title) or not str(title).strip():
        # the title's own validators would copy the (empty) address into it
        errors.setdefault(("title",), []).append(tk._("Missing value"))
        raise tk.StopOnError
    base = _slug(str(title)) or "datensatz"
    if len(base) < 2:
        base = f"datensatz-{base}"
    package = context.get("package")
    own_id = package.id if package is not None else data.get(("id",))
    model = context["model"]
    candidate, n = base, 1
    while True:
        existing = model.Package.get(candidate)
        if existing is None or existing.id == own_id:
            break
        n += 1
        candidate = f"{base[:85]}-{n}"
    data[key] = candidate


def dcatde_format_from_url(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> None:
    """An empty file format is taken from the file name or link ending
    (``daten.csv`` -> the EU file type CSV), as CKAN's own resource schema
    guesses it; this is also what lets the DataStore loader pick up a table
    whose steward left the format empty."""
    if not _empty(data.get(key)):
        return
    url = str(data.get(key[:-1] + ("url",)) or "")
    path = urlsplit(url).path if "://" in url else url
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if "." not in name:
        return
    guessed = vocab.normalise("file-type", name.rsplit(".", 1)[-1])
    if guessed:
        data[key] = guessed


def dcatde_name_from_url(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> None:
    """An empty distribution name is the file name of its upload or link
    ("baumarten.csv"), or the link's host: better than CKAN showing the id."""
    if not _empty(data.get(key)):
        return
    url = str(data.get(key[:-1] + ("url",)) or "").strip()
    if not url:
        return
    parts = urlsplit(url) if "://" in url else None
    path = parts.path if parts else url
    name = unquote(path.rstrip("/").rsplit("/", 1)[-1]).strip()
    data[key] = name or (parts.hostname if parts else "") or missing


def dcatde_stadtteile(value: Any) -> Any:
    """City districts (Stadtteile) by number or name, stored as a JSON list of
    the official two-digit numbers."""
    if _empty(value):
        return value
    if isinstance(value, (list, tuple)):  # numbers may come as integers from the API
        value = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    numbers: list[str] = []
    for item in _as_list(value):
        number = districts.normalise(item)
        if number is None:
            raise tk.Invalid(
                tk._('"{value}" is not a district of {city}.').format(
                    value=item, city=tk.config.get("ckanext.udp.city_name", "Karlsruhe")
                )
            )
        if number not in numbers:
            numbers.append(number)
    return json.dumps(sorted(numbers))


def get_validators() -> dict[str, Validator]:
    return {
        "dcatde_vocab": dcatde_vocab,
        "dcatde_vocab_list": dcatde_vocab_list,
        "dcatde_list_output": dcatde_list_output,
        "dcatde_url": dcatde_url,
        "dcatde_resource_url": dcatde_resource_url,
        "dcatde_url_list": dcatde_url_list,
        "dcatde_email": dcatde_email,
        "dcatde_contact_reachable": dcatde_contact_reachable,
        "dcatde_temporal_end": dcatde_temporal_end,
        "dcatde_byte_size": dcatde_byte_size,
        "dcatde_contributor_id": dcatde_contributor_id,
        "dcatde_geocoding_uris": dcatde_geocoding_uris,
        "dcatde_identifier": dcatde_identifier,
        "dcatde_media_type": dcatde_media_type,
        "dcatde_license_attribution": dcatde_license_attribution,
        "dcatde_geojson": dcatde_geojson,
        "dcatde_name_from_title": dcatde_name_from_title,
        "dcatde_stadtteile": dcatde_stadtteile,
        "dcatde_format_from_url": dcatde_format_from_url,
        "dcatde_name_from_url": dcatde_name_from_url,
    }
