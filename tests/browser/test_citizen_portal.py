"""The citizen portal as anonymous visitors use it (issue 13, items 6-7):
every page passes axe (WCAG 2.1 AA) and fits a 375 px screen, focus is
visible, skip links lead to the content and the results, the footer leads to
the legal pages and the developer links, nothing is requested from a third
party, and a crawl from the home page finds no broken link and no English UI
string.

One world per module: the demo portal (``ckan udp demo load``), loaded once
into the test databases that the live server reads."""

from __future__ import annotations

import collections
import html.parser
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
import pytest
from browserlib import assert_fits, axe_check, axe_results, format_violations

from ckanext.udp.portal import demo

LEGAL_PAGES = ["/impressum", "/datenschutz", "/barrierefreiheit"]

# English UI strings a German visitor must not meet (those issue 13 found,
# and CKAN's stock labels that come with them)
ENGLISH = [
    "Datastore active",
    "Has views",
    "Mimetype",
    "State active",
    "Filter by",
    "Navigate to dataset",
    "Remove applied filter",
    "There are currently no groups",
    "Skip to main content",
    "Search datasets",
    "Powered by",
    "Last Updated",
    "Created",
    "License",
    "Explore",
]
# a label and its value in two cells of a table row
ACROSS_NODES = {"State active", "Datastore active", "Has views"}
# awkward stock German the issue names
AWKWARD = ["Suchdaten", "Entdecke", "1 Mitglieder"]

# pages of the other engineers of issue 13 (dataset and resource pages:
# engineer A's dataset page, engineer B's previews); their findings are
# listed, not failed, until those branches are merged
# links to pages another branch of this session builds: expected to answer
# 404 until it is merged (the coordinator removes the entry then)
PENDING: dict[str, str] = {}  # paths whose broken links another branch is to fix (none since the merge)

# a picture on another host (loopback, so nothing leaves the machine, but not
# the portal's 127.0.0.1): the organisation's and the group's image_url
REMOTE_IMAGE = "http://127.0.0.2:9/logo.png"
ORG = "umwelt-und-arbeitsschutz"
GROUP = "klima-und-umwelt"
DATASET = "luftqualitaet-tagesmittel"


@pytest.fixture(scope="module")
def demo_site(reset_db: Any, reset_index: Any, live_server: Any) -> Iterator[Any]:
    p.load_all()  # the plugins' migrations and actions
    try:
        reset_db()
        reset_index()
        demo.load()
        site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
        context = {"ignore_auth": True, "user": site_user}
        tk.get_action("organization_patch")(dict(context), {"id": ORG, "image_url": REMOTE_IMAGE})
        group = tk.get_action("group_create")(
            dict(context),
            {
                "name": GROUP,
                "title": "Klima und Umwelt",
                "description": "Daten zu Klima und Umwelt.",
                "image_url": REMOTE_IMAGE,
            },
        )
        tk.get_action("member_create")(
            dict(context), {"id": group["id"], "object": DATASET, "object_type": "package", "capacity": "public"}
        )
    finally:
        p.unload_all()
    yield live_server


@pytest.fixture
def _clean_portal() -> None:
    """The module's tests share the demo world of ``demo_site``."""


def _pages(site: Any) -> list[tuple[str, str]]:
    """(name, path) of every page this module checks."""
    org = ORG
    return [
        ("Startseite", "/"),
        ("Suche", "/dataset/"),
        ("Suche mit Begriff", "/dataset/?q=B%C3%A4ume"),
        ("Suche mit Facetten", f"/dataset/?organization={org}&tags=Umwelt"),
        ("Organisationen", "/organization/"),
        ("Organisation", f"/organization/{org}"),
        ("Über", "/about"),
        ("Anmelden", "/user/login"),
        ("Datensatz", f"/dataset/{DATASET}"),
        ("Gruppen", "/group/"),
        ("Gruppe", f"/group/{GROUP}"),
        *[(path.strip("/"), path) for path in LEGAL_PAGES],
    ]


# axe rules checked by name besides the WCAG tags: label-content-name-mismatch
# is tagged "experimental" and so left out of a run by tags; issue 13 found it
# on the search and organisation pages
EXTRA_RULES = ["label-content-name-mismatch", "link-in-text-block", "color-contrast"]


