"""MapServer (Debian's ``mapserver-bin``, installed by scripts/stack.sh) serving the
city's 27 district centroids of ``<UDP_SHARED_DIR>/karlsruhe/stadtteile.csv`` as
WMS 1.1.1/1.3.0 and WFS 2.0 (GeoJSON output) on loopback: the real OGC server of the
map preview's browser tests.

    python scripts/mapserver.py serve STATE_DIR PORT

writes the layer (GeoJSON read from the CSV), the mapfile and MapServer's config
into STATE_DIR and answers every GET on ``http://127.0.0.1:PORT/`` by running
``mapserv`` as a CGI program (one process per request, as Debian's cgi-mapserver
runs it), with ``Access-Control-Allow-Origin: *`` as a map service for browsers
sends it. Only the standard library; stopped by its PID (scripts/stack.sh stop)."""

from __future__ import annotations

import csv
import json
import os
import pathlib
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MAPSERV = os.environ.get("UDP_MAPSERV", "/usr/bin/mapserv")
LAYER = "stadtteile"

MAPFILE = """MAP
  NAME "{layer}"
  EXTENT 8.28 48.94 8.54 49.09
  SIZE 512 512
  PROJECTION "init=epsg:4326" END
  IMAGETYPE png
  WEB
    METADATA
      "ows_title" "Stadtteile Karlsruhe (Testdienst)"
      "ows_onlineresource" "{url}/"
      "ows_srs" "EPSG:4326 EPSG:3857"
      "ows_enable_request" "*"
      "wfs_getfeature_formatlist" "geojson"
    END
  END
  OUTPUTFORMAT
    NAME "geojson"
    DRIVER "OGR/GEOJSON"
    MIMETYPE "application/json"
    FORMATOPTION "STORAGE=stream"
    FORMATOPTION "FORM=SIMPLE"
  END
  LAYER
    NAME "{layer}"
    TYPE POINT
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "{data}"
    DATA "{layer}"
    PROJECTION "init=epsg:4326" END
    METADATA
      "ows_title" "Stadtteile"
      "gml_include_items" "all"
      "gml_featureid" "nummer"
    END
    CLASS
      STYLE
        SYMBOL "kreis"
        SIZE 14
        COLOR 200 30 30
      END
    END
  END
  SYMBOL
    NAME "kreis"
    TYPE ELLIPSE
    FILLED TRUE
    POINTS 1 1 END
  END
END
"""

CONFIG = """CONFIG
  ENV
    MS_MAP_PATTERN "^{folder}/"
  END
END
"""


def write_files(folder: pathlib.Path, url: str) -> pathlib.Path:
    shared = pathlib.Path(
        os.environ.get("UDP_SHARED_DIR") or pathlib.Path(__file__).resolve().parents[1] / ".." / "shared"
    )
    with (shared / "karlsruhe" / "stadtteile.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]},
            "properties": {"nummer": r["nummer"], "stadtteil": r["stadtteil"]},
        }
        for r in rows
    ]
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{LAYER}.geojson"
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    mapfile = folder / f"{LAYER}.map"
    mapfile.write_text(MAPFILE.format(layer=LAYER, url=url, data=data), encoding="utf-8")
    (folder / "mapserver.conf").write_text(CONFIG.format(folder=folder), encoding="utf-8")
    return mapfile


def serve(folder: pathlib.Path, port: int) -> None:
    folder = folder.resolve()
    mapfile = write_files(folder, f"http://127.0.0.1:{port}")
    env = {
        "PATH": "/usr/bin:/bin",
        "MAPSERVER_CONFIG_FILE": str(folder / "mapserver.conf"),
        "MS_MAPFILE": str(mapfile),
        "REQUEST_METHOD": "GET",
        "GATEWAY_INTERFACE": "CGI/1.1",
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            query = urlsplit(self.path).query
            done = subprocess.run(
                [MAPSERV], env=dict(env, QUERY_STRING=query), capture_output=True, timeout=60, check=False
            )
            head, _, body = done.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            if done.returncode != 0 and not body:
                status, headers, body = 500, [("Content-Type", "text/plain")], done.stderr[-500:]
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            sys.stderr.write("mapserver %s\n" % (format % args))

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "serve":
        sys.exit("usage: mapserver.py serve STATE_DIR PORT")
    serve(pathlib.Path(sys.argv[2]), int(sys.argv[3]))
