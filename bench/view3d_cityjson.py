"""Time to the first drawn frame of the 3D view for a large CityJSON file
(issue 18: goal 5 s for 50 MB), to the whole model drawn, and the longest the
page froze meanwhile. The file is read in a Web Worker that posts the model in
chunks: the first frame shows the first chunk; ``--no-worker`` measures the
page's own thread (the way before the Worker, and the fallback).

The built bundle (``ckanext/udp/view3d/assets/build/view3d.js``, ``make run``
or ``python setup.py vendor_assets`` builds it) and a generated LoD1 block
model are served from a temporary folder on 127.0.0.1 to Debian's Chromium
(WebGL on SwiftShader, the CPU renderer: no GPU here). Side by side, the floor
any browser viewer pays: the same file fetched and ``JSON.parse``d, nothing
drawn (stock CKAN has no 3D preview). Reported as a ratio.

    .venv/bin/python bench/view3d_cityjson.py --mb 50
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import pathlib
import shutil
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from view3d import samples  # noqa: E402

BUNDLE = REPO / "ckanext" / "udp" / "view3d" / "assets" / "build" / "view3d.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-unsafe-swiftshader", "--no-first-run"]
# a heartbeat every 10 ms: the longest gap between two beats is the longest freeze
HEARTBEAT = (
    "<script>window.gap=0;let last=performance.now();setInterval(()=>{const n=performance.now();"
    "window.gap=Math.max(window.gap,n-last);last=n;},10);</script>"
)
VIEW = (
    '<section class="udp-view3d" data-url="/model.city.json" data-kind="cityjson" data-ask="0">'
    '<div class="udp-view3d-stage" style="width:1200px;height:800px"></div>'
    '<p class="udp-view3d-status"></p><p class="udp-view3d-summary" id="s"></p></section>'
    '<script src="/view3d.js"></script>'
)
FLOOR = (
    "<script>window.t0=performance.now();fetch('/model.city.json').then(r=>r.json()).then(d=>{"
    "window.ms=performance.now()-window.t0;window.n=Object.keys(d.CityObjects).length;});</script>"
)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def write_model(path: pathlib.Path, megabytes: float) -> int:
    probe = len(json.dumps(samples.cityjson(1000), separators=(",", ":")))
    blocks = max(1, int(1000 * megabytes * 1e6 / probe))
    path.write_text(json.dumps(samples.cityjson(blocks, per_row=400), separators=(",", ":")))
    return blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the CityJSON file (MB)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-worker", action="store_true", help="read on the page's thread (no Web Worker)")
    args = parser.parse_args()
    if not BUNDLE.exists():
        sys.exit(f"{BUNDLE} is missing: run python setup.py vendor_assets (needs npm ci)")
    from playwright.sync_api import sync_playwright

    folder = pathlib.Path(tempfile.mkdtemp(prefix="view3d-bench-"))
    try:
        blocks = write_model(folder / "model.city.json", args.mb)
        size = (folder / "model.city.json").stat().st_size
        shutil.copy(BUNDLE, folder / "view3d.js")
        no_worker = "<script>window.Worker = undefined;</script>" if args.no_worker else ""
        (folder / "view.html").write_text(
            f"<!doctype html><html lang=de><body>{HEARTBEAT}{no_worker}{VIEW}</body></html>"
        )
        (folder / "floor.html").write_text(f"<!doctype html><html lang=de><body>{HEARTBEAT}{FLOOR}</body></html>")
        handler = functools.partial(Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        print(f"CityJSON: {size / 1e6:.1f} MB, {blocks:,} LoD1 buildings (generated)")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for run in range(args.repeat):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                started = time.perf_counter()
                page.goto(base + "/view.html")
                page.wait_for_selector(".udp-view3d[data-state=drawn], .udp-view3d[data-state=error]", timeout=600_000)
                wall = time.perf_counter() - started
                state = page.get_attribute(".udp-view3d", "data-state")
                ours = int(page.get_attribute(".udp-view3d", "data-drawn-ms") or 0)
                first = int(page.get_attribute(".udp-view3d", "data-first-frame-ms") or ours)
                gap = page.evaluate("window.gap")
                antialias = page.get_attribute(".udp-view3d", "data-antialias")
                summary = page.inner_text(".udp-view3d-summary")[:120]
                page.close()
                page = browser.new_page()
                page.goto(base + "/floor.html")
                page.wait_for_function("window.ms !== undefined", timeout=600_000)
                floor, floor_gap = page.evaluate("window.ms"), page.evaluate("window.gap")
                page.close()
                way = "page thread" if args.no_worker else "Web Worker"
                print(
                    f"run {run + 1} ({way}): 3D view {state}: first drawn frame {first / 1000:.2f} s, whole model "
                    f"{ours / 1000:.2f} s after the script started (page load to drawn {wall:.2f} s), longest freeze "
                    f"{gap / 1000:.2f} s | fetch+JSON.parse only: {floor / 1000:.2f} s, longest freeze "
                    f"{floor_gap / 1000:.2f} s | ratio first frame / floor {first / max(floor, 1):.1f}x"
                )
                print(f"  multisampling (antialias): {antialias}; text alternative: {summary} ...")
            browser.close()
        server.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
