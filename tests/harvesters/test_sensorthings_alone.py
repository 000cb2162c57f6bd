"""udp_sensorthings stands on its own: nothing of udp_sensors is imported (not even
inside a function), and none of udp_sensors' tables is read or written."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import ckanext.udp.sensorthings

PACKAGE = pathlib.Path(ckanext.udp.sensorthings.__file__).parent


def test_importing_sensorthings_loads_nothing_of_udp_sensors():
    code = (
        "import sys\n"
        "import ckanext.udp.sensorthings.harvester, ckanext.udp.sensorthings.mirror\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[:3] == ['ckanext', 'udp', 'sensors'])))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"udp_sensorthings loads {out.stdout.strip()}"


def test_no_import_of_udp_sensors_and_no_udp_sensors_table_anywhere_in_the_package():
    """Also the imports inside functions (the subprocess above does not run them)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [f"{path.name}: import {n}" for n in names if n.split(".")[:3] == ["ckanext", "udp", "sensors"]]
        if "udp_sensor_" in source:
            found.append(f"{path.name}: names a table of udp_sensors")
    assert found == []
