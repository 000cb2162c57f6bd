"""`make bench` runs every benchmark under bench/, so none rots unnoticed."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_make_bench_runs_every_benchmark():
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^bench:.*?(?=^\S|\Z)", makefile, re.M | re.S)
    assert target, "no bench target in the Makefile"
    run = set(re.findall(r"bench/(\w+\.py)", target.group(0)))
    assert run == {p.name for p in (ROOT / "bench").glob("*.py")}
