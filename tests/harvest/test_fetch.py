"""The defensive fetch module and the SSRF guard (issue 11): source URLs that
point at private, loopback or link-local addresses are refused unless
allow-listed (test.ini allows 127.0.0.1) - when a source is saved and again
on every request, after DNS resolution (a name that later resolves elsewhere
is caught) and on redirects."""

from __future__ import annotations

import json
import socket
import time

import ckan.model as model
import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckanext.dcat.harvesters import DCATRDFHarvester
from harvestlib import make_source, run_job

from ckanext.udp import fetch
from ckanext.udp.harvesters.dcat import DcatApDeHarvester
from ckanext.udp.sensorthings.harvester import SensorThingsHarvester

LOCAL = fetch.Policy(allowed_networks=fetch.parse_networks("127.0.0.1"))
TURTLE = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://example.invalid/d/1> a dcat:Dataset ; dct:title "Eins" ; dct:description "Eins" ."""


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1/",
        "/etc/passwd",
        "http:///nohost",
        "http://10.0.0.1/",
        "http://192.168.1.20/catalog",
        "http://172.16.0.5/",
        "http://169.254.169.254/latest/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://user:pw@127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
    ],
)
def test_refused_urls(url):
    with pytest.raises(fetch.FetchError):
        fetch.check_url(url, fetch.Policy())


def test_loopback_only_when_allow_listed(site):
    site.put("/x", b"hallo", "text/plain")
    with pytest.raises(fetch.UnsafeURL, match="127.0.0.1"):
        fetch.fetch(site.url("/x"), policy=fetch.Policy())
    assert site.requests == []  # refused before connecting
    assert fetch.fetch(site.url("/x"), policy=LOCAL).content == b"hallo"


def test_the_address_is_checked_when_connecting_not_only_when_saved(site, monkeypatch):
    """DNS rebinding: the name resolves to a public address when the source is
    checked and to a private one when it is fetched."""
    real = socket.getaddrinfo
    answers = {"quelle.test": "93.184.216.34"}

    def resolver(host, port, *args, **kwargs):
        if host in answers:
            return real(answers[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    site.put("/x", b"hallo", "text/plain")
    port = site.base.rsplit(":", 1)[1]
    url = f"http://quelle.test:{port}/x"
    fetch.check_url(url, LOCAL)  # public: the source may be saved
    answers["quelle.test"] = "10.20.30.40"
    with pytest.raises(fetch.UnsafeURL, match="10.20.30.40"):
        fetch.fetch(url, policy=LOCAL)
    answers["quelle.test"] = "127.0.0.1"  # the same path reaches the server when allowed
    assert fetch.fetch(url, policy=LOCAL).content == b"hallo"
    assert site.requests == ["/x"]


def test_redirects_stay_on_the_source(site):
    site.put("/a", b"", status=302, headers={"Location": "/b"})
    site.put("/b", b"ziel", "text/plain")
    assert fetch.fetch(site.url("/a"), policy=LOCAL).content == b"ziel"
    port = site.base.rsplit(":", 1)[1]
    site.put("/c", b"", status=302, headers={"Location": f"http://localhost:{port}/b"})
    site.put("/d", b"", status=307, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    for path in ("/c", "/d"):
        with pytest.raises(fetch.UnsafeURL, match="redirect"):
            fetch.fetch(site.url(path), policy=LOCAL)
    site.put("/loop", b"", status=302, headers={"Location": "/loop"})
    with pytest.raises(fetch.FetchError, match="redirects"):
        fetch.fetch(site.url("/loop"), policy=LOCAL)


def test_size_cap_deadline_and_read_timeout(site):
    site.put("/big", b"x" * 100_000, "text/plain")
    with pytest.raises(fetch.TooLarge):
        fetch.fetch(site.url("/big"), policy=LOCAL.but(max_bytes=50_000))
    site.put("/slow", b"x" * 100, "text/plain", trickle=0.1)
    started = time.monotonic()
    with pytest.raises(fetch.Timeout, match="within 1 s"):
        fetch.fetch(site.url("/slow"), policy=LOCAL.but(deadline=1))
    site.put("/hang", b"", hang=True)
    with pytest.raises(fetch.Timeout):
        fetch.fetch(site.url("/hang"), policy=LOCAL.but(read_timeout=1))
    assert time.monotonic() - started < 10
    site.put("/gone", b"", status=404)
    with pytest.raises(fetch.HTTPStatusError, match="404"):
        fetch.fetch(site.url("/gone"), policy=LOCAL)


@pytest.mark.usefixtures("with_plugins", "clean_db")
class TestSources:
    @pytest.mark.parametrize("source_type", ["udp_dcat", "sensorthings", "dcat_rdf"])
    def test_a_source_pointing_inside_is_refused_when_saved(self, org, source_type):
        """Anchor (stock DCATRDFHarvester): a non-http source URL is read from local disk."""
        for url in (
            "file:///etc/passwd",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/catalog.ttl",
            "http://[::1]/x",
        ):
            with pytest.raises(tk.ValidationError) as err:
                make_source(url, source_type, org)
            assert "url" in err.value.error_dict, url

    @pytest.mark.parametrize(
        "harvester",
        [DcatApDeHarvester(), SensorThingsHarvester(), DCATRDFHarvester()],
        ids=["udp_dcat", "sensorthings", "dcat_rdf"],
    )
    def test_the_allow_list_is_checked_again_when_fetching(self, site, org, harvester, ckan_config, monkeypatch):
        site.put("/p1", TURTLE, "text/turtle")
        source = make_source(
            site.url("/p1"),
            harvester.info()["name"],
            org,
            {"rdf_format": "turtle"} if harvester.info()["name"] != "sensorthings" else {},
        )
        monkeypatch.setitem(ckan_config, "ckanext.udp.fetch.allowed_networks", "")
        run = run_job(source, harvester)
        assert site.requests == []
        assert len(run.gather_errors) == 1 and "127.0.0.1" in run.gather_errors[0]

    def test_a_local_file_url_written_past_the_form_is_not_read(self, site, org):
        site.put("/p1", TURTLE, "text/turtle")
        source = make_source(site.url("/p1"), "udp_dcat", org)
        model.Session.execute(
            sa.text("UPDATE harvest_source SET url = 'file:///etc/passwd' WHERE id = :id"), {"id": source["id"]}
        )
        model.Session.execute(
            sa.text("UPDATE package SET url = 'file:///etc/passwd' WHERE id = :id"), {"id": source["id"]}
        )
        model.Session.commit()
        run = run_job(source, DcatApDeHarvester())
        assert len(run.gather_errors) == 1 and "file" in run.gather_errors[0]
        assert "root:" not in json.dumps(run.errors)
