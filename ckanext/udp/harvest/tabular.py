"""Departments' spreadsheets (CSV, XLSX) from a shared folder or an HTTP
directory listing, with an optional sidecar, into datasets with a DataStore
table.

Reading: frictionless detects the charset (UTF-8 with or without BOM,
ISO-8859-1/Windows-1252) and the delimiter (``,`` ``;`` tab); the cells are
read raw and typed here, per column, from all its values: whole numbers,
decimals with a decimal comma (``22,95``; a dot then groups thousands,
``31.000``) or a decimal point, German (``24.12.2024``) and ISO dates, else
text; a leading zero keeps a column text (postcodes, district numbers). A
sidecar's Table Schema hints (``"schema": {"fields": [{"name", "type",
"title", "description"}]}``) override the guess, and then every cell must fit
its type. Any cell that does not, a missing or doubled column heading, or a row
wider than the header makes the whole file an error: nothing of it is loaded.
What passes is written as a clean UTF-8 CSV and loaded by ckanext-xloader's
loader (``load_csv``, the one the forms use) into a table created with those
types.

Sidecar: ``<file>.json`` beside the file (``einwohner.csv.json``), all keys
optional: ``title``, ``description``, ``license`` (a dcat-ap.de licence id or
URI), ``license_attribution_by_text``, ``keywords``, ``theme``, ``frequency``,
``sheet`` (XLSX), ``schema``.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import hashlib
import html.parser
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from ckanext.udp import fetch
from ckanext.udp.dcatde import vocab
from ckanext.udp.harvest import crosswalk
from ckanext.udp.harvest.base import Record, _

FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
MAX_SIDECAR_BYTES = 1024 * 1024
DEFAULT_MAX_ROWS = 1_000_000
_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_INT_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(\.\d{3})+$")
_DEC_COMMA = re.compile(r"^-?(0|[1-9]\d{0,2}(\.\d{3})+|[1-9]\d*),\d+$")
_DEC_POINT = re.compile(r"^-?(0|[1-9]\d*)\.\d+$")
_DATE_DE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_DATE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELD_NAME = re.compile(r'^[^_"\s\x00-\x1f][^"\x00-\x1f]{0,62}$')
HINT_TYPES = {
    "integer": "int8",
    "number": "numeric",
    "string": "text",
    "date": "date",
    "datetime": "timestamp",
    "boolean": "bool",
}


class TableError(ValueError):
    """The file cannot be read as a table; the message says where and why."""


# --- where the files are ---------------------------------------------------------


@dataclass
class FileRef:
    name: str
    location: str  # a path in an allowed folder, or an http(s) URL
    sidecar: str | None = None

    @property
    def is_url(self) -> bool:
        return self.location.startswith(("http://", "https://"))


def folder_of(url: str) -> str | None:
    """The local folder a source URL names (``file:///srv/ablage`` or a path), else None."""
    if url.startswith("file://"):
        return unquote(urlsplit(url).path)
    if url.startswith("/"):
        return url
    return None


def check_folder(path: str, allowed: list[str]) -> str:
    """The folder's real path if it lies in one of the allowed folders."""
    real = os.path.realpath(path)
    for root in allowed:
        base = os.path.realpath(root)
        if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
            if not os.path.isdir(real):
                raise ValueError(_("the folder {path} does not exist").format(path=path))
            return real
    raise ValueError(
        _("the folder {path} is not among the folders the portal may read (ckanext.udp.filedrop.allowed_dirs)").format(
            path=path
        )
    )


def list_folder(folder: str) -> list[FileRef]:
    names = sorted(os.listdir(folder))
    out = []
    for name in names:
        path = os.path.join(folder, name)
        ext = os.path.splitext(name)[1].lower()
        if ext not in FORMATS or not os.path.isfile(path):
            continue
        if os.path.realpath(path) != path and not os.path.realpath(path).startswith(folder + os.sep):
            continue  # a link out of the folder
        sidecar = path + ".json"
        out.append(FileRef(name, path, sidecar if os.path.isfile(sidecar) else None))
    return out


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def list_http(url: str, fetcher: fetch.Fetcher) -> list[FileRef]:
    """The CSV/XLSX files an HTTP directory listing (Apache, nginx autoindex)
    links to, on the listing's own host."""
    res = fetcher.get(url, headers={"Accept": "text/html"})
    parser = _Links()
    parser.feed(res.content.decode("utf-8", errors="replace"))
    origin = urlsplit(res.url)[:2]
    found: dict[str, str] = {}
    for href in parser.links:
        target = urljoin(res.url, href)
        if urlsplit(target)[:2] == origin:
            found[urlsplit(target).path.rsplit("/", 1)[-1]] = target.split("#")[0]
    out = []
    for name in sorted(found):
        ext = os.path.splitext(unquote(name))[1].lower()
        if ext in FORMATS:
            out.append(FileRef(unquote(name), found[name], found.get(name + ".json")))
    return out


def read_bytes(location: str, fetcher: fetch.Fetcher, max_bytes: int) -> bytes:
    if location.startswith(("http://", "https://")):
        return fetcher.get(location).content
    size = os.path.getsize(location)
    if size > max_bytes:
        raise TableError(_("the file is larger than {n} bytes").format(n=max_bytes))
    with open(location, "rb") as handle:
        return handle.read()


def read_sidecar(ref: FileRef, fetcher: fetch.Fetcher) -> dict[str, Any]:
    if not ref.sidecar:
        return {}
    data = read_bytes(ref.sidecar, fetcher, MAX_SIDECAR_BYTES)
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise TableError(
            _("the sidecar {name} is not valid JSON: {error}").format(name=os.path.basename(ref.sidecar), error=err)
        ) from None
    if not isinstance(doc, dict):
        raise TableError(_("the sidecar {name} must be a JSON object").format(name=os.path.basename(ref.sidecar)))
    return doc


# --- the table -----------------------------------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]
    fields: list[dict[str, Any]]
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)


