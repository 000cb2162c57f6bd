"""Where ``udp_dcatde`` finds the reference data it does not own.

The official DCAT-AP.de validation artefacts (SHACL shapes, ontologies,
GovData's dashboard files) and the city's district list are not part of the
package: an operator installs them and names their directories, as absolute
paths, in the config (``ckanext.udp.dcatde.shapes_dir``,
``ckanext.udp.dcatde.districts_dir``). An option left empty defaults to the
matching folder of ``UDP_SHARED_DIR``, the reference-data directory the
project's stack script exports. The plugin checks both at start-up
(:func:`check`), so a missing or relative path stops CKAN with a message
naming the option instead of answering 503 later.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENVIRONMENT = "UDP_SHARED_DIR"


class ReferenceDataError(RuntimeError):
    """A reference-data option is unset, relative or points at missing files."""


@dataclass(frozen=True)
class Option:
    key: str
    #: the folder of ``UDP_SHARED_DIR`` used when the option is empty
    shared_folder: str
    #: files (relative to the directory) that must exist
    required: tuple[str, ...]


SHAPE_FILES = (
    "semic-dcat-ap-3.0.0-shacl.ttl",
    "dcat-ap-SHACL-DE.ttl",
    "dcat-ap-de-deprecated.ttl",
    "dcat-ap-spec-german-additions.ttl",
    "dcat-ap-de-controlledvocabularies.ttl",
)
ONTOLOGY_FILES = ("foaf_0_1.rdf", "vcard.ttl", "org.ttl")
DASHBOARD_SHAPES = "db-shapes.ttl"
CONTRIBUTORS_FILE = "dcat-ap-de-contributors.rdf"
LICENSES_FILE = "dcat-ap-de-licenses-open.rdf"
DISTRICTS_FILE = "stadtteile.csv"

SHAPES = Option(
    "ckanext.udp.dcatde.shapes_dir",
    "dcat-ap-de",
    tuple(f"shapes-3.0/{name}" for name in SHAPE_FILES)
    + tuple(f"ontologies/{name}" for name in ONTOLOGY_FILES)
    + (f"dashboard/{CONTRIBUTORS_FILE}",),
)
DISTRICTS = Option("ckanext.udp.dcatde.districts_dir", "karlsruhe", (DISTRICTS_FILE,))
OPTIONS = (SHAPES, DISTRICTS)


def directory(option: Option, config: Mapping[str, Any] | None = None) -> pathlib.Path:
    """The configured directory of ``option`` (absolute), else its folder of
    ``UDP_SHARED_DIR``; :class:`ReferenceDataError` naming the option if
    neither gives an absolute path."""
    if config is None:
        import ckan.plugins.toolkit as tk

        config = tk.config
    value = str(config.get(option.key) or "").strip()
    source = f"config option {option.key}"
    if not value:
        shared = os.environ.get(ENVIRONMENT, "").strip()
        if not shared:
            raise ReferenceDataError(
                f"{option.key} is not set: give the absolute path of the directory "
                f"(or set {ENVIRONMENT} to the reference-data directory that holds {option.shared_folder}/)"
            )
        value = os.path.join(shared, option.shared_folder)
        source = f"{ENVIRONMENT} (config option {option.key} is empty)"
    path = pathlib.Path(value)
    if not path.is_absolute():
        raise ReferenceDataError(f"{option.key} must be an absolute path, not {value!r} (from {source})")
    return path


def check(config: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`ReferenceDataError` unless every option names an
    absolute directory holding its required files."""
    for option in OPTIONS:
        base = directory(option, config)
        missing = [name for name in option.required if not (base / name).is_file()]
        if missing:
            raise ReferenceDataError(
                f"{option.key}: {base} lacks {', '.join(missing)}; "
                f"set {option.key} to the absolute path of the reference data"
            )


__all__ = ["DISTRICTS", "ENVIRONMENT", "OPTIONS", "SHAPES", "Option", "ReferenceDataError", "check", "directory"]
