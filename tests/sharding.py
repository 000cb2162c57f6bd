"""The shards of ``make test`` (scripts/stack.sh): whole test files per shard
(tests/conftest.py's pytest_collection_modifyitems)."""

from __future__ import annotations


def whole_files(files: list[str], start: int, end: int) -> tuple[int, int]:
    """The chunk ``files[start:end]`` of a shard (``files``: the test file of each
    collected test, in order), moved to file boundaries: a file cut at either end
    belongs to the shard that holds its first test."""
    while start < end and start > 0 and files[start] == files[start - 1]:
        start += 1  # the previous shard has this file's first test: all of it is there
    while start < end < len(files) and files[end] == files[end - 1]:
        end += 1  # this shard has the file's first test: the rest of it, too
    return start, end