def _extra_axe(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(
        "rules => axe.run(document, {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']})"
        ".then(r => r.violations)",
        EXTRA_RULES,
    )


def _record_foreign_requests(page: Any, seen: list[str]) -> None:
    def note(request: Any) -> None:
        host = urllib.parse.urlsplit(request.url).hostname
        if request.url.startswith(("data:", "blob:", "about:")):
            return
        if host not in ("127.0.0.1", "localhost"):
            seen.append(request.url)

    page.on("request", note)


def test_every_page_passes_axe_fits_375px_and_asks_no_third_party(demo_site, new_page, steps):
    desktop, mobile = new_page(), new_page(mobile=True)
    foreign: list[str] = []
    _record_foreign_requests(desktop, foreign)
    _record_foreign_requests(mobile, foreign)
    problems = []
    for name, path in _pages(demo_site):
        answer = desktop.goto(path)
        if answer is None or answer.status != 200:
            problems.append(f"{name} {path}: HTTP {answer.status if answer else '-'}")
            continue
        violations = axe_results(desktop)["violations"]
        violations += [v for v in _extra_axe(desktop) if v["id"] not in {w["id"] for w in violations}]
        if violations:
            problems.append(f"axe on {name} {path}:\n" + format_violations(violations))
        mobile.goto(path)
        try:
            assert_fits(mobile)
        except AssertionError as error:
            steps.shot(mobile, f"zu-breit-{name}")
            problems.append(f"375 px: {error}")
    assert not foreign, f"requests to third parties: {sorted(set(foreign))[:10]}"
    assert not problems, "\n".join(problems)


def test_user_pages_load_no_avatar_from_a_third_party(demo_site, new_page, make_user):
    user = make_user(email="buerger@example.org")
    page = new_page(user)
    foreign: list[str] = []
    _record_foreign_requests(page, foreign)
    for path in (f"/user/{user['name']}", "/user/", "/dashboard/datasets"):
        page.goto(path)
    page.goto("/organization/umwelt-und-arbeitsschutz")
    assert not foreign, f"requests to third parties: {sorted(set(foreign))[:10]}"
    assert "gravatar" not in page.content()


def _focus_ring(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return {outline: s.outlineStyle + ' ' + s.outlineWidth, shadow: s.boxShadow,
                           tag: document.activeElement.tagName, id: document.activeElement.id}; }"""
    )


def test_keyboard_skip_links_and_visible_focus(demo_site, page, steps):
    # the header search shows where the focus is (it had none)
    page.goto("/")
    search = page.locator(".masthead input[type=search], .masthead input[name=q]").first
    search.focus()
    ring = _focus_ring(page)
    assert ring["outline"].startswith("solid") and ring["outline"] != "solid 0px", ring
    # every focusable element of the home page shows a ring when tabbed to
    page.evaluate("() => document.activeElement.blur()")
    without = []
    for _ in range(40):
        page.keyboard.press("Tab")
        ring = _focus_ring(page)
        if ring["tag"] == "BODY":
            break
        if not ring["outline"].startswith("solid") or ring["outline"] == "solid 0px":
            without.append(ring)
    assert not without, f"focus not visible on: {without[:5]}"

    # the search page: a skip link to the content, then one to the results
    page.goto("/dataset/")
    page.keyboard.press("Tab")
    first = page.evaluate("() => [document.activeElement.textContent.trim(), document.activeElement.hash]")
    assert first == ["Zum Hauptinhalt springen", "#content"], first
    page.keyboard.press("Tab")
    second = page.evaluate("() => [document.activeElement.textContent.trim(), document.activeElement.hash]")
    assert second == ["Zu den Suchergebnissen springen", "#ergebnisse"], second
    assert page.locator("a[href='#ergebnisse']").is_visible(), "the focused skip link is shown"
    steps.shot(page, "skip-link")
    if not page.locator("#ergebnisse").count():
        pytest.xfail("the results container id=ergebnisse comes with engineer A's branch (issue 13, items 1-3)")
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#ergebnisse"


def test_footer_legal_pages_alternates_and_members_tab(demo_site, page):
    page.goto("/")
    footer = page.locator("footer")
    links = {a.inner_text().strip(): a.get_attribute("href") for a in footer.locator("a").all()}
    for label in ("Impressum", "Datenschutz", "Erklärung zur Barrierefreiheit", "Für Entwickler", "Action-API"):
        assert label in links, (label, links)
    assert links["Für Entwickler"] == "/entwickler"
    assert links["Impressum"] == "/impressum"
    assert any(href.startswith("/catalog.") for href in links.values() if href), links
    # the accessibility statement as German public bodies publish it
    page.goto("/barrierefreiheit")
    text = page.locator("main, #content").first.inner_text()
    for part in (
        "Stand der Vereinbarkeit",
        "Nicht barrierefreie Inhalte",
        "Feedback und Kontakt",
        "Durchsetzungsverfahren",
    ):
        assert part in text, part
    assert page.locator("#content a[href^='mailto:']").count(), "a feedback contact"
    assert "Demo" in text, "the demo text says it is the city's to fill in"
    # every alternate announced in <head> answers 200 (/catalog.n3 was 404)
    for path in ("/", "/dataset/", "/organization/umwelt-und-arbeitsschutz"):
        page.goto(path)
        for href in page.eval_on_selector_all("link[rel=alternate]", "ls => ls.map(l => l.href)"):
            status = _status(href)
            assert status == 200, f"{path} announces {href}, which answers {status}"
    # no "Mitglieder" tab for those the members page refuses (anonymous: 403)
    page.goto("/organization/umwelt-und-arbeitsschutz")
    assert _status(demo_site.url + "/organization/members/umwelt-und-arbeitsschutz") == 403
    assert page.locator("a[href*='/organization/members/']").count() == 0


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


# --- the crawl ---------------------------------------------------------------


class _Links(html.parser.HTMLParser):
    """Links, and the text and labels a person meets, of one HTML page."""

    SKIP = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in self.SKIP:
            self.skipping += 1
        for attr in ("href", "src"):
            if values.get(attr) and tag in ("a", "link", "img", "script", "iframe", "form"):
                self.links.append(values[attr] or "")
        for attr in ("aria-label", "title", "placeholder", "alt"):
            if values.get(attr):
                self.text.append(values[attr] or "")
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.text.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.text.append(data)


def _strings_found(pieces: list[str]) -> list[str]:
    """The listed strings in the page's text nodes and labels, each node on its
    own (joined, "Follower 1" and "Mitglieder 1" would read "1 Mitglieder");
    label and value of a table row ("State" | "active") also joined."""
    nodes = [" ".join(piece.split()) for piece in pieces]
    joined = " ".join(nodes)
    found = []
    for string in ENGLISH + AWKWARD:
        pattern = re.compile(rf"(?<![\w-]){re.escape(string)}(?![\w-])")
        where = [joined] if string in ACROSS_NODES else nodes
        if any(pattern.search(text) for text in where):
            found.append(string)
    return found


def _fetch(url: str) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept-Language": "de-DE,de"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            kind = answer.headers.get("Content-Type", "")
            body = answer.read(3_000_000).decode("utf-8", "replace") if "html" in kind else ""
            return answer.status, kind, body
    except urllib.error.HTTPError as error:
        return error.code, "", ""


def _crawl(
    root: str, depth: int = 3, limit: int = 1000, variants: int = 4
) -> tuple[dict[str, int], dict[str, list[str]], dict[str, str], int]:
    """Breadth-first from the home page, same origin, at most ``depth`` clicks
    and ``limit`` addresses, at most ``variants`` query strings per path (facet
    and sort links multiply without end). Returns status per address, English strings per
    page, where each address was found, and how many found addresses were left
    unvisited when ``limit`` was reached (0: the crawl reached every address
    within ``depth`` clicks)."""
    origin = urllib.parse.urlsplit(root)
    status: dict[str, int] = {}
    english: dict[str, list[str]] = {}
    found_on: dict[str, str] = {}
    per_path: collections.Counter[str] = collections.Counter()
    queue = collections.deque([(root + "/", 0)])
    while queue and len(status) < limit:
        url, level = queue.popleft()
        if url in status:
            continue
        code, kind, body = _fetch(url)
        status[url] = code
        path = urllib.parse.urlsplit(url).path
        if code != 200 or "html" not in kind or path.startswith("/en/"):
            continue  # the English version is English on purpose
        parser = _Links()
        parser.feed(body)
        hits = _strings_found(parser.text)
        if hits:
            english[url] = hits
        if level >= depth:
            continue
        for href in parser.links:
            target = urllib.parse.urljoin(url, href).split("#")[0]
            parts = urllib.parse.urlsplit(target)
            if parts.scheme not in ("http", "https") or parts.netloc != origin.netloc:
                continue
            if target in found_on or target in status:
                continue
            if parts.query:
                per_path[parts.path] += 1
                if per_path[parts.path] > variants:
                    continue
            found_on[target] = url
            queue.append((target, level + 1))
    return status, english, found_on, sum(1 for url, _ in queue if url not in status)


def test_crawl_from_the_home_page_finds_no_broken_link_and_no_english(demo_site):
    status, english, found_on, unvisited = _crawl(demo_site.url)
    assert len(status) > 30, f"the crawl reached only {len(status)} addresses"
    # the whole site within three clicks, not the first addresses up to a limit
    assert not unvisited, f"{unvisited} addresses within 3 clicks left unvisited after {len(status)}"
    broken = {url: code for url, code in status.items() if code >= 400}
    pending = {url: code for url, code in broken.items() if urllib.parse.urlsplit(url).path in PENDING}
    broken = {url: code for url, code in broken.items() if url not in pending}
    assert not broken, "broken links:\n" + "\n".join(
        f"{code} {url} (linked from {found_on.get(url, '-')})" for url, code in sorted(broken.items())
    )
    assert not english, "English or awkward strings:\n" + "\n".join(f"{url}: {hits}" for url, hits in english.items())
    assert not pending, f"broken links on pages still pending: {sorted(pending)}"


def _tab_to(page: Any, matches: str, limit: int = 80) -> dict[str, Any]:
    """Press Tab until the focused element matches the JS predicate ``matches``
    (on ``el``); fails after ``limit`` presses."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!(el && ({matches})); }}"):
            return page.evaluate(
                "() => ({tag: document.activeElement.tagName, text: document.activeElement.textContent.trim()})"
            )
    raise AssertionError(f"Tab never reached an element with {matches}")


