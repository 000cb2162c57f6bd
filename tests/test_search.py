"""Search runs on the real Solr core with German analysis."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from udp_testing import public_dataset


def search(q: str) -> list[str]:
    result = tk.get_action("package_search")({}, {"q": q, "rows": 100})
    return sorted(d["name"] for d in result["results"])


@pytest.fixture
def datasets():
    org = factories.Organization()
    public_dataset(name="baum", owner_org=org["id"], title="Baumkataster: jeder Baum der Stadt", notes="Standorte")
    public_dataset(name="strasse", owner_org=org["id"], title="Verzeichnis der Straße und Wege", notes="Adressen")
    public_dataset(name="haeuser", owner_org=org["id"], title="Häuser und Gebäude", notes="Bauwerke")
    public_dataset(name="luft", owner_org=org["id"], title="Luftqualität", notes="Messwerte")


# fixtures run in the order named: plugins, then empty DB and index, then data
@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "datasets")
class TestGermanSearch:
    def test_created_dataset_is_found(self):
        assert search("Luftqualität") == ["luft"]

    def test_plural_with_umlaut_finds_singular(self):
        # only stemming + umlaut normalisation make "Bäume" match "Baum"
        assert search("Bäume") == ["baum"]

    def test_ss_finds_sharp_s(self):
        assert search("Strasse") == ["strasse"]

    def test_sharp_s_finds_sharp_s(self):
        assert search("Straße") == ["strasse"]

    def test_umlaut_transliteration(self):
        assert search("Haeuser") == ["haeuser"]
        assert search("Haus") == ["haeuser"]

    def test_case_does_not_matter(self):
        assert search("LUFTQUALITÄT") == ["luft"]

    def test_all_words_must_match(self):
        assert search("Bäume Stadt") == ["baum"]
        assert search("Bäume Adressen") == []

    def test_unrelated_word_finds_nothing(self):
        assert search("Wasserstand") == []

    def test_deleted_dataset_leaves_the_index(self):
        sysadmin = factories.Sysadmin()
        # a published dataset is withdrawn (with a reason) before it may be deleted (udp_governance)
        tk.get_action("udp_withdraw")({"user": sysadmin["name"]}, {"id": "luft", "reason": "Veraltet"})
        tk.get_action("package_delete")({"user": sysadmin["name"]}, {"id": "luft"})
        assert search("Luftqualität") == []
