"""The district list the CSW harvester matches bounding boxes against is an absolute configured path
(``ckanext.udp.harvest.districts``), checked when the harvester starts with an error that says what is wrong;
never a path relative to the checkout."""

from __future__ import annotations

import os

import ckan.plugins.toolkit as tk
import pytest

from ckanext.udp.harvest import geo
from ckanext.udp.harvesters.csw import CswHarvester


def test_the_stack_configures_an_absolute_district_list():
    configured = tk.config.get(geo.DISTRICTS)
    assert configured and os.path.isabs(configured)
    assert geo.districts_path() == configured
    assert len(geo._districts(configured)) == 27  # the Stadtteile of the reference data


@pytest.mark.parametrize(
    "value, problem",
    [
        (None, "is not set"),
        ("", "is not set"),
        ("../shared/karlsruhe/stadtteile.csv", "must be an absolute path"),
        ("/nonexistent/stadtteile.csv", "no such file"),
    ],
)
def test_a_wrong_district_list_stops_the_start_with_a_clear_error(value, problem):
    with pytest.raises(geo.DistrictsConfigError, match=problem) as err:
        CswHarvester().configure({geo.DISTRICTS: value})
    assert geo.DISTRICTS in str(err.value)


def test_a_file_that_is_no_district_list_is_refused(tmp_path):
    other = tmp_path / "anything.csv"
    other.write_text("name,value\na,1\n", encoding="utf-8")
    with pytest.raises(geo.DistrictsConfigError, match="is not a district list"):
        CswHarvester().configure({geo.DISTRICTS: str(other)})


def test_a_good_district_list_elsewhere_is_used(tmp_path, monkeypatch):
    mine = tmp_path / "bezirke.csv"
    mine.write_text("nummer,stadtteil,lat,lon\n01,Mitte,49.0,8.4\n02,Nord,49.1,8.4\n", encoding="utf-8")
    CswHarvester().configure({geo.DISTRICTS: str(mine)})  # no error
    monkeypatch.setitem(tk.config, geo.DISTRICTS, str(mine))
    assert geo.districts_in(8.39, 48.99, 8.41, 49.01) == [("01", "Mitte")]
