"""The portal's workers share their compiled templates (``portal/templatecache.py``):
a template one worker compiled is loaded, not compiled again, by the next."""

from __future__ import annotations

import os
import pathlib
import shutil
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


def test_a_directory_others_may_write_or_own_is_refused(tmp_path: pathlib.Path) -> None:
    """Compiled code is loaded from the directory: one that others could fill is not used."""
    open_to_all = tmp_path / "offen"
    open_to_all.mkdir(mode=0o777)
    open_to_all.chmod(0o777)
    assert templatecache.bytecode_cache(str(open_to_all)) is None
    foreign = tmp_path / "fremd"
    foreign.mkdir(mode=0o700)
    if os.getuid() == 0:  # only root can give a directory away
        os.chown(foreign, 65534, 65534)
        assert templatecache.bytecode_cache(str(foreign)) is None
    link = tmp_path / "verweis"
    link.symlink_to(tmp_path / "templates-real", target_is_directory=True)
    (tmp_path / "templates-real").mkdir(mode=0o700)
    assert templatecache.bytecode_cache(str(link)) is None


def test_a_cache_that_cannot_be_written_costs_only_the_cache(
    app: Any, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory removed under a running worker (a temp cleaner): pages still render."""
    directory = tmp_path / "weg"
    cache = templatecache.bytecode_cache(str(directory))
    assert cache is not None
    shutil.rmtree(directory)
    env = app.flask_app.jinja_env
    monkeypatch.setattr(env, "bytecode_cache", cache)
    env.cache.clear()
    page = app.get("/dataset/")
    assert page.status_code == 200 and "Datensätze" in page.body
