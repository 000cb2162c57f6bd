"""The harvest dashboard's actions and the ``ckan udp harvest`` commands: who
sees which source, runs with their counts and every error with its record and
reason, "run now", sources added from the command line."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.cli.cli import ckan as ckan_cli
from ckan.tests import factories
from harvestlib import make_source, run_job, sysadmin_context

CATALOG = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/c> a dcat:Catalog ; dcat:dataset <http://example.invalid/d/1>, [] .
<http://example.invalid/d/1> a dcat:Dataset ; dct:title "Baumkataster Nachbarstadt" ;
    dct:description "Alle Straßenbäume" .
[] a dcat:Dataset ; dct:title "Ohne Kennung" ; dct:description "x" ."""


def ctx(user: dict | None) -> dict:
    return {"user": user["name"] if user else "", "ignore_auth": False}


@pytest.fixture
def world(site):
    site.put("/katalog.ttl", CATALOG, "text/turtle")
    editor, outsider = factories.User(), factories.User()
    org = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    other = factories.Organization(users=[{"name": outsider["name"], "capacity": "admin"}])
    source = make_source(site.url("/katalog.ttl"), "udp_dcat", org, {"udp_workflow_state": "in_review"})
    return {"editor": editor, "outsider": outsider, "org": org, "other": other, "source": source}


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
class TestActions:
    def test_each_steward_sees_the_sources_of_their_organizations(self, world):
        run_job(world["source"])
        (mine,) = tk.get_action("udp_harvest_sources")(ctx(world["editor"]), {})
        assert mine["id"] == world["source"]["id"] and mine["new_dataset_state"] == "in_review"
        (last,) = mine["runs"]
        assert (last["status"], last["added"], last["errors"]) == ("Finished", 1, 1)
        assert tk.get_action("udp_harvest_sources")(ctx(world["outsider"]), {}) == []
        with pytest.raises(tk.NotAuthorized):
            tk.get_action("udp_harvest_sources")(ctx(None), {})

    def test_every_error_names_its_record_and_reason(self, world):
        run_job(world["source"])
        shown = tk.get_action("udp_harvest_source_runs")(ctx(world["editor"]), {"id": world["source"]["id"]})
        (error,) = shown["runs"][0]["error_list"]
        assert error["stage"] == "Gather" and "Ohne Kennung" in error["message"]
        assert error["record"].startswith(world["source"]["url"])
        for who in (world["outsider"], None):
            with pytest.raises(tk.NotAuthorized):
                tk.get_action("udp_harvest_source_runs")(ctx(who), {"id": world["source"]["id"]})
        with pytest.raises(tk.ObjectNotFound):
            tk.get_action("udp_harvest_source_runs")(ctx(world["editor"]), {"id": "gibt-es-nicht"})

    def test_run_now_queues_one_run_at_a_time(self, world):
        with pytest.raises(tk.NotAuthorized):
            tk.get_action("udp_harvest_run_now")(ctx(world["outsider"]), {"id": world["source"]["id"]})
        job = tk.get_action("udp_harvest_run_now")(ctx(world["editor"]), {"id": world["source"]["id"]})
        assert job["status"] == "Running"
        with pytest.raises(tk.ValidationError, match="already waiting|wartet bereits"):
            tk.get_action("udp_harvest_run_now")(ctx(world["editor"]), {"id": world["source"]["id"]})


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_sources_from_the_command_line(cli, site):
    site.put("/katalog.ttl", CATALOG, "text/turtle")
    factories.Organization(name="gartenbauamt")
    added = cli.invoke(
        ckan_cli,
        [
            "udp",
            "harvest",
            "add",
            "Bäume der Nachbarstadt",
            site.url("/katalog.ttl"),
            "--type",
            "udp_dcat",
            "--org",
            "gartenbauamt",
            "--state",
            "published",
        ],
    )
    assert added.exit_code == 0, added.output
    name = added.output.split()[1]
    ran = cli.invoke(ckan_cli, ["udp", "harvest", "run", name])
    assert ran.exit_code == 1 and "Ohne Kennung" in ran.output  # one record without identity: exit 1
    shown = tk.get_action("package_search")({"user": "", "ignore_auth": False}, {"q": "Baumkataster"})
    assert [d["title"] for d in shown["results"]] == ["Baumkataster Nachbarstadt"]  # published, public
    listed = cli.invoke(ckan_cli, ["udp", "harvest", "sources"])
    assert name in listed.output and "neu     1" in listed.output
    refused = cli.invoke(
        ckan_cli,
        ["udp", "harvest", "add", "Intern", "http://169.254.169.254/", "--type", "udp_dcat", "--org", "gartenbauamt"],
    )
    assert refused.exit_code != 0 and "url" in refused.output
    assert sysadmin_context()["ignore_auth"]
