"""Compiled templates kept on disk for every worker of the portal (plugin ``udp``).

Jinja compiles each template the first time a worker renders it, and CKAN's
pages stand on dozens of templates: a new gunicorn worker (at start, and after
each recycling, ``max_requests``) answered its first home page, search and
dataset page 300–450 ms slower than the next ones. Jinja's own bytecode cache
(``jinja2.FileSystemBytecodeCache``) keeps the compiled code of each template
file in a directory, so a worker loads what another one compiled.

- A template is looked up by its name and full path and checked against a
  checksum of its source: an edited template is compiled again.
- The file names carry CKAN's version (CKAN's template tags are compiled in),
  and Jinja's own magic number carries its and Python's version.
- The directory: ``ckanext.udp.template_cache_dir``; empty means Jinja's
  default, a directory in the system's temp folder that only the portal's user
  may read and write (Jinja refuses one owned by another user or open to
  others: compiled code is loaded from it). ``off`` switches the cache off.
"""

from __future__ import annotations

import os
from typing import Any

import ckan
import jinja2


def bytecode_cache(directory: str | None) -> jinja2.FileSystemBytecodeCache | None:
    """The cache for ``directory`` (None or empty: Jinja's private default; ``off``: none)."""
    if (directory or "").strip().lower() == "off":
        return None
    pattern = f"__udp_ckan{ckan.__version__}_%s.cache"
    if directory:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        return jinja2.FileSystemBytecodeCache(directory, pattern)
    return jinja2.FileSystemBytecodeCache(None, pattern)


def install(app: Any, directory: str | None) -> None:
    """Let the Flask app's template environment use the cache."""
    app.jinja_env.bytecode_cache = bytecode_cache(directory)


__all__ = ["bytecode_cache", "install"]
