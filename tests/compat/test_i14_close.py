"""compat block of i14-close: ``add_public_activity`` writes a public "new
package" activity by a display name (no user account) into ckanext-activity's table."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset

from ckanext.udp import compat


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_add_public_activity_is_listed_for_the_public():
    pkg = public_dataset(owner_org=factories.Organization()["id"])
    assert compat.add_public_activity(pkg["id"], "Urbane Datenplattform", {"package": {"title": "T"}})
    sysadmin = factories.Sysadmin()
    listed = tk.get_action("package_activity_list")({"user": sysadmin["name"]}, {"id": pkg["id"]})
    # (publishing wrote udp_api's own publication activity too: ours is the one with title "T")
    (ours,) = [
        a
        for a in listed
        if a["user_id"] == "Urbane Datenplattform" and (a.get("data") or {}).get("package", {}).get("title") == "T"
    ]
    assert ours["activity_type"] == "new package" and ours["data"]["package"]["title"] == "T"
    anonymous = tk.get_action("package_activity_list")({"user": ""}, {"id": pkg["id"]})
    assert ours["id"] in {a["id"] for a in anonymous}
