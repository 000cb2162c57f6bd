"""An app on another origin reads the portal: a page served by a second local
HTTP server fetches the Action API, a sensor series as CSV and the DCAT
catalog in Chromium and gets data. With the session cookie of a logged-in
sysadmin in the same browser, a cross-origin write is neither readable nor
carried out, and a credentialed read is refused by the browser."""

from __future__ import annotations

import json
import uuid

import ckan.model as model
import ckan.plugins.toolkit as tk
from ckan.tests import factories
from udp_testing import sensor_series

APP_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>OK-Lab-App</title></head>
<body><main><h1>OK-Lab-App</h1><pre id="out">läuft</pre></main>
<script>
const portal = %(portal)s;
async function read(path, init) {
  try {
    const res = await fetch(portal + path, init || {});
    return {status: res.status, body: await res.text(), etag: res.headers.get("ETag")};
  } catch (e) { return {error: String(e)}; }
}
(async () => {
  const out = {};
  out.api = await read("/api/3/action/package_search?q=" + encodeURIComponent(%(title)s));
  out.csv = await read(%(csv)s);
  out.catalog = await read("/catalog.ttl");
  out.credentialed = await read("/api/3/action/package_search", {credentials: "include"});
  out.write = await read("/api/3/action/package_create", {
    method: "POST", credentials: "include", headers: {"Content-Type": "text/plain"},
    body: JSON.stringify({name: %(evil)s, title: "Von fremder Seite"})});
  document.getElementById("out").textContent = JSON.stringify(out);
  document.body.dataset.done = "1";
})();
</script></body></html>"""


def test_an_app_on_another_origin_reads_api_sensors_and_catalog(
    new_page, live_server, http_server, make_user, steps, tmp_path
):
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    org = factories.Organization()
    pkg = factories.Dataset(
        context={"user": site_user["name"], "ignore_auth": True, "udp_initial_state": "published"},
        owner_org=org["id"],
        title="Bodenfeuchte Friedrichsplatz Probe",
    )
    sensor_series(tmp_path, pkg)
    evil = f"fremd-{uuid.uuid4().hex[:8]}"
    html = APP_PAGE % {
        "portal": json.dumps(live_server.url),
        "title": json.dumps(pkg["title"]),
        "csv": json.dumps(
            f"/dataset/{pkg['name']}/sensors/observations.csv?from=2026-06-15T00:00:00Z&to=2026-06-16T00:00:00Z"
        ),
        "evil": json.dumps(evil),
    }
    http_server.responder = lambda path: (200, "text/html; charset=utf-8", html.encode())
    assert http_server.url.split(":")[-1] != live_server.url.split(":")[-1]  # another origin

    # a sysadmin is logged in to the portal in this browser
    admin = make_user(sysadmin=True)
    page = new_page(user=admin)
    page.goto(http_server.url + "/app.html")
    page.wait_for_selector("body[data-done='1']", timeout=60000)
    steps.shot(page, "app")
    out = json.loads(page.text_content("#out"))

    api = out["api"]
    assert api.get("status") == 200, api
    result = json.loads(api["body"])["result"]
    assert [d["name"] for d in result["results"]] == [pkg["name"]]

    csv = out["csv"]
    assert csv.get("status") == 200, csv
    lines = csv["body"].strip().splitlines()
    assert len(lines) == 4 and "bodenfeuchte" in lines[0], lines
    assert "20.5" in lines[1] and csv["etag"], csv  # ETag exposed to the app

    catalog = out["catalog"]
    assert catalog.get("status") == 200, catalog
    assert "dcat:Catalog" in catalog["body"] and pkg["name"] in catalog["body"]

    # cookies do not travel with a read to another origin: the browser refuses it
    assert "error" in out["credentialed"], out["credentialed"]
    # nor can the page read the answer of a write, and CKAN did not carry it out
    assert "error" in out["write"], out["write"]
    assert model.Session.query(model.Package).filter_by(name=evil).first() is None
