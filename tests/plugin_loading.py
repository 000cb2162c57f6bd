"""Plugin loading at the speed of production, for the tests.

CKAN's ``with_plugins`` and ``app`` fixtures load every plugin again for each test.
Three costs of that loading are fine once at start-up but dominated the suite's set-up
times (about 60 % of a test's set-up in a profile of tests/security/test_channels.py):

- ``toolkit.add_template_directory``, ``add_public_directory`` and ``add_resource``
  find their caller's file with ``inspect.stack()``, which also reads the source
  lines of every frame of the stack. Under pytest the stack is deep and holds frames
  without a module file, and for each such frame ``inspect.getmodule`` walks all of
  ``sys.modules``: about 0.15 s per call, some 20 calls per loading.
- CKAN's config declarations, ckanext-scheming's schemas and the webassets
  bundles are read with ``yaml.safe_load`` at each loading, in pure Python.
- ``ckan.plugins.core._get_service`` asks ``importlib.metadata.entry_points`` for each
  plugin, which reads the metadata of every installed distribution each time.

``install()`` swaps in equivalents: the caller's file from ``sys._getframe`` (the same
frame ``inspect.stack`` names), ``yaml.safe_load`` with libyaml's parser (PyYAML's
``CSafeLoader``, the same safe loader in C) and entry points looked up once per
(group, name).
What the plugins register is unchanged; tests/test_plugin_loading.py compares both.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

import ckan.plugins.core as core
import ckan.plugins.toolkit as toolkit
import yaml

ORIGINAL = {
    "_add_served_directory": toolkit._add_served_directory,
    "add_resource": toolkit.add_resource,
    "entry_points": core.entry_points,
    "safe_load": yaml.safe_load,
}


def _caller_dir(depth: int) -> str:
    # depth counts from the function that asks: 1 is its caller
    return os.path.dirname(sys._getframe(depth + 1).f_code.co_filename)


def _add_served_directory(config_: Any, relative_path: str, config_var: str) -> str:
    assert config_var in ("plugin_template_paths", "plugin_public_paths")
    # 0: this function, 1: add_template_directory/add_public_directory, 2: the plugin
    absolute_path = os.path.join(_caller_dir(2), relative_path)
    if absolute_path not in config_.get(config_var, []):
        config_[config_var] = [absolute_path] + list(config_.get(config_var, []))
    return absolute_path


def add_resource(path: str, name: str) -> None:
    from ckan.lib.webassets_tools import create_library

    create_library(name, os.path.join(_caller_dir(1), path))


@functools.cache
def _entry_points(group: str, name: str) -> Any:
    return ORIGINAL["entry_points"](group=group, name=name)


def entry_points(**selection: Any) -> Any:
    if set(selection) == {"group", "name"}:
        return _entry_points(selection["group"], selection["name"])
    return ORIGINAL["entry_points"](**selection)


def safe_load(stream: Any) -> Any:
    return yaml.load(stream, Loader=yaml.CSafeLoader)


def install() -> None:
    yaml.safe_load = safe_load
    toolkit._add_served_directory = _add_served_directory
    toolkit.add_resource = add_resource
    core.entry_points = entry_points


def uninstall() -> None:
    yaml.safe_load = ORIGINAL["safe_load"]
    toolkit._add_served_directory = ORIGINAL["_add_served_directory"]
    toolkit.add_resource = ORIGINAL["add_resource"]
    core.entry_points = ORIGINAL["entry_points"]