def test_filters_on_a_phone_by_keyboard_only(demo_site, mobile_page, steps):
    page = mobile_page
    page.goto("/dataset/")
    # CKAN's <a> controls without href are gone; ours are buttons with German names
    assert page.locator(".show-filters, .hide-filters").count() == 0
    opener = page.get_by_role("button", name="Ergebnisse filtern")
    assert opener.get_attribute("aria-expanded") == "false"
    assert opener.get_attribute("aria-controls") == "search-facets"
    assert not page.locator("#search-facets").is_visible()
    # open the filters by keyboard: the focus moves into the layer, onto its close button
    _tab_to(page, "el.classList.contains('udp-show-filters')")
    page.keyboard.press("Enter")
    assert opener.get_attribute("aria-expanded") == "true"
    assert page.locator("#search-facets").is_visible()
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Filter schließen"
    # the open layer is a modal dialog, named by its heading
    dialog = page.get_by_role("dialog", name="Ergebnisse filtern")
    assert dialog.count() == 1 and dialog.get_attribute("aria-modal") == "true"
    assert dialog.get_attribute("id") == "search-facets"
    # the focus stays inside it: Tab past the last control wraps to the first,
    # Shift+Tab from the first to the last (the page behind is not reached)
    inside = "() => !!document.activeElement.closest('#search-facets')"
    visited = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        assert page.evaluate(inside), "Tab left the open filter dialog"
        text = page.evaluate("() => document.activeElement.textContent.trim()")
        if text == "Filter schließen":
            break
        visited.add(text)
    else:
        raise AssertionError("Tab never came back round to the dialog's first control")
    assert len(visited) >= 5, visited
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(inside), "Shift+Tab left the open filter dialog"
    assert page.evaluate("() => document.activeElement.textContent.trim()") != "Filter schließen"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Filter schließen"
    steps.shot(page, "filter-offen-375")
    axe_check(page, "search filters open on a phone")
    # Escape closes them and gives the focus back to the opener
    page.keyboard.press("Escape")
    assert opener.get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => document.activeElement.classList.contains('udp-show-filters')")
    assert page.get_by_role("dialog").count() == 0, "closed, the filters are no dialog"
    # the close button does the same
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert opener.get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => document.activeElement.classList.contains('udp-show-filters')")
    # choose a district: open the filters, the "Stadtteile" facet, then "Durlach"
    page.keyboard.press("Enter")
    _tab_to(page, "el.tagName === 'SUMMARY' && el.textContent.includes('Stadtteile')")
    page.keyboard.press("Enter")
    _tab_to(page, "el.tagName === 'A' && el.closest('#search-facets') && el.textContent.includes('Durlach')")
    page.keyboard.press("Enter")
    page.wait_for_url("**vocab_stadtteile=Durlach**")
    page.wait_for_function("() => !document.body.classList.contains('filters-modal')")
    results = page.locator("#ergebnisse .dataset-item")
    results.first.wait_for()
    assert results.count() >= 5
    assert "Baumkataster" in page.locator("#ergebnisse").inner_text()
    # the focus is on the results heading (the result count), the layer is
    # closed, and the chosen filter shows
    focused = page.evaluate(
        "() => ({tag: document.activeElement.tagName, text: document.activeElement.textContent.trim(),"
        " inResults: !!document.activeElement.closest('#ergebnisse')})"
    )
    assert focused["tag"] == "H1" and focused["inResults"], focused
    assert re.search(r"\d+ Datens.tze gefunden", focused["text"]), focused
    assert opener.get_attribute("aria-expanded") == "false"
    assert "Durlach" in page.locator(".filter-list").inner_text()
    steps.shot(page, "filter-durlach-375")
    assert_fits(page)
    # the format badges are on the page, so axe's color-contrast rule (WCAG 2.1 AA) checks them too
    assert page.locator("#ergebnisse .udp-format-badge[data-format]").count() >= 5
    axe_check(page, "search results filtered on a phone")
