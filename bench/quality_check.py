"""Quality check (the dataset page's "Qualität" tab): ckanext-udp's SHACL run
vs the stock pySHACL call, in the same run.

Both validate the same graphs against the same DCAT-AP.de 3.0 shapes, loaded
once per process (as the web workers do):
  * udp:   RDFS entailments of the ontologies precomputed once, applied to
           each data graph, pySHACL without inference (``validate``)
  * stock: pySHACL's own RDFS closure over data + ontologies per call
           (``validate(..., full_inference=True)``)
Graphs: the official positive and deprecated test cases (a whole catalog of
about 80 triples each, larger than one portal dataset). Prints the median
milliseconds per validation, the ratio, and whether the findings are equal.

    make bench            # or:
    .venv/bin/python bench/quality_check.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

import rdflib

from ckanext.udp.dcatde import validation

# the reference data as the stack passes it (UDP_SHARED_DIR), else beside the checkout
SHARED = pathlib.Path(os.environ.get("UDP_SHARED_DIR") or pathlib.Path(__file__).resolve().parents[2] / "shared")


def median_ms(graph: rdflib.Graph, shapes: pathlib.Path, full: bool, repeat: int) -> tuple[float, validation.Report]:
    report = validation.validate(graph, shapes_directory=shapes, full_inference=full)  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        validation.validate(graph, shapes_directory=shapes, full_inference=full)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=str(SHARED / "dcat-ap-de"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    shapes = pathlib.Path(args.shapes)
    started = time.perf_counter()
    validation.load_shapes(shapes)
    print(f"shapes loaded once in {time.perf_counter() - started:.2f} s")
    same_everywhere = True
    for name in ("quicktest", "deprecated"):
        graph = rdflib.Graph().parse(shapes / "testcases" / "v3.0_shapes" / f"{name}.ttl")
        udp_ms, udp = median_ms(graph, shapes, False, args.repeat)
        stock_ms, stock = median_ms(graph, shapes, True, args.repeat)
        same = (udp.violations, udp.warnings, udp.infos) == (stock.violations, stock.warnings, stock.infos)
        same_everywhere &= same
        print(
            f"{name:<11} {len(graph):>4} triples  udp {udp_ms:7.0f} ms  stock {stock_ms:7.0f} ms  "
            f"ratio {stock_ms / udp_ms:5.1f}x  findings {'equal' if same else 'DIFFER'}"
        )
    return 0 if same_everywhere else 1


if __name__ == "__main__":
    sys.exit(main())
