"""The pages of a long result list, as a citizen on a screen reader meets them:
CKAN's pager draws "previous" and "next" as bare chevrons (links without a
name, axe ``link-name``); the portal names them in German, inside a labelled
navigation. The demo's twelve datasets fit on one page, so this test makes
enough for three pages. The lists of organisations, groups and (for
sysadmins) users use CKAN's pager too, each with its own name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from browserlib import assert_fits
from ckan.tests import factories
from udp_testing import public_dataset


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "375px"])
def test_the_pages_of_a_long_result_list_have_named_links(
    new_page: Callable[..., Any], axe_check: Callable[..., None], mobile: bool
) -> None:
    org = factories.Organization()
    for i in range(41):  # 20 a page: page 2 of 3 has both "previous" and "next"
        public_dataset(title=f"Messstelle Pegel {i}", owner_org=org["id"])
    page = new_page(mobile=mobile)
    _walk_from_page_2(page, "/dataset/?q=Pegel&page=2", "Seiten der Suchergebnisse", axe_check, mobile)


@pytest.mark.parametrize(
    ("kind", "mobile"),
    [("organization", False), ("organization", True), ("group", True), ("user", False)],
    ids=["organisations-desktop", "organisations-375px", "groups-375px", "users-desktop"],
)
def test_the_pages_of_long_lists_have_named_links(
    new_page: Callable[..., Any],
    axe_check: Callable[..., None],
    make_user: Callable[..., dict[str, Any]],
    kind: str,
    mobile: bool,
) -> None:
    for i in range(41):  # 20 a page (42 users with the sysadmin): page 2 of 3 has both links
        if kind == "user":
            factories.User(name=f"person-{i:02d}")
        else:
            {"organization": factories.Organization, "group": factories.Group}[kind](
                name=f"{kind}-{i:02d}", title=f"Eintrag {i:02d}"
            )
    label = {"organization": "Organisationsliste", "group": "Gruppenliste", "user": "Benutzerliste"}[kind]
    page = new_page(user=make_user(sysadmin=True) if kind == "user" else None, mobile=mobile)
    _walk_from_page_2(page, f"/{kind}/?page=2", f"Seiten der {label}", axe_check, mobile)


def _walk_from_page_2(page: Any, url: str, name: str, axe_check: Callable[..., None], mobile: bool) -> None:
    """Page 2 of 3: both links named in the navigation ``name``; "next" leads to
    page 3, which has none; axe finds nothing; at 375 px nothing is wider."""
    page.goto(url)
    pager = page.get_by_role("navigation", name=name)
    assert pager.get_by_role("link", name="Vorherige Seite").count() == 1
    assert pager.get_by_role("link", name="Nächste Seite").count() == 1
    pager.get_by_role("link", name="Nächste Seite").click()
    page.wait_for_url("**page=3**")
    assert pager.get_by_role("link", name="Nächste Seite").count() == 0
    axe_check(page)
    if mobile:
        assert_fits(page)
