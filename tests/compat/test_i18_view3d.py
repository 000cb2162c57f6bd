"""compat block of branch i18-view3d: the local path of an uploaded resource."""

from __future__ import annotations

import io
import pathlib

import pytest
from ckan.tests import factories
from werkzeug.datastructures import FileStorage

from ckanext.udp import compat


@pytest.mark.usefixtures("with_plugins", "clean_db")
def test_resource_upload_path() -> None:
    dataset = factories.Dataset(owner_org=factories.Organization()["id"])
    upload = FileStorage(io.BytesIO(b"CDF\x01 not really"), filename="grid.nc")
    resource = factories.Resource(package_id=dataset["id"], upload=upload, url="grid.nc", format="NetCDF")
    path = compat.resource_upload_path(resource)
    assert path is not None and pathlib.Path(path).read_bytes() == b"CDF\x01 not really"
    assert compat.resource_upload_path({"id": "x", "url": "https://example.org/a.nc", "url_type": ""}) is None
