"""A non-editable install: the wheel holds every file the plugins load at run
time (templates, assets with the bundled Leaflet and uPlot, vocabularies, SVGs,
compiled translations, demo files, alembic migrations, YAML), and no webasset
points outside the package. Builds the wheel as CI would after the npm step
(``pip wheel --no-deps .``); no database or server needed."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = REPO / "ckanext"
SKIP_PARTS = {"__pycache__"}


def _runtime_files() -> set[str]:
    """Every file under ckanext/ in the checkout (tracked by git, or made by the
    build: compiled .mo, vendored npm libraries), as wheel paths."""
    tracked = subprocess.run(
        ["git", "ls-files", "ckanext"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    generated = [p for p in PACKAGE.rglob("*.mo")] + [p for p in PACKAGE.rglob("vendor/**/*") if p.is_file()]
    out = {f for f in tracked if (REPO / f).is_file()}
    out |= {str(p.relative_to(REPO)) for p in generated}
    return {f for f in out if not SKIP_PARTS & set(pathlib.PurePath(f).parts)}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> set[str]:
    """Built from a clean copy of the checkout (its tracked files, the compiled
    .mo and the vendored libraries): a stale build/ or egg-info would keep files
    the package data no longer names."""
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for f in [*tracked, *_runtime_files()]:
        if (REPO / f).is_file():
            (source / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, source / f)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("ckanext_udp-*.whl")
    with zipfile.ZipFile(built) as z:
        return set(z.namelist())


def test_the_wheel_holds_every_file_the_plugins_load(wheel):
    expected = _runtime_files()
    kinds = {
        "templates": lambda f: "/templates/" in f and f.endswith(".html"),
        "svg": lambda f: f.endswith(".svg"),
        "mo": lambda f: f.endswith(".mo"),
        "demo": lambda f: "/demo/" in f,
        "alembic": lambda f: "/migration/" in f and "/versions/" in f,
        "yaml": lambda f: f.endswith((".yaml", ".yml")),
        "vocabularies": lambda f: "/vocabularies/" in f,
        "leaflet": lambda f: f.endswith("vendor/leaflet/leaflet.js"),
        "uplot": lambda f: f.endswith("vendor/uplot/uPlot.iife.min.js"),
    }
    for kind, match in kinds.items():
        assert any(match(f) for f in expected), f"no {kind} file in the checkout (run the npm and babel steps)"
    missing = sorted(expected - wheel)
    assert not missing, f"{len(missing)} files not in the wheel, e.g. {missing[:10]}"


def test_webassets_point_inside_the_package():
    for spec in PACKAGE.rglob("webassets.yml"):
        bundles = yaml.safe_load(spec.read_text()) or {}
        for name, bundle in bundles.items():
            for item in bundle.get("contents") or []:
                path = (spec.parent / item).resolve()
                assert path.is_relative_to(PACKAGE.resolve()), (spec, name, item)
                assert path.is_file(), (spec, name, item)
