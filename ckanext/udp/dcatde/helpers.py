"""Template helpers of ``udp_dcatde``: select lists from the vocabularies."""
from __future__ import annotations

from typing import Any

from ckanext.udp.dcatde import terms, vocab


def dcatde_vocab_choices(field: dict[str, Any]) -> list[dict[str, str]]:
    """scheming ``choices_helper``: the vocabulary named in
    ``field['dcatde_vocabulary']`` with German labels."""
    return vocab.choices(field["dcatde_vocabulary"])


def dcatde_checksum_algorithm_choices(field: dict[str, Any]) -> list[dict[str, str]]:
    return [{"value": terms.checksum_algorithm_uri(a), "label": a.upper()} for a in terms.CHECKSUM_ALGORITHMS]


def dcatde_vocab_label(name: str, uri: str) -> str:
    """German label of a vocabulary URI (the URI itself if unknown)."""
    return vocab.label(name, uri) or uri


def get_helpers() -> dict[str, Any]:
    return {
        "dcatde_vocab_choices": dcatde_vocab_choices,
        "dcatde_checksum_algorithm_choices": dcatde_checksum_algorithm_choices,
        "dcatde_vocab_label": dcatde_vocab_label,
    }
