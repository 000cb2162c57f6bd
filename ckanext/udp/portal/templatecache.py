"""Compiled templates kept on disk for every worker of the portal (plugin ``udp``).

Jinja compiles each template the first time a worker renders it, and CKAN's
pages stand on dozens of templates: a new gunicorn worker (at start, and after
each recycling, ``max_requests``) answered its first home page, search and
dataset page 300–450 ms slower than the next ones. Jinja's own bytecode cache
(``jinja2.FileSystemBytecodeCache``) keeps the compiled code of each template
file in a directory, so a worker loads what another one compiled.

- A template is looked up by its name and full path and checked against a
  checksum of its source: an edited template is compiled again.
- The file names carry CKAN's and Jinja's versions (CKAN's template tags are
  compiled in); Jinja's magic number carries its bytecode format and Python's version.
- The directory: ``ckanext.udp.template_cache_dir``; empty means Jinja's
  default, a directory in the system's temp folder that only the portal's user
  may use. Compiled code is loaded from it, so a directory that is a link, is
  owned by another user or is open to others is refused (no cache, a warning).
  ``off`` switches the cache off.
- A cache that cannot be written (a full disk, the directory removed by a temp
  cleaner) costs only the cache: the template is compiled as without it.
"""

from __future__ import annotations

import logging
import os
import pickle
import stat
from typing import Any

import ckan
import jinja2
from jinja2.bccache import Bucket

log = logging.getLogger(__name__)


class _SafeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, but a file that cannot be read or written is a miss, not an error."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError) as exc:
            log.warning("udp: compiled template not read from the cache: %s", exc)
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.warning("udp: compiled template not written to the cache: %s", exc)


def _private(directory: str) -> bool:
    """A real directory of this process's user that nobody else may write or read."""
    info = os.lstat(directory)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077 == 0


def bytecode_cache(directory: str | None) -> jinja2.FileSystemBytecodeCache | None:
    """The cache for ``directory`` (None or empty: Jinja's private default; ``off``
    or a directory that is not private: none)."""
    if (directory or "").strip().lower() == "off":
        return None
    pattern = f"__udp_ckan{ckan.__version__}_jinja{jinja2.__version__}_%s.cache"
    try:
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            if not _private(directory):
                log.warning("udp: template cache %s refused: not a private directory of this user", directory)
                return None
            return _SafeCache(directory, pattern)
        # Jinja makes its default directory private and refuses one that is not
        return _SafeCache(None, pattern)
    except (OSError, RuntimeError) as exc:
        log.warning("udp: no template cache: %s", exc)
        return None


def install(app: Any, directory: str | None) -> None:
    """Let the Flask app's template environment use the cache."""
    app.jinja_env.bytecode_cache = bytecode_cache(directory)


__all__ = ["bytecode_cache", "install"]
