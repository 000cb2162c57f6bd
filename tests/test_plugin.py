"""The ``udp`` plugin and the community extensions it builds on load and work."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.parse

import ckan.plugins as p
import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset

STACK = (
    "udp",
    "datastore",
    "scheming_datasets",
    "dcat",
    "dcat_rdf_harvester",
    "harvest",
    "spatial_metadata",
    "spatial_query",
    "activity",
)


@pytest.mark.usefixtures("with_plugins")
class TestPluginsLoad:
    @pytest.mark.parametrize("name", STACK)
    def test_plugin_is_loaded(self, name: str):
        assert p.plugin_loaded(name)

    def test_config_declarations_of_udp(self):
        # declared defaults, not set in any ini
        assert tk.config.get("ckanext.udp.city_name") == "Karlsruhe"
        assert tk.config.get("ckanext.udp.demo_data").endswith("karlsruhe.json")

    def test_german_is_the_default_locale(self):
        assert tk.config.get("ckan.locale_default") == "de"

    def test_one_udp_command_group_with_a_subgroup_per_plugin(self, cli):
        from ckan.cli.cli import ckan as ckan_cli

        top = cli.invoke(ckan_cli, ["--help"]).output
        assert "udp-catalog" not in top  # the old top-level group is gone
        udp = cli.invoke(ckan_cli, ["udp", "--help"])
        assert udp.exit_code == 0, udp.output
        subgroups = {line.split()[0] for line in udp.output.split("Commands:")[1].splitlines() if line.strip()}
        assert {"demo", "catalog"} <= subgroups
        assert "validate" not in subgroups  # `ckan udp dcatde validate`, registered once by udp_dcatde
        assert cli.invoke(ckan_cli, ["udp", "demo", "load", "--help"]).exit_code == 0
        assert cli.invoke(ckan_cli, ["udp", "catalog", "warm", "--help"]).exit_code == 0

    def test_helpers_are_registered(self):
        assert tk.h.udp_city_name() == "Karlsruhe"
        labels = [label for label, _ in tk.h.udp_footer_links()]
        assert "Imprint" in labels or "Impressum" in labels


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestPortalPages:
    def test_home_page_is_german(self, app):
        body = app.get("/").body
        assert 'lang="de"' in body
        assert "Urbane Datenplattform Karlsruhe" in body
        assert "Datensätze" in body

    def test_footer_has_the_legal_links(self, app):
        body = app.get("/").body
        assert 'href="/impressum"' in body
        assert "Impressum" in body
        assert "Datenschutz" in body
        assert "Erklärung zur Barrierefreiheit" in body
        assert 'href="/entwickler"' in body

    @pytest.mark.ckan_config("ckanext.udp.imprint_url", "https://www.karlsruhe.de/impressum")
    def test_footer_links_a_configured_imprint(self, app):
        assert 'href="https://www.karlsruhe.de/impressum"' in app.get("/").body

    def test_legal_pages_are_german_and_escape_their_options(self, app, ckan_config, monkeypatch):
        monkeypatch.setitem(ckan_config, "ckanext.udp.legal.accessibility_contact", "<b>x</b>@example.org")
        for path, heading in (
            ("/impressum", "Impressum"),
            ("/datenschutz", "Datenschutzerklärung"),
            ("/barrierefreiheit", "Erklärung zur Barrierefreiheit"),
        ):
            body = app.get(path).body
            assert f"<h1>{heading}</h1>" in body, path
            assert "Demo-Text." in body
        assert "&lt;b&gt;x&lt;/b&gt;@example.org" in body
        assert "<b>x</b>" not in body

    def test_a_legal_page_missing_from_the_folder_is_a_german_404(self, app, ckan_config, monkeypatch, tmp_path):
        monkeypatch.setitem(ckan_config, "ckanext.udp.legal_pages", str(tmp_path))
        answer = app.get("/impressum", status=404)
        assert "Diese Seite ist noch nicht verfasst." in answer.body

    def test_only_catalog_alternates_that_answer_are_announced(self, app):
        for page in ("/", "/dataset/"):
            hrefs = re.findall(r'<link rel="alternate" type="[^"]+" href="([^"]+)"', app.get(page).body)
            assert hrefs, page
            for href in hrefs:
                path = urllib.parse.urlsplit(href).path
                assert app.get(path).status_code == 200, f"{page} announces {path}"

    def test_members_tab_only_for_those_who_may_see_the_members(self, app):
        sysadmin = factories.SysadminWithToken()
        org = factories.Organization()
        tab = f"/organization/members/{org['name']}"
        assert app.get(tab, status=403)
        assert tab not in app.get(f"/organization/{org['name']}").body
        as_admin = app.get(f"/organization/{org['name']}", headers={"Authorization": sysadmin["token"]}).body
        assert tab in as_admin

    def test_english_stays_available(self, app):
        body = app.get("/en/").body
        assert 'lang="en"' in body
        assert "Imprint" in body


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestCommunityExtensionsBasics:
    def test_scheming_serves_its_dataset_schema(self):
        schema = tk.get_action("scheming_dataset_schema_show")({}, {"type": "dataset"})
        assert any(f["field_name"] == "title" for f in schema["dataset_fields"])

    def test_dcat_serialises_a_dataset(self, app):
        org = factories.Organization()
        pkg = public_dataset(owner_org=org["id"], title="Spielplätze", notes="Alle Spielplätze")
        resp = app.get(f"/dataset/{pkg['name']}.ttl")
        assert resp.status_code == 200
        assert "dcat:Dataset" in resp.body
        assert "Spielplätze" in resp.body

    def test_harvest_source_is_created_and_listed(self):
        sysadmin = factories.Sysadmin()
        org = factories.Organization()
        source = tk.get_action("harvest_source_create")(
            {"user": sysadmin["name"]},
            {
                "name": "govdata-test",
                "title": "Test-Quelle",
                "url": "http://127.0.0.1:1/catalog.rdf",
                "source_type": "dcat_rdf",
                "owner_org": org["id"],
                "frequency": "MANUAL",
            },
        )
        listed = tk.get_action("harvest_source_list")({"user": sysadmin["name"]}, {})
        assert source["id"] in [s["id"] for s in listed]

    def test_spatial_bbox_search_through_solr(self):
        org = factories.Organization()
        geom = (
            '{"type": "Polygon", "coordinates": [[[8.3, 48.95], [8.5, 48.95], [8.5, 49.1], [8.3, 49.1], [8.3, 48.95]]]}'
        )
        inside = public_dataset(owner_org=org["id"], extras=[{"key": "spatial", "value": geom}])
        public_dataset(owner_org=org["id"])  # no extent: never in a bbox result
        found = tk.get_action("package_search")({}, {"extras": {"ext_bbox": "8.35,48.98,8.45,49.05"}})
        assert [d["id"] for d in found["results"]] == [inside["id"]]
        nowhere = tk.get_action("package_search")({}, {"extras": {"ext_bbox": "13.3,52.4,13.5,52.6"}})
        assert nowhere["count"] == 0


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_home_page_shows_the_portal_in_numbers(app):
    org = factories.Organization()
    public_dataset(owner_org=org["id"])
    public_dataset(owner_org=org["id"])
    public_dataset(owner_org=org["id"], private=True)  # not counted for visitors
    body = app.get("/").body
    assert "Das Portal in Zahlen" in body
    assert "placeholder-420x220" not in body
    assert tk.h.udp_portal_counts() == {"datasets": 2, "organizations": 1}


def test_the_udp_plugin_does_not_import_rdflib_or_pyshacl():
    """The portal plugin (theme, guard, demo commands) needs no RDF: importing it
    and building its commands leaves rdflib and pyshacl unloaded."""
    code = (
        "import sys\n"
        "from ckanext.udp.portal import plugin, cli\n"
        "cli.get_commands()\n"
        "print(sorted(m for m in ('rdflib', 'pyshacl') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


#: neutral top-level modules: any package may import them, they import no package of ckanext.udp
SHARED = {
    f"ckanext.udp.{name}"
    for name in (
        "commands",
        "compat",
        "dates",
        "jsonlimits",
        "fetch",
        "urlrule",
        "sourceguard",
        "datastore_sql",
        "timestamps",
        "alembic_env",
        "sandbox",
        "unavailable",
        "answers",
        "rediscache",
    )
}
#: what a package may import beyond itself and SHARED: the harvesting library (not a plugin), its
#: documented interface, and udp_dcatde's public vocabulary, validation and terms modules
ALLOWED = {
    "harvest": {"ckanext.udp.dcatde.vocab", "ckanext.udp.dcatde.validation", "ckanext.udp.dcatde.terms"},
    "harvesters": {"ckanext.udp.harvest"},
    "harvest_dashboard": {"ckanext.udp.harvest"},
    "sensorthings": {"ckanext.udp.harvest"},
    "governance": {"ckanext.udp.harvest.interfaces"},
}


def _udp_imports(path) -> list[str]:
    import ast

    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # "from ckanext.udp.dcatde import vocab" names ckanext.udp.dcatde.vocab
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in names if name.startswith("ckanext.udp.")]


def _packages() -> list[str]:
    import pathlib

    import ckanext.udp

    root = pathlib.Path(ckanext.udp.__file__).parent
    return sorted(d.name for d in root.iterdir() if (d / "__init__.py").exists() and d.name != "migration")


def _allowed(name: str, allowed: set[str]) -> bool:
    return any(name == a or name.startswith(a + ".") for a in SHARED | allowed)


@pytest.mark.parametrize("package", _packages())
def test_a_plugin_package_imports_only_itself_and_the_shared_modules(package):
    """Every package under ckanext/udp (found, not listed: a new one is checked too) imports
    only itself, the neutral shared modules and what ALLOWED names: no plugin reaches into
    another plugin's modules, and nothing imports back up into a plugin."""
    import pathlib

    import ckanext.udp

    root = pathlib.Path(ckanext.udp.__file__).parent
    own = f"ckanext.udp.{package}"
    foreign = [
        f"{path.relative_to(root)}: {name}"
        for path in sorted((root / package).rglob("*.py"))
        for name in _udp_imports(path)
        if not (name == own or name.startswith(own + ".")) and not _allowed(name, ALLOWED.get(package, set()))
    ]
    assert foreign == []


def test_the_shared_modules_import_no_package_of_ckanext_udp():
    import pathlib

    import ckanext.udp

    root = pathlib.Path(ckanext.udp.__file__).parent
    found = {name.rsplit(".", 1)[1] for name in SHARED}
    assert found <= {p.stem for p in root.glob("*.py")}
    for stem in sorted(found):
        packages = [n for n in _udp_imports(root / f"{stem}.py") if not _allowed(n, set())]
        assert packages == [], f"{stem}.py imports {packages}"
