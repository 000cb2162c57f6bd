"""Every UI string of our templates and code has a German translation, ours
or CKAN's (German is the default locale: an untranslated msgid shows English)."""

from __future__ import annotations

import ast
import pathlib
import re

import ckan
from babel.messages.pofile import read_po

ROOT = pathlib.Path(__file__).resolve().parent.parent / "ckanext" / "udp"
OURS = ROOT / "portal" / "i18n" / "de" / "LC_MESSAGES" / "ckanext-udp.po"
# the harvesters and their dashboard translate in their own domain
HARVEST = ROOT / "harvest" / "i18n" / "de" / "LC_MESSAGES" / "ckanext-udp-harvest.po"
CORE = pathlib.Path(ckan.__file__).parent / "i18n" / "de" / "LC_MESSAGES" / "ckan.po"
# _('...') or _("...") with a literal, as templates and toolkit._ call gettext
CALL = re.compile(r"""\b_\(\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*[,)]""")


def _translated(path: pathlib.Path) -> set[str]:
    with path.open("rb") as f:
        catalog = read_po(f, locale="de")
    return {m.id for m in catalog if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def template_msgids() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    sources = sorted(ROOT.rglob("templates/**/*.html")) + sorted(ROOT.rglob("*.py"))
    for template in sources:
        for match in CALL.finditer(template.read_text(encoding="utf-8")):
            msgid = ast.literal_eval(match.group(1))
            found.setdefault(msgid, []).append(str(template.relative_to(ROOT)))
    return found


def test_templates_call_gettext():
    assert len(template_msgids()) > 50  # the pattern still finds the strings


def test_every_template_string_has_a_german_translation():
    german = _translated(OURS) | _translated(HARVEST) | _translated(CORE)
    for own in ROOT.glob("*/i18n/de/LC_MESSAGES/*.po"):  # plugins with a catalogue of their own
        german |= _translated(own)
    missing = {msgid: where for msgid, where in template_msgids().items() if msgid not in german}
    assert missing == {}, missing
