"""Helpers of the browser tests (fixtures are in conftest.py): failure
screenshots, logging in through the form, axe-core checks."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
from typing import Any

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
STATE = pathlib.Path(os.environ.get("UDP_STATE", REPO / ".udp"))
ARTIFACTS = STATE / "browser-artifacts"
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


class Steps:
    """Screenshots of the steps of one test, written out only if it fails."""

    def __init__(self) -> None:
        self.shots: list[tuple[str, bytes]] = []
        self.pages: list[tuple[str, Any]] = []
        self.contexts: list[Any] = []

    def shot(self, page: Any, name: str) -> None:
        self.shots.append((name, page.screenshot(full_page=True)))

    def dump(self, folder: pathlib.Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for i, (name, png) in enumerate(self.shots, 1):
            (folder / f"{i:02d}-{slug(name)}.png").write_bytes(png)
        for label, page in self.pages:
            if page.is_closed():
                continue
            try:
                page.screenshot(path=str(folder / f"last-{label}.png"), full_page=True)
                (folder / f"last-{label}.html").write_text(page.content())
                (folder / f"last-{label}.url").write_text(page.url + "\n")
            except Exception as exc:  # a crashed page must not hide the test's own failure
                (folder / f"last-{label}.error").write_text(repr(exc))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "step"


def login(page: Any, user: dict[str, Any]) -> None:
    """Log in through the login form, as a person does."""
    page.goto("/user/login")
    page.fill("#field-login", user["name"])
    page.fill("#field-password", user["password"])
    with page.expect_navigation():
        page.locator("#field-password").press("Enter")
    if page.locator("#field-password").count():
        raise AssertionError(f"login as {user['name']} failed: {page.url}")


def assert_fits(page: Any) -> None:
    """The page needs no sideways scrolling at its viewport's width."""
    width = page.viewport_size["width"]
    wide = page.evaluate(
        """width => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 0.5 && e.getClientRects().length)
            .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))""",
        width,
    )
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width:
        raise AssertionError(f"{page.url} is {scroll} px wide, wider than the screen ({width} px): {wide}")


def axe_results(page: Any) -> dict[str, Any]:
    """axe-core's results for the page as it is now (WCAG 2.1 A/AA rules)."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: scripts/stack.sh installs it with npm ci")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )


def format_violations(violations: list[dict[str, Any]], limit: int = 5) -> str:
    lines = []
    for v in violations:
        lines.append(f"- [{v.get('impact')}] {v['id']}: {v['help']} ({len(v['nodes'])} element(s))")
        for node in v["nodes"][:limit]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {target}: {summary[:300]}")
            lines.append(f"      {node.get('html', '')[:200]}")
    return "\n".join(lines)


def axe_check(page: Any, what: str = "") -> None:
    """Fail unless axe finds 0 violations (any impact) on the page."""
    violations = axe_results(page)["violations"]
    if violations:
        where = f"{what} ({page.url})" if what else page.url
        raise AssertionError(
            f"axe: {len(violations)} WCAG 2.1 AA rule(s) violated on {where}:\n" + format_violations(violations)
        )