def _raw_cells(path: str, fmt: str, sheet: Any = None) -> tuple[list[list[Any]], str | None, str | None]:
    try:
        return _read_cells(path, fmt, sheet)
    except TableError as err:  # never show the temporary file's path
        raise TableError(str(err).replace(f'"{path}"', "").replace(path, "")) from None


def _read_cells(path: str, fmt: str, sheet: Any = None) -> tuple[list[list[Any]], str | None, str | None]:
    from frictionless import Dialect, FrictionlessException, Resource, formats

    options: dict[str, Any] = {"path": path, "format": fmt}
    if fmt == "xlsx" and sheet:
        options["dialect"] = Dialect(controls=[formats.ExcelControl(sheet=sheet)])
    try:
        with Resource(**options) as resource:
            cells = resource.read_cells()
            encoding = resource.encoding if fmt == "csv" else None
            control = resource.dialect.get_control("csv") if fmt == "csv" else None
            delimiter = getattr(control, "delimiter", None) if control else None
    except FrictionlessException as err:
        raise TableError(
            _("the file cannot be read as {fmt}: {error}").format(
                fmt=fmt.upper(), error=err.error.message if hasattr(err, "error") else err
            )
        ) from None
    except (ValueError, OSError, KeyError, IndexError) as err:  # broken zips, bad sheets
        raise TableError(_("the file cannot be read as {fmt}: {error}").format(fmt=fmt.upper(), error=err)) from None
    return cells, encoding, delimiter


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(text: str, german: bool) -> decimal.Decimal:
    if german:
        text = text.replace(".", "").replace(",", ".")
    return decimal.Decimal(text)


def _guess(values: list[Any], delimiter: str | None) -> tuple[str, bool]:
    """(DataStore type, German number format) of a column from all its non-empty cells."""
    if not values:
        return "text", False
    if all(isinstance(v, bool) for v in values):
        return "bool", False
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return ("int8" if all(float(v).is_integer() for v in values) else "numeric"), False
    if all(isinstance(v, dt.datetime) for v in values):
        return "timestamp", False
    if all(isinstance(v, dt.date) for v in values):
        return "date", False
    texts = [_text(v) for v in values]
    if all(_INT.match(t) for t in texts):
        return "int8", False
    if all(_INT.match(t) or _DEC_COMMA.match(t) or _INT_THOUSANDS.match(t) for t in texts) and (
        any(_DEC_COMMA.match(t) for t in texts) or delimiter == ";"
    ):
        german_ints = all(_INT.match(t) or _INT_THOUSANDS.match(t) for t in texts)
        return ("int8" if german_ints else "numeric"), True
    if all(_INT.match(t) or _DEC_POINT.match(t) for t in texts):
        return "numeric", False
    if all(_DATE_DE.match(t) for t in texts) or all(_DATE_ISO.match(t) for t in texts):
        return "date", False
    return "text", False


