"""udp_twin, udp_view3d and udp_grid translate from catalogues of their own
(ITranslation, ``i18n/de/LC_MESSAGES/ckanext-udp-<name>.po`` in their package):
every English msgid each uses has its German there, not only in the portal's
catalogue. Messages built from an msgid constant (the probe's findings, the
grid's errors) count as used."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest
from babel.messages.pofile import read_po

from ckanext.udp.twin import plugin as twin_plugin
from ckanext.udp.view3d import plugin as view_plugin

UDP = pathlib.Path(__file__).resolve().parents[2] / "ckanext" / "udp"
TWIN, VIEW3D = UDP / "twin", UDP / "view3d"
# _('...') in a template, as test_translations.py reads them
CALL = re.compile(r"""\b_\(\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*[,)]""")
#: calls whose first argument is an msgid: gettext, a probe finding, a grid error
MSGID_CALLS = {"_", "translate", "note", "Finding", "GridError"}


def _template_msgids(folder: pathlib.Path) -> set[str]:
    return {
        ast.literal_eval(m.group(1))
        for path in folder.rglob("*.html")
        for m in CALL.finditer(path.read_text(encoding="utf-8"))
    }


def _python_msgids(tree: ast.AST, constants: dict[str, str]) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        first = node.args[0]
        if name in MSGID_CALLS:
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
            elif isinstance(first, ast.Name) and first.id in constants:
                found.add(constants[first.id])
            elif isinstance(first, ast.Attribute) and first.attr in constants:
                found.add(constants[first.attr])
    return found


def _module(path: pathlib.Path) -> tuple[ast.Module, dict[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return tree, constants


def _files_msgids(*paths: pathlib.Path) -> set[str]:
    found: set[str] = set()
    constants: dict[str, str] = {}
    modules = [_module(p) for p in paths]
    for _, c in modules:
        constants |= c
    for tree, _ in modules:
        found |= _python_msgids(tree, constants)
    return found


def _class_msgids(cls: type) -> set[str]:
    """What a plugin class translates: its title and its own ``_()`` calls."""
    tree, constants = _module(VIEW3D / "plugin.py")
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    return {cls.title} | _python_msgids(body, constants)  # type: ignore[attr-defined]


def used() -> dict[str, set[str]]:
    from ckanext.udp.view3d import logic

    return {
        "ckanext-udp-twin": _template_msgids(TWIN / "templates") | _files_msgids(*sorted(TWIN.glob("*.py"))),
        "ckanext-udp-view3d": _template_msgids(VIEW3D / "templates")
        | _class_msgids(view_plugin.UdpView3dPlugin)
        | {logic.TITLES[logic.VIEW3D]},
        "ckanext-udp-grid": _template_msgids(VIEW3D / "grid_templates")
        | _files_msgids(VIEW3D / "grid.py", VIEW3D / "views.py")
        | _class_msgids(view_plugin.UdpGridViewPlugin)
        | {logic.TITLES[logic.GRID]},
    }


def _german(directory: str, domain: str) -> dict[str, str]:
    path = pathlib.Path(directory) / "de" / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale="de")
    return {m.id: m.string for m in catalog if isinstance(m.id, str) and m.id and m.string and not m.fuzzy}


PLUGINS = {
    "ckanext-udp-twin": twin_plugin.UdpTwinPlugin,
    "ckanext-udp-view3d": view_plugin.UdpView3dPlugin,
    "ckanext-udp-grid": view_plugin.UdpGridViewPlugin,
}


@pytest.mark.parametrize("domain", sorted(PLUGINS))
def test_every_msgid_a_plugin_uses_has_german_in_its_own_catalogue(domain: str) -> None:
    plugin = PLUGINS[domain]()
    assert plugin.i18n_domain() == domain and plugin.i18n_locales() == ["de"]
    assert pathlib.Path(plugin.i18n_directory()).is_relative_to(UDP)
    german = _german(plugin.i18n_directory(), domain)
    msgids = used()[domain]
    assert len(msgids) > 5  # the extraction still finds them
    missing = sorted(m for m in msgids if m not in german)
    assert missing == []
    # placeholders survive the translation
    broken = [m for m in msgids if set(re.findall(r"{\w+}", m)) != set(re.findall(r"{\w+}", german[m]))]
    assert broken == []


def test_no_german_left_in_the_code() -> None:
    """Messages are English msgids: no German sentence hard-coded in the previews' code
    (the demo data's German descriptions are data, not UI)."""
    umlaut = re.compile(r"""["'][^"'\n]*[äöüÄÖÜß][^"'\n]*["']""")
    code = [
        *VIEW3D.glob("*.py"),
        *(VIEW3D / "assets" / "src").glob("*.js"),
        *(TWIN / "probe.py", TWIN / "plugin.py", TWIN / "helpers.py", TWIN / "record.py"),
    ]
    found = [f"{p.name}: {m.group(0)}" for p in code for m in umlaut.finditer(p.read_text(encoding="utf-8"))]
    assert found == []
