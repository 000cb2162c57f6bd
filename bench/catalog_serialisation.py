"""Catalog serialisation: ckanext-udp's /catalog endpoint path vs stock ckanext-dcat.

Serialises N synthetic datasets (3 resources each, shaped like package_show
output) into catalog pages, in the same run, with
  * udp (cold):   udp_catalog's render_page, fragment cache empty
  * udp (warm):   the same again, fragments cached in Redis
  * stock paged:  ckanext-dcat's RDFSerializer.serialize_catalog per page of
                  100 (what its dcat_catalog_show endpoint does per request)
  * stock whole:  serialize_catalog over all N datasets in one graph (how the
                  stock catalog grows; only up to --stock-whole-max datasets)
All use the profiles of the ini (euro_dcat_ap_3 in test.ini; stock always
euro_dcat_ap_3). Each variant runs in its own process so that its peak RSS is
its own. Prints datasets/second, peak RSS, and ratios against stock paged.

    make bench            # or:
    .venv/bin/python bench/catalog_serialisation.py --ini test.ini -n 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
import uuid

PAGE = 100


def synthetic_datasets(n: int) -> list[dict]:
    base = dt.datetime(2024, 1, 1)
    orgs = [
        {
            "id": str(uuid.UUID(int=i + 1)),
            "name": f"amt-{i}",
            "title": f"Amt {i} für Stadtentwicklung",
            "description": "",
            "is_organization": True,
            "type": "organization",
            "state": "active",
            "image_url": "",
            "approval_status": "approved",
            "created": "2024-01-01T00:00:00",
        }
        for i in range(8)
    ]
    out = []
    for i in range(n):
        created = (base + dt.timedelta(minutes=i)).isoformat()
        pid = str(uuid.UUID(int=10_000_000 + i))
        org = orgs[i % len(orgs)]
        out.append(
            {
                "id": pid,
                "name": f"datensatz-{i}",
                "title": f"Datensatz {i}: Bäume und Straßen im Stadtteil {i % 27 + 1}",
                "notes": f'Beschreibung {i} mit Umlauten äöü ß und "Zeichen" & <Sonderzeichen>.\nZweite Zeile.',
                "type": "dataset",
                "state": "active",
                "private": False,
                "version": "1.0",
                "url": f"https://www.karlsruhe.de/daten/{i}",
                "license_id": "cc-by",
                "license_title": "Creative Commons Attribution",
                "license_url": "http://www.opendefinition.org/licenses/cc-by",
                "author": "Stadt Karlsruhe",
                "author_email": "opendata@karlsruhe.de",
                "maintainer": "Amt für Stadtentwicklung",
                "maintainer_email": "afsta@karlsruhe.de",
                "metadata_created": created,
                "metadata_modified": created,
                "owner_org": org["id"],
                "organization": org,
                "tags": [
                    {"name": t, "display_name": t, "state": "active"} for t in ("Umwelt", "Klima", f"tag{i % 50}")
                ],
                "groups": [],
                "relationships_as_object": [],
                "relationships_as_subject": [],
                "extras": [
                    {"key": "frequency", "value": "http://publications.europa.eu/resource/authority/frequency/ANNUAL"}
                ],
                "num_resources": 3,
                "num_tags": 3,
                "resources": [
                    {
                        "id": str(uuid.UUID(int=20_000_000 + 3 * i + r)),
                        "package_id": pid,
                        "position": r,
                        "name": f"Ressource {r}",
                        "description": f"Teil {r}",
                        "format": fmt,
                        "mimetype": mime,
                        "url": f"https://www.karlsruhe.de/daten/{i}/{r}.{fmt.lower()}",
                        "size": 1000 * (r + 1) + i,
                        "created": created,
                        "last_modified": created,
                        "state": "active",
                        "url_type": None,
                    }
                    for r, (fmt, mime) in enumerate(
                        [("CSV", "text/csv"), ("JSON", "application/json"), ("PDF", "application/pdf")]
                    )
                ],
            }
        )
    return out


def _setup(ini: str):
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    app = make_app(load_config(ini))
    flask_app = app.apps["flask_app"]._wsgi_app if hasattr(app, "apps") else app._wsgi_app
    ctx = flask_app.test_request_context()
    ctx.push()
    return ctx


def run_variant(ini: str, variant: str, fmt: str, n: int) -> dict:
    _setup(ini)
    datasets = synthetic_datasets(n)
    pages = [datasets[i : i + PAGE] for i in range(0, n, PAGE)]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = 0
    t0 = time.perf_counter()
    if variant.startswith("udp"):
        from ckanext.udp.catalog import views
        from ckanext.udp.catalog.cache import connect as connect_to_redis
        from ckanext.udp.catalog.cursor import Cursor

        if variant == "udp-cold":
            conn = connect_to_redis()
            keys = list(conn.scan_iter("udp:catalog:fragment:*", count=10000))
            for i in range(0, len(keys), 1000):
                conn.delete(*keys[i : i + 1000])
            t0 = time.perf_counter()
        after = None
        for k, page in enumerate(pages):
            body = views.render_page(
                fmt,
                page,
                total=n,
                limit=PAGE,
                after=after,
                more=k < len(pages) - 1,
                version="bench",
                modified="2024-06-01T00:00:00",
            )
            size += len(body)
            after = Cursor.of(page[-1])
    else:
        from ckanext.dcat.processors import RDFSerializer

        batches = pages if variant == "stock-paged" else [datasets]
        for k, page in enumerate(batches):
            serializer = RDFSerializer(profiles=["euro_dcat_ap_3"])
            body = serializer.serialize_catalog(
                {},
                page,
                _format="turtle" if fmt == "ttl" else "xml",
                pagination_info={"count": n, "items_per_page": PAGE, "current": f"http://x/catalog.{fmt}?page={k + 1}"},
            )
            size += len(body)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "variant": variant,
        "fmt": fmt,
        "n": n,
        "seconds": seconds,
        "per_second": n / seconds,
        "peak_rss_mb": peak / 1024,
        "rss_growth_mb": (peak - rss_before) / 1024,
        "bytes": size,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ini", default="test.ini")
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--formats", nargs="+", default=["ttl", "rdf"])
    ap.add_argument(
        "--stock-whole-max", type=int, default=1000, help="run 'stock whole' (quadratic) only up to this many datasets"
    )
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    ap.add_argument("--fmt", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.variant:
        print(json.dumps(run_variant(args.ini, args.variant, args.fmt, args.n)))
        return

    results = []
    for fmt in args.formats:
        plan = [("stock-paged", args.n), ("udp-cold", args.n), ("udp-warm", args.n)]
        for m in sorted({min(args.n, args.stock_whole_max), min(args.n, args.stock_whole_max) // 2}):
            if m:
                plan.append(("stock-whole", m))
        for variant, n in plan:
            cmd = [sys.executable, __file__, "--ini", args.ini, "--variant", variant, "--fmt", fmt, "-n", str(n)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=os.getcwd()).stdout
            res = json.loads(out.strip().splitlines()[-1])
            results.append(res)
            print(
                f"{fmt:6} {variant:12} n={n:6}  {res['per_second']:9.1f} datasets/s  "
                f"{res['seconds']:8.1f} s  peak RSS {res['peak_rss_mb']:7.1f} MB  "
                f"(+{res['rss_growth_mb']:.1f} MB while serialising)",
                flush=True,
            )
    print()
    for fmt in args.formats:
        by = {(r["variant"], r["n"]): r for r in results if r["fmt"] == fmt}
        stock = by[("stock-paged", args.n)]
        for v in ("udp-cold", "udp-warm"):
            r = by[(v, args.n)]
            print(
                f"{fmt}: {v} / stock paged = {r['per_second'] / stock['per_second']:.1f}x throughput, "
                f"peak RSS {r['peak_rss_mb']:.0f} MB vs {stock['peak_rss_mb']:.0f} MB"
            )
        whole = sorted((n, r) for (v, n), r in by.items() if v == "stock-whole")
        for n, r in whole:
            print(
                f"{fmt}: stock whole-catalog at n={n}: {r['per_second']:.1f} datasets/s, "
                f"peak RSS {r['peak_rss_mb']:.0f} MB"
            )


if __name__ == "__main__":
    main()
