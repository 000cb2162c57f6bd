"""The job of ``test_two_of_each.py``'s job workers (imported by ``ckan jobs worker``
from this folder, put on its PYTHONPATH by the test): it notes its number and the
worker that ran it in a Redis list of CKAN's Redis database."""

from __future__ import annotations

import os
import time


def record(key: str, n: int) -> None:
    from ckan.lib.redis import connect_to_redis

    # RQ runs each job in a child of the worker: the worker is the parent
    connect_to_redis().rpush(key, f"{n} {os.getppid()}")
    time.sleep(0.05)  # long enough for the other worker to take the next job meanwhile
