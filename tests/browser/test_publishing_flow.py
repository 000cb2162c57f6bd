"""The whole publishing flow in a real browser, at desktop width and at 375 px.

An editor logs in, creates a dataset with a German title and two city
districts, meets the validation errors of a missing title, an end before the
start and a bad web address at the right fields, cannot finish without data,
adds a CSV by upload and one by link with every optional field empty, and
submits it for review. A second person sends it back with a reason, which the
editor sees on the dashboard and the dataset page; the editor fixes it and
submits again; the reviewer approves. An anonymous visitor finds it by
search, sees the table preview from the DataStore (loaded by ckanext-xloader
on the job worker) and downloads the CSV.

axe-core checks every page of the flow (0 violations of any impact), the
workflow badges are checked for contrast >= 4.5:1, and every page must fit
the screen at 375 px.
"""

from __future__ import annotations

import re
import time
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from browserlib import assert_fits, axe_check
from ckan.tests import factories

TITLE = "Bäume in Durlach und der Nordstadt"
CSV_UPLOAD = "Baumart;Stadtteil;Anzahl\nSpitzahorn;Durlach;128\nWinterlinde;Nordstadt;96\n"
CSV_LINK = "Jahr,Neupflanzungen\n2023,340\n2024,412\n"


@pytest.fixture
def people(make_user) -> dict[str, Any]:
    editor = make_user(fullname="Erika Mustermann", email="erika@example.org")
    reviewer = make_user(fullname="Rolf Prüfer", email="rolf@example.org")
    org = factories.Organization(
        title="Gartenbauamt",
        users=[
            {"name": editor["name"], "capacity": "editor"},
            {"name": reviewer["name"], "capacity": "admin"},
        ],
    )
    admin = make_user(fullname="Sabine System", sysadmin=True)
    return {"editor": editor, "reviewer": reviewer, "admin": admin, "org": org}


def check(page: Any, what: str, steps: Any) -> None:
    """What every page of the flow must pass: axe, and no sideways scrolling."""
    page.wait_for_load_state("load")
    steps.shot(page, what)
    axe_check(page, what)
    assert_fits(page)


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def badge_contrasts(page: Any) -> list[tuple[str, float]]:
    """(text, contrast) of every workflow badge, from the computed colours
    (the background is the badge's own or the nearest opaque ancestor's)."""
    raw = page.evaluate("""() => [...document.querySelectorAll('.udp-badge, .udp-count')].map(el => {
        const parse = c => c.match(/[\\d.]+/g).map(Number);
        let bg = null, node = el;
        while (node) {
            const c = parse(getComputedStyle(node).backgroundColor);
            if (c.length < 4 || c[3] > 0.99) { bg = c; break; }
            node = node.parentElement;
        }
        return [el.textContent.trim(), parse(getComputedStyle(el).color), bg || [255, 255, 255]];
    })""")
    return [(text, contrast(tuple(fg), tuple(bg))) for text, fg, bg in raw]


def assert_badges_readable(page: Any) -> None:
    found = badge_contrasts(page)
    assert found, "no workflow badge on the page"
    low = [(text, round(ratio, 2)) for text, ratio in found if ratio < 4.5]
    assert not low, f"badges below 4.5:1 on {page.url}: {low}"


def submit(page: Any, button_name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button_name).click()


def error_at(page: Any, field_id: str) -> str:
    """The error shown next to a field (its form group's error text)."""
    group = page.locator(f"#{field_id}").locator(
        "xpath=ancestor::*[contains(@class,'form-group') or self::fieldset][1]"
    )
    return group.locator(".error-block").inner_text()


def wait_for_tables(page: Any, pkg_name: str, resource_ids: list[str], timeout: float = 180) -> None:
    """Until the job worker has loaded every table (the editor's resource page
    says so in German)."""
    deadline = time.monotonic() + timeout
    for rid in resource_ids:
        while True:
            page.goto(f"/dataset/{pkg_name}/resource/{rid}")
            status = page.locator(".udp-table-status")
            text = status.inner_text() if status.count() else ""
            if "Die Tabelle ist geladen" in text:
                break
            assert "konnte nicht gelesen werden" not in text, text
            assert time.monotonic() < deadline, f"table of {rid} not loaded: {text!r}"
            time.sleep(2)


