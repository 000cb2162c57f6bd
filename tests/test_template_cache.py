"""The portal's workers share their compiled templates (``portal/templatecache.py``):
a template one worker compiled is loaded, not compiled again, by the next."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import jinja2
import pytest

from ckanext.udp.portal import templatecache

pytestmark = pytest.mark.usefixtures("with_plugins")


@pytest.mark.ckan_config("ckanext.udp.template_cache_dir", "")
def test_a_new_worker_loads_the_templates_another_one_compiled(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    env = app.flask_app.jinja_env
    assert isinstance(env.bytecode_cache, jinja2.FileSystemBytecodeCache)
    assert app.get("/dataset/").status_code == 200  # compiled here (or loaded from an earlier run)
    # a new worker: none of the templates in its memory
    env.cache.clear()
    compiled: list[str] = []
    real = env.compile

    def compile_(source: Any, name: Any = None, filename: Any = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(filename or name))
        return real(source, name, filename, *args, **kwargs)

    monkeypatch.setattr(env, "compile", compile_)
    page = app.get("/dataset/")
    assert page.status_code == 200 and "Datensätze" in page.body
    assert compiled == []
    # the control: without the shared cache the same page compiles its templates again
    monkeypatch.setattr(env, "bytecode_cache", None)
    env.cache.clear()
    assert app.get("/dataset/").status_code == 200
    assert len(compiled) > 10


def test_a_configured_directory_is_private_and_off_switches_it_off(tmp_path: pathlib.Path) -> None:
    directory = tmp_path / "templates"
    cache = templatecache.bytecode_cache(str(directory))
    assert cache is not None and directory.is_dir()
    assert directory.stat().st_mode & 0o077 == 0
    assert templatecache.bytecode_cache("off") is None
    default = templatecache.bytecode_cache("")
    assert default is not None and os.stat(default.directory).st_uid == os.getuid()
