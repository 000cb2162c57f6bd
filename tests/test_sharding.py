"""The shards of ``make test``: pytest-split's chunks (by recorded durations) moved to
file boundaries by ``whole_files`` (tests/sharding.py, applied in tests/conftest.py). Every test runs in exactly one
shard and every file in one shard, also files without recorded durations (new tests
of a branch merged after the durations file was written)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pytest_split.algorithms import Algorithms
from sharding import whole_files


@dataclass(frozen=True)
class Item:
    nodeid: str


SUITE = [
    Item(f"tests/{f}.py::test_{n}")
    for f, count in (("a", 3), ("b", 40), ("c", 2), ("new_branch", 25), ("d", 7), ("e", 1), ("f", 12))
    for n in range(count)
]


def shards(splits: int, durations: dict[str, float]) -> list[list[str]]:
    algorithm = Algorithms.duration_based_chunks.value
    groups = algorithm(splits, SUITE, durations)  # type: ignore[arg-type]
    files = [i.nodeid.split("::")[0] for i in SUITE]
    out = []
    for group in groups:
        if not group.selected:
            out.append([])
            continue
        start, end = SUITE.index(group.selected[0]), SUITE.index(group.selected[-1]) + 1
        start, end = whole_files(files, start, end)
        out.append([i.nodeid for i in SUITE[start:end]])
    return out


@pytest.mark.parametrize("splits", [2, 3, 5])
@pytest.mark.parametrize("recorded", ["all", "none", "all but the new file", "the new file very slow"])
def test_every_test_in_one_shard_and_every_file_whole(splits: int, recorded: str):
    durations = {i.nodeid: 1.0 + (n % 7) for n, i in enumerate(SUITE)}
    if recorded == "none":
        durations = {}
    elif recorded == "all but the new file":
        durations = {k: v for k, v in durations.items() if "new_branch" not in k}
    elif recorded == "the new file very slow":
        durations.update({i.nodeid: 100.0 for i in SUITE if "new_branch" in i.nodeid})
    got = shards(splits, durations)
    everything = [t for shard in got for t in shard]
    assert sorted(everything) == sorted(i.nodeid for i in SUITE)  # each test once
    owners: dict[str, set[int]] = {}
    for k, shard in enumerate(got):
        for test in shard:
            owners.setdefault(test.split("::")[0], set()).add(k)
    assert all(len(o) == 1 for o in owners.values()), owners


def test_the_cut_moves_to_the_end_of_the_file():
    files = ["a"] * 3 + ["b"] * 4 + ["c"] * 2
    assert whole_files(files, 0, 5) == (0, 7)  # b's first test is in shard 1: all of b
    assert whole_files(files, 5, 9) == (7, 9)
    start, end = whole_files(files, 4, 6)  # a chunk inside b, whose first test is before it
    assert start == end
