"""Reference data (shapes, districts) by an absolute configured path, checked at start-up."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

from ckanext.udp.dcatde import reference

REPO = pathlib.Path(__file__).resolve().parents[2]
SHAPES = "ckanext.udp.dcatde.shapes_dir"
DISTRICTS = "ckanext.udp.dcatde.districts_dir"


@pytest.fixture
def good(shared_dir):
    return {SHAPES: str(shared_dir / "dcat-ap-de"), DISTRICTS: str(shared_dir / "karlsruhe")}


def test_absolute_configured_paths_pass(good):
    reference.check(good)
    assert reference.directory(reference.SHAPES, good) == pathlib.Path(good[SHAPES])


def test_empty_options_default_to_the_shared_directory(monkeypatch, shared_dir):
    monkeypatch.setenv(reference.ENVIRONMENT, str(shared_dir))
    reference.check({})
    assert reference.directory(reference.DISTRICTS, {}) == shared_dir / "karlsruhe"


@pytest.mark.parametrize("option", [SHAPES, DISTRICTS])
def test_relative_path_is_refused(good, option):
    config = dict(good, **{option: "../shared/whatever"})
    with pytest.raises(reference.ReferenceDataError, match=f"{option} must be an absolute path"):
        reference.check(config)


def test_unset_without_environment_names_the_option(good, monkeypatch):
    monkeypatch.delenv(reference.ENVIRONMENT, raising=False)
    with pytest.raises(reference.ReferenceDataError, match=f"{SHAPES} is not set"):
        reference.check(dict(good, **{SHAPES: ""}))


def test_missing_files_are_named(good, tmp_path):
    (tmp_path / "stadtteile.txt").write_text("")
    with pytest.raises(reference.ReferenceDataError, match=f"{DISTRICTS}: .* lacks stadtteile.csv"):
        reference.check(dict(good, **{DISTRICTS: str(tmp_path)}))


def _ckan(ini: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    ckan = pathlib.Path(sys.executable).with_name("ckan")
    return subprocess.run(
        [str(ckan), "-c", str(ini), *args], capture_output=True, text=True, timeout=300, env=dict(os.environ), cwd=REPO
    )


@pytest.mark.parametrize(
    "value,message",
    [
        ("../shared/dcat-ap-de", f"{SHAPES} must be an absolute path"),
        ("/nonexistent/dcat-ap-de", f"{SHAPES}: /nonexistent/dcat-ap-de lacks shapes-3.0/"),
    ],
)
def test_ckan_does_not_start_with_a_bad_path(request, tmp_path, value, message):
    """A real start-up (``ckan -c … config-tool`` loads the plugins) stops with the message."""
    base = pathlib.Path(request.config.getoption("ckan_ini")).resolve()
    ini = tmp_path / "bad.ini"
    ini.write_text(f"[app:main]\nuse = config:{base}\n{SHAPES} = {value}\n", encoding="utf-8")
    result = _ckan(ini, "udp", "dcatde", "--help")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    # the same command starts with the configured reference data
    good = _ckan(base, "udp", "dcatde", "--help")
    assert good.returncode == 0, good.stderr
    assert "validate" in good.stdout


def test_vocabularies_and_schemas_are_package_data(tmp_path):
    """A normal (non-editable) install carries the data files: the wheel has them."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ckanext_udp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = REPO / "ckanext" / "udp" / "dcatde" / "vocabularies"
    expected = {f"ckanext/udp/dcatde/vocabularies/{f.name}" for f in data.iterdir()}
    expected |= {"ckanext/udp/dcatde/config_declaration.yaml", "ckanext/udp/dcatde/schemas/dcatde_dataset.yaml"}
    assert expected <= names
