"""One URL rule for every URL field: a web address (http, https) or, where a
file can be uploaded, a file name; javascript: and every other scheme refused."""

from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from govworld import World, act

from ckanext.udp.urlrule import url_problem

HOSTILE = [
    "javascript:alert(4)",
    "JaVaScRiPt:alert(4)",
    " javascript:alert(4)",
    "java\tscript:alert(4)",
    "data:text/html,<script>alert(4)</script>",
    "vbscript:msgbox(4)",
    "file:///etc/passwd",
    "javascript://example.org/%0aalert(4)",
]
FINE = ["https://www.karlsruhe.de/daten.csv", "http://example.org/a?b=c#d"]


@pytest.mark.parametrize("value", HOSTILE)
def test_the_rule_refuses_other_schemes(value: str):
    assert url_problem(value) is not None
    assert url_problem(value, relative_ok=True) is not None


@pytest.mark.parametrize("value", FINE)
def test_the_rule_takes_web_addresses(value: str):
    assert url_problem(value) is None


def test_file_names_only_where_files_are_uploaded():
    assert url_problem("spielplaetze.csv", relative_ok=True) is None
    assert url_problem("spielplaetze.csv") is not None
    assert url_problem("//evil.invalid/x", relative_ok=True) is not None


class TestFields:
    @pytest.mark.parametrize("value", HOSTILE[:3])
    def test_resource_url(self, world: World, value: str):
        with pytest.raises(tk.ValidationError):
            world.dataset(resources=[{"url": value, "name": "Daten"}])
        pkg = world.dataset(resources=[{"url": FINE[0], "name": "Daten"}])
        with pytest.raises(tk.ValidationError):
            act(world.editor, "resource_create", package_id=pkg["id"], url=value, name="x")
        with pytest.raises(tk.ValidationError):
            act(world.editor, "resource_patch", id=pkg["resources"][0]["id"], url=value)
        assert act(world.editor, "package_show", id=pkg["id"])["resources"][0]["url"] == FINE[0]

    def test_the_rdf_never_carries_such_a_url(self, app, world: World):
        pkg = world.published(resources=[{"url": FINE[0], "name": "Daten"}])
        with pytest.raises(tk.ValidationError):
            act(world.editor, "resource_patch", id=pkg["resources"][0]["id"], url=HOSTILE[0])
        assert "javascript" not in app.get(f"/dataset/{pkg['id']}.ttl").get_data(as_text=True)

    def test_dataset_landing_page(self, world: World):
        with pytest.raises(tk.ValidationError) as err:
            world.dataset(url=HOSTILE[0])
        assert "url" in err.value.error_dict

    def test_resource_view_image_url(self, world: World):
        pkg = world.dataset(resources=[{"url": FINE[0], "name": "Bild"}])
        with pytest.raises(tk.ValidationError) as err:
            act(
                world.editor,
                "resource_view_create",
                resource_id=pkg["resources"][0]["id"],
                view_type="image_view",
                title="Bild",
                image_url=HOSTILE[0],
            )
        assert "image_url" in err.value.error_dict

    def test_organization_and_group_images(self, world: World):
        with pytest.raises(tk.ValidationError):
            act(world.admin, "organization_patch", id=world.org["id"], image_url=HOSTILE[1])
        with pytest.raises(tk.ValidationError):
            act(world.sysadmin, "group_create", name="gruppe", image_url=HOSTILE[4])
        act(world.admin, "organization_patch", id=world.org["id"], image_url="logo.png")  # an uploaded file

    def test_user_image(self, world: World):
        user = factories.User()
        with pytest.raises(tk.ValidationError):
            act(user, "user_patch", id=user["id"], image_url=HOSTILE[0])

    def test_harvest_source_url(self, world: World):
        with pytest.raises(tk.ValidationError) as err:
            act(
                world.admin,
                "harvest_source_create",
                name="quelle",
                title="Quelle",
                url=HOSTILE[0],
                source_type="dcat_rdf",
                owner_org=world.org["id"],
                config=json.dumps({}),
            )
        assert "url" in err.value.error_dict

    def test_a_local_folder_only_for_a_harvester_that_confines_it(self, world: World, tmp_path, monkeypatch):
        # the file-drop harvester says it confines folder URLs itself (local_folder_urls) and does:
        # a folder inside its allowed folders is taken, one outside refused; other harvesters get the URL rule
        monkeypatch.setitem(tk.config, "ckanext.udp.filedrop.allowed_dirs", str(tmp_path))
        (tmp_path / "ablage").mkdir()
        source = dict(title="Ablage", owner_org=world.org["id"], config=json.dumps({}), frequency="MANUAL")
        made = act(
            world.admin,
            "harvest_source_create",
            name="ablage",
            url=f"file://{tmp_path}/ablage",
            source_type="udp_filedrop",
            **source,
        )
        assert made["url"] == f"file://{tmp_path}/ablage"
        for name, url, source_type in (
            ("draussen", "file:///etc", "udp_filedrop"),
            ("anders", f"file://{tmp_path}/ablage", "udp_dcat"),
        ):
            with pytest.raises(tk.ValidationError) as err:
                act(world.admin, "harvest_source_create", name=name, url=url, source_type=source_type, **source)
            assert "url" in err.value.error_dict