def _convert(value: Any, kind: str, german: bool) -> Any:
    """The cell as its column's type (a string for the CSV); ValueError if it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "text":
        return _text(value)
    if kind in ("int8", "numeric"):
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, (int, float)):
            number = decimal.Decimal(str(value))
        else:
            text = _text(value)
            if _INT.match(text) or (_DEC_POINT.match(text) and not (german and _INT_THOUSANDS.match(text))):
                number = decimal.Decimal(text)
            elif _DEC_COMMA.match(text) or _INT_THOUSANDS.match(text):
                number = _number(text, german=True)
            else:
                raise ValueError
        if kind == "int8":
            if number != number.to_integral_value():
                raise ValueError
            return str(int(number))
        return str(number)
    if kind in ("date", "timestamp"):
        if isinstance(value, dt.datetime):
            return value.isoformat() if kind == "timestamp" else value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        text = _text(value)
        match = _DATE_DE.match(text)
        if match:
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1))).isoformat()
        if kind == "date":
            return dt.date.fromisoformat(text).isoformat()
        return dt.datetime.fromisoformat(text).isoformat()
    if kind == "bool":
        if isinstance(value, bool):
            return "true" if value else "false"
        text = _text(value).lower()
        if text in ("true", "wahr", "ja", "1"):
            return "true"
        if text in ("false", "falsch", "nein", "0"):
            return "false"
        raise ValueError
    raise ValueError


def _kind_label(kind: str) -> str:
    return {
        "int8": _("a whole number"),
        "numeric": _("a number"),
        "date": _("a date"),
        "timestamp": _("a time"),
        "bool": _("true or false"),
        "text": _("a text"),
    }[kind]


def read_table(path: str, fmt: str, hints: dict[str, Any], max_rows: int = DEFAULT_MAX_ROWS) -> Table:
    """The whole file as typed rows, or TableError saying where it is broken."""
    cells, encoding, delimiter = _raw_cells(path, fmt, hints.get("sheet"))
    while cells and not any(_text(c) for c in cells[0]):
        cells.pop(0)  # blank lines above the header
    if not cells:
        raise TableError(_("the file has no header row"))
    headers = [_text(h) for h in cells[0]]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise TableError(_("the file has no header row"))
    for index, name in enumerate(headers, 1):
        if not name:
            raise TableError(_("column {n} has no heading").format(n=index))
        if not _FIELD_NAME.match(name):
            raise TableError(
                _(
                    "the column heading {name!r} cannot be a table column (at most 63 characters, "
                    'not starting with _, no ")'
                ).format(name=name)
            )
    doubled = sorted({h for h in headers if headers.count(h) > 1})
    if doubled:
        raise TableError(_("the column heading {name!r} appears more than once").format(name=doubled[0]))
    rows = []
    for number, row in enumerate(cells[1:], 2):
        row = list(row)
        if not any(_text(c) for c in row):
            continue
        if len(row) > len(headers):
            extra = [c for c in row[len(headers) :] if _text(c)]
            if extra:
                raise TableError(_("row {row} has more cells than the header has columns").format(row=number))
            row = row[: len(headers)]
        rows.append((number, row + [None] * (len(headers) - len(row))))
        if len(rows) > max_rows:
            raise TableError(_("more than {n} rows").format(n=max_rows))
    schema_hints = {f.get("name"): f for f in (hints.get("schema") or {}).get("fields") or [] if isinstance(f, dict)}
    fields, kinds = [], []
    for col, name in enumerate(headers):
        hint = schema_hints.get(name) or {}
        if hint.get("type"):
            if hint["type"] not in HINT_TYPES:
                raise TableError(
                    _("the sidecar gives column {name!r} the unknown type {kind!r}").format(
                        name=name, kind=hint["type"]
                    )
                )
            kind = HINT_TYPES[hint["type"]]
            german = delimiter == ";" or any(_DEC_COMMA.match(_text(r[col])) for _n, r in rows)
        else:
            kind, german = _guess([r[col] for _n, r in rows if _text(r[col])], delimiter)
        kinds.append((kind, german))
        info = {"type_override": kind}
        if hint.get("title"):
            info["label"] = str(hint["title"])
        if hint.get("description"):
            info["notes"] = str(hint["description"])
        fields.append({"id": name, "type": kind, "info": info})
    typed = []
    for number, row in rows:
        out = []
        for col, value in enumerate(row):
            kind, german = kinds[col]
            try:
                out.append(_convert(value, kind, german))
            except (ValueError, ArithmeticError):
                raise TableError(
                    _("row {row}, column {name!r}: {value!r} is not {kind}").format(
                        row=number, name=headers[col], value=_text(value)[:50], kind=_kind_label(kind)
                    )
                ) from None
        typed.append(out)
    return Table(headers, typed, fields, encoding, delimiter)


def write_csv(table: Table, handle: Any) -> None:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])


def prepare(data: bytes, name: str, hints: dict[str, Any], max_rows: int = DEFAULT_MAX_ROWS) -> tuple[str, Table]:
    """Read and check the file; returns (path of a clean UTF-8 CSV, table).
    The caller removes the CSV."""
    fmt = FORMATS[os.path.splitext(name)[1].lower()]
    with tempfile.NamedTemporaryFile(suffix="." + fmt, delete=False) as raw:
        raw.write(data)
    try:
        table = read_table(raw.name, fmt, hints, max_rows)
    finally:
        os.unlink(raw.name)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8", newline="") as out:
        write_csv(table, out)
    return out.name, table


# --- the dataset -----------------------------------------------------------------------


def title_from_name(name: str) -> str:
    stem = os.path.splitext(name)[0]
    words = re.sub(r"[_\-]+", " ", stem).split()
    return " ".join(w[:1].upper() + w[1:] for w in words) or stem


def map_file(ref: FileRef, data: bytes, sidecar: dict[str, Any], guid: str) -> Record:
    """The dataset of one file (the table itself is loaded by the import)."""
    title = str(sidecar.get("title") or title_from_name(ref.name)).strip()[:500]
    d: dict[str, Any] = {
        "title": title,
        "notes": str(sidecar.get("description") or "").strip()
        or f"Tabelle {ref.name} aus dem Ablageordner der Fachabteilung.",
    }
    tags = []
    for word in crosswalk.json_list(sidecar.get("keywords")):
        name = " ".join(re.sub(r"[^\w \-.]", " ", word).split())[:100]
        if len(name) >= 2 and {"name": name} not in tags:
            tags.append({"name": name})
    d["tags"] = tags
    licence = vocab.normalise("license", str(sidecar.get("license") or "")) if sidecar.get("license") else None
    if licence:
        d["license_id"] = licence
    if sidecar.get("license_attribution_by_text"):
        d["license_attribution_by_text"] = str(sidecar["license_attribution_by_text"])[:500]
    themes = [t for t in (vocab.normalise("data-theme", x) for x in crosswalk.json_list(sidecar.get("theme"))) if t]
    if themes:
        d["theme"] = list(dict.fromkeys(themes))
    frequency = crosswalk.frequency(sidecar.get("frequency"))
    if frequency:
        d["frequency"] = frequency
    fmt = FORMATS[os.path.splitext(ref.name)[1].lower()]
    d["resources"] = [
        {
            "name": ref.name,
            "url": ref.location if ref.is_url else "",
            "format": vocab.normalise("file-type", fmt.upper()) or fmt.upper(),
            "description": "Tabelle in der DataStore-Datenbank (abfragbar über die API).",
        }
    ]
    payload = {
        "location": ref.location,
        "name": ref.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "hints": {k: sidecar[k] for k in ("schema", "sheet") if k in sidecar},
        "original_url": ref.location if ref.is_url else None,
    }
    return Record(guid=guid, dataset=d, label=title, payload=payload)


def records(source_url: str, allowed_dirs: list[str], fetcher: fetch.Fetcher, max_bytes: int) -> Iterator[Record]:
    """One record per CSV/XLSX file of the folder or listing."""
    folder = folder_of(source_url)
    refs = list_folder(check_folder(folder, allowed_dirs)) if folder else list_http(source_url, fetcher)
    for ref in refs:
        guid = ref.location if ref.is_url else "file://" + ref.location
        try:
            data = read_bytes(ref.location, fetcher, max_bytes)
            sidecar = read_sidecar(ref, fetcher)
        except TableError as err:
            yield Record(guid=guid, label=ref.name, error=_("{name}: {reason}").format(name=ref.name, reason=err))
            continue
        yield map_file(ref, data, sidecar, guid)
