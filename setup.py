import pathlib
import shutil
import subprocess

from setuptools import Command, setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
# Front-end libraries the portal serves itself (no CDN): copied from npm's
# node_modules (package.json, ``npm ci``) into the package, so a wheel holds them
# and webassets find them inside the package.
VENDOR = pathlib.Path("ckanext/udp/views/assets/vendor")
VENDOR_FILES = {
    "leaflet/dist/leaflet.css": "leaflet/leaflet.css",
    "leaflet/dist/leaflet.js": "leaflet/leaflet.js",
    "leaflet/dist/images": "leaflet/images",
    "uplot/dist/uPlot.min.css": "uplot/uPlot.min.css",
    "uplot/dist/uPlot.iife.min.js": "uplot/uPlot.iife.min.js",
}
# ES-module sources bundled by the pinned esbuild (package.json) into one
# script a webasset serves: the 3D preview (three.js, 3d-tiles-renderer)
# (in this order: the CityJSON Worker's bundle is embedded as text in the 3D view's)
BUNDLES = {
    "ckanext/udp/view3d/assets/src/cityjson_worker.js": "ckanext/udp/view3d/assets/build/cityjson_worker.txt",
    "ckanext/udp/view3d/assets/src/view3d.js": "ckanext/udp/view3d/assets/build/view3d.js",
}


def vendor_assets() -> None:
    modules = HERE / "node_modules"
    if not modules.is_dir():
        return  # a build without the npm step: what is vendored already is used
    for source, target in VENDOR_FILES.items():
        src, dst = modules / source, HERE / VENDOR / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    esbuild = modules / ".bin" / "esbuild"
    for source, target in BUNDLES.items():
        (HERE / target).parent.mkdir(parents=True, exist_ok=True)
        args = ["--bundle", "--minify", "--format=iife", "--target=es2020", "--legal-comments=eof"]
        subprocess.run([str(esbuild), str(HERE / source), *args, f"--outfile={HERE / target}"], check=True)


class VendorAssets(Command):
    """``python setup.py vendor_assets``: copy the npm libraries into the package."""

    user_options: list = []

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        vendor_assets()


class BuildPy(build_py):
    def run(self) -> None:
        vendor_assets()
        super().run()


# Metadata lives in pyproject.toml; setup.py stays for CKAN's tooling
# (``pip install -e .`` and Babel's message extraction) and the vendored assets.
setup(
    cmdclass={"build_py": BuildPy, "vendor_assets": VendorAssets},
    message_extractors={
        "ckanext": [
            ("**.py", "python", None),
            ("**.js", "javascript", None),
            ("**/templates/**.html", "ckan", None),
        ],
    },
)