def dataset(name: str) -> dict[str, Any]:
    return tk.get_action("package_show")({"ignore_auth": True}, {"id": name})


def test_publishing_flow(viewport, new_page, people, http_server, tmp_path, steps, live_server):
    mobile = viewport == "mobile"
    http_server.responder = lambda path: (
        (200, "text/csv; charset=utf-8", CSV_LINK.encode())
        if path.startswith("/neupflanzungen.csv")
        else (404, "text/plain", b"")
    )
    upload = tmp_path / "baumarten.csv"
    upload.write_text(CSV_UPLOAD, encoding="utf-8")

    # --- the editor creates a dataset: stage 1 with three errors ---------------
    editor = new_page(people["editor"], mobile=mobile)
    editor.goto("/dataset/new")
    check(editor, "stage 1, empty", steps)
    assert editor.locator("[name=private]").count() == 0  # the workflow decides, not a select
    editor.fill("#field-notes", "Standorte und Arten der Straßenbäume. Demodaten.")
    editor.locator("#section-space_time > summary").click()
    editor.get_by_label("Durlach", exact=True).check()
    editor.get_by_label("Nordstadt", exact=True).check()
    editor.fill("#field-temporal_coverage-0-start", "2024-12-31")
    editor.fill("#field-temporal_coverage-0-end", "2024-01-01")
    editor.locator("#section-more > summary").click()
    editor.fill("#field-url", "keine-adresse")
    submit(editor, "Weiter: Daten hinzufügen")

    check(editor, "stage 1 with errors", steps)
    summary = editor.locator("#udp-error-summary").inner_text()
    assert "Titel" in summary and "Ende" in summary and "Webseite zu den Daten" in summary, summary
    # the missing title is reported at the title only, not at the web address derived from it
    assert editor.locator("#udp-error-summary a[href='#field-name']").count() == 0
    assert "Fehlender Wert" in error_at(editor, "field-title")
    assert "Ende des Zeitraums" in error_at(editor, "field-temporal_coverage-0-end")
    assert "http" in error_at(editor, "field-url")
    assert editor.get_by_label("Durlach", exact=True).is_checked()  # nothing typed is lost
    editor.locator("#udp-error-summary a[href='#field-title']").click()
    assert (
        editor.evaluate("document.activeElement.id") == "field-title"
        or editor.evaluate("location.hash") == "#field-title"
    )

    editor.fill("#field-title", TITLE)
    editor.fill("#field-temporal_coverage-0-end", "2025-12-31")
    editor.fill("#field-url", "https://www.karlsruhe.de/baeume")
    submit(editor, "Weiter: Daten hinzufügen")

    # --- stage 2: no finishing without data, then a CSV upload and a CSV link --
    assert "/resource/new" in editor.url, editor.url
    name = editor.url.split("/dataset/")[1].split("/")[0]
    assert name == "baeume-in-durlach-und-der-nordstadt"
    check(editor, "stage 2, empty", steps)
    submit(editor, "Fertig: als Entwurf speichern")
    assert (
        "Ohne Daten kann ein Datensatz nicht fertiggestellt werden" in editor.locator("#udp-error-summary").inner_text()
    )
    check(editor, "stage 2, finish without data", steps)
    assert dataset(name)["state"] == "draft"

    editor.get_by_role("button", name="Hochladen").click() if editor.locator(
        "#resource-upload-button"
    ).is_visible() else None
    editor.set_input_files("#field-resource-upload", str(upload))
    submit(editor, "Speichern & weitere hinzufügen")
    assert "/resource/new" in editor.url
    editor.locator("#resource-link-button").click()
    editor.fill("#field-resource-url", f"{http_server.url}/neupflanzungen.csv")
    submit(editor, "Fertig: als Entwurf speichern")

    pkg = dataset(name)
    assert pkg["state"] == "active" and len(pkg["resources"]) == 2
    assert pkg["stadtteile"] == ["19", "27"] and pkg["spatial_coverage"][0]["source"] == "stadtteile"
    assert all(r["format"].endswith("/CSV") for r in pkg["resources"])  # guessed from the name
    check(editor, "dataset page, draft", steps)
    assert "Entwurf" in editor.locator(".udp-governance").inner_text()
    assert_badges_readable(editor)

    wait_for_tables(editor, name, [r["id"] for r in pkg["resources"]])
    check(editor, "resource page, table loaded (editor)", steps)

    editor.goto(f"/dataset/{name}/qualitaet")
    check(editor, "quality tab", steps)
    # findings about values the portal sets: a sysadmin's section, not the steward's
    assert editor.locator(".udp-portal-findings").count() == 0
    assert "betreffen Werte, die das Portal setzt" in editor.locator(".udp-portal-findings-note").inner_text()
    admin = new_page(people["admin"], mobile=mobile)
    admin.goto(f"/dataset/{name}/qualitaet")
    check(admin, "quality tab (sysadmin)", steps)
    assert "politicalGeocodingURI" in admin.locator(".udp-portal-findings").inner_text()

    editor.goto(f"/dataset/{name}")
    submit(editor, "Zur Prüfung einreichen")
    editor.goto("/dashboard/governance")
    check(editor, "dashboard, submitted", steps)
    assert TITLE in editor.locator("#udp-my_in_review").inner_text()
    assert_badges_readable(editor)

    # --- a second person sends it back with a reason ----------------------------
    reviewer = new_page(people["reviewer"], mobile=mobile)
    reviewer.goto("/dashboard/governance")
    check(reviewer, "reviewer dashboard", steps)
    reviewer.locator("#udp-to_review").get_by_role("link", name=TITLE).click()
    reviewer.wait_for_load_state()
    check(reviewer, "dataset page, reviewer", steps)
    reason = "Bitte die Quelle der Zählung in der Beschreibung nennen."
    reviewer.get_by_label("Begründung").first.fill(reason)
    submit(reviewer, "Ablehnen")

    editor.goto("/dashboard/governance")
    check(editor, "dashboard, sent back", steps)
    assert reason in editor.locator("#udp-rejected").inner_text()
    editor.goto(f"/dataset/{name}")
    check(editor, "dataset page, sent back", steps)
    assert reason in editor.locator(".udp-rejection").inner_text()
    audit = editor.locator(".udp-audit").inner_text()
    assert "Zur Prüfung eingereicht" in audit and "Zurückgewiesen" in audit
    assert not re.search(r"\b(submit|reject|create)\b", audit)
    assert re.search(r"\d{2}\.\d{2}\.\d{2,4}", audit), audit  # German dates

    # --- the editor fixes it and submits again; the reviewer approves ---------
    editor.goto(f"/dataset/edit/{name}")
    check(editor, "edit form", steps)
    editor.fill("#field-notes", "Standorte und Arten der Straßenbäume, Zählung des Gartenbauamts 2024. Demodaten.")
    submit(editor, "Änderungen speichern")
    submit(editor, "Zur Prüfung einreichen")
    reviewer.goto(f"/dataset/{name}")
    submit(reviewer, "Freigeben")
    assert "Veröffentlicht" in reviewer.locator(".udp-governance").inner_text()
    assert_badges_readable(reviewer)

    # --- an anonymous visitor finds it, sees the preview, downloads the CSV ----
    visitor = new_page(mobile=mobile)
    visitor.goto("/dataset/?q=B%C3%A4ume+Durlach")
    check(visitor, "search", steps)
    visitor.get_by_role("link", name=TITLE).first.click()
    visitor.wait_for_load_state()
    check(visitor, "dataset page, anonymous", steps)
    csv = next(r for r in dataset(name)["resources"] if r.get("url_type") == "upload")
    visitor.goto(f"/dataset/{name}/resource/{csv['id']}")
    check(visitor, "resource page, anonymous", steps)
    preview = visitor.frame_locator("iframe").first
    assert "Spitzahorn" in preview.locator("#dtprv").inner_text(timeout=30_000)  # rows from the DataStore
    with visitor.expect_download() as download:
        visitor.locator("a.resource-url-analytics").first.click()
    assert download.value.path().read_text(encoding="utf-8").replace("\r\n", "\n") == CSV_UPLOAD

    # the preview is a page of its own in the frame: axe does not enter frames
    visitor.goto(visitor.locator("iframe").first.get_attribute("src"))
    visitor.locator("#dtprv tbody tr").first.wait_for()
    check(visitor, "table preview", steps)
