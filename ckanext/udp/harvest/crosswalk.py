"""Values other catalogues use where DCAT-AP.de expects an EU vocabulary,
mapped onto it; everything else goes through udp_dcatde's ``vocab.normalise``
(the vocabularies themselves live there only).

- INSPIRE / ISO 19115 maintenance frequencies (``MD_MaintenanceFrequencyCode``,
  also as the INSPIRE registry URI ``.../MaintenanceFrequencyCode/notPlanned``)
  -> EU frequency;
- free German (and English) access-rights texts, as GovData's CKAN carries
  them ("Es gelten keine Zugriffsbeschränkungen") -> EU access right.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ckanext.udp.dcatde import vocab

_INSPIRE_FREQUENCY = {
    "continual": "CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "fortnightly": "BIWEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "biannually": "ANNUAL_2",
    "annually": "ANNUAL",
    "asneeded": "IRREG",
    "irregular": "IRREG",
    "notplanned": "NEVER",
    "unknown": "UNKNOWN",
}
_PUBLIC = re.compile(
    r"keine\s+(zugriffs|nutzungs)?beschr[äa]nkung|no\s+(access\s+)?(limitation|restriction)s?|"
    r"^\s*(öffentlich|oeffentlich|public|frei zugänglich|open)\s*\.?\s*$",
    re.I,
)
_NON_PUBLIC = re.compile(r"nicht\s+öffentlich|nicht-öffentlich|non[- ]public|vertraulich|confidential", re.I)
_RESTRICTED = re.compile(r"eingeschr[äa]nkt|beschr[äa]nkt|restricted|nur\s+für", re.I)


def frequency(value: Any) -> str | None:
    """An EU frequency URI for an EU/INSPIRE/ISO value or label; None if unknown."""
    if not value:
        return None
    text = str(value).strip()
    hit = vocab.normalise("frequency", text)
    if hit:
        return hit
    code = re.split(r"[/#]", text.rstrip("/"))[-1].replace("_", "").replace("-", "").lower()
    eu = _INSPIRE_FREQUENCY.get(code)
    return vocab.normalise("frequency", eu) if eu else None


def access_rights(value: Any) -> str | None:
    """An EU access-right URI for a URI, code, label or a free text saying
    the same; None if the text says something else."""
    if not value:
        return None
    text = str(value).strip()
    hit = vocab.normalise("access-right", text)
    if hit:
        return hit
    if _NON_PUBLIC.search(text):
        return vocab.normalise("access-right", "NON_PUBLIC")
    if _PUBLIC.search(text):
        return vocab.normalise("access-right", "PUBLIC")
    if _RESTRICTED.search(text):
        return vocab.normalise("access-right", "RESTRICTED")
    return None


def json_list(value: Any) -> list[str]:
    """A list from a list, a JSON list in a string (GovData's extras) or one value."""
    if value in (None, "", [], "[]"):
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return []
        return [str(v).strip() for v in parsed if str(v).strip()] if isinstance(parsed, list) else []
    return [text]
