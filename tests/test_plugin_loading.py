"""The tests' quicker plugin loading (tests/plugin_loading.py, installed by
tests/conftest.py) registers exactly what CKAN's own loading registers."""

from __future__ import annotations

from typing import Any

import ckan.lib.webassets_tools as webassets_tools
import ckan.plugins.core as core
import plugin_loading
import pytest
from ckan.common import config
from ckan.config.environment import update_config


def _registered() -> dict[str, Any]:
    update_config()
    env = webassets_tools.env
    return {
        "templates": list(config["plugin_template_paths"]),
        "public": list(config["plugin_public_paths"]),
        "bundles": {name: [str(c) for c in bundle.contents] for name, bundle in env._named_bundles.items()},
        "load_path": list(env.load_path),
        "url_mapping": dict(env.url_mapping),
    }


@pytest.mark.usefixtures("with_plugins")
def test_the_quick_loading_registers_what_ckans_loading_registers() -> None:
    try:
        plugin_loading.uninstall()
        ckans = _registered()
        services = {name: type(core._get_service(name)) for name in ("udp", "udp_governance", "activity")}
    finally:
        plugin_loading.install()
    quick = _registered()
    assert quick == ckans
    assert {name: type(core._get_service(name)) for name in services} == services
    # not vacuous: our plugins' folders and bundles are among them
    assert any(p.endswith("ckanext/udp/portal/templates") for p in quick["templates"]), quick["templates"]
    assert any(p.endswith("/public") and "ckanext/udp" in p for p in quick["public"]), quick["public"]
    assert any(name.startswith("udp") for name in quick["bundles"]), sorted(quick["bundles"])


def test_the_callers_folder_is_the_one_inspect_names() -> None:
    seen: dict[str, list[str]] = {}
    for name, fn in (
        ("quick", plugin_loading._add_served_directory),
        ("ckan", plugin_loading.ORIGINAL["_add_served_directory"]),
    ):
        conf: dict[str, list[str]] = {}

        def add_template_directory(config_: Any, relative_path: str, fn: Any = fn) -> None:
            fn(config_, relative_path, "plugin_template_paths")

        add_template_directory(conf, "templates")
        add_template_directory(conf, "other")
        add_template_directory(conf, "templates")  # once only
        seen[name] = conf["plugin_template_paths"]
    assert seen["quick"] == seen["ckan"]
    assert seen["quick"][1].endswith("tests/templates")


def test_libyaml_reads_every_yaml_file_of_the_portal_as_pyyaml_does() -> None:
    import pathlib

    import ckan
    import ckanext.scheming
    import yaml

    roots = [plugin_loading.__file__, ckan.__file__, ckanext.scheming.__file__]
    roots = [pathlib.Path(r).resolve().parent for r in roots]
    roots[0] = roots[0].parent / "ckanext"
    files = [f for root in roots for pattern in ("*.yaml", "*.yml") for f in root.rglob(pattern)]
    assert len(files) > 20, files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert plugin_loading.safe_load(text) == yaml.load(text, Loader=yaml.SafeLoader), path
