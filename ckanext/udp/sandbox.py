"""Run a parser of files from outside in a child process with limits.

Files that stewards upload or link (NetCDF/HDF5, GeoTIFF, CityJSON, 3D Tiles) are read by
C libraries and parsers that trust the file: a header may declare a dimension of billions of
values, a compressed band may unpack to gigabytes, a JSON document may nest millions of
levels deep. Read in the web process, such a file takes the worker's memory or time with it.
:func:`run` reads them in a fresh Python process instead, limited by

- address space (``RLIMIT_AS``: memory), CPU seconds (``RLIMIT_CPU``), size of files it
  writes (``RLIMIT_FSIZE``), no core dumps, set in the child before anything is imported;
- a wall-clock timeout (a child that sleeps or waits on I/O is killed as well);
- the size of its answer (read in chunks; more than allowed and the child is killed).

A child that exceeds a limit is killed (its own process group) and :class:`LimitExceeded`
says which limit: callers turn it into a finding for the steward, never an error page.

Input and output are JSON (never pickle: the child reads hostile data and is not trusted
beyond its answer). The callable is named ``module:function`` and must live in a
``ckanext.udp.`` module; its keyword arguments and return value are JSON values.

A neutral module: it imports nothing of CKAN; ``udp_twin`` (upload probe) and ``udp_grid``
(grid preview) use it.
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

MB = 1024 * 1024
#: what the child inherits of the environment (no secrets, no CKAN_INI): the rest is dropped
ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "PYTHONPATH", "VIRTUAL_ENV")
ENV_PREFIXES = ("PROJ_", "HDF5_", "NETCDF")
#: one thread each: thread pools reserve address space the memory limit would count
ENV_FIXED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
STDERR_KEPT = 4096
#: what a child's stderr says when an allocation failed in C (no Python MemoryError)
MEMORY_WORDS = (b"MemoryError", b"bad_alloc", b"Cannot allocate memory", b"out of memory", b"Out of memory")


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 1024
    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    output_bytes: int = 32 * MB
    file_bytes: int = 16 * MB


class LimitExceeded(Exception):
    """The child was stopped: ``reason`` is ``memory``, ``time``, ``output`` or ``crashed``."""

    def __init__(self, reason: str, limits: Limits, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.limits = limits
        self.detail = detail


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ENV_KEEP or k.startswith(ENV_PREFIXES)}
    env.update(ENV_FIXED)
    return env


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and whatever it started (its own session, see ``run``)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run(call: str, kwargs: dict[str, Any], limits: Limits | None = None) -> Any:
    """``call(**kwargs)`` in a limited child process; its JSON return value, or
    :class:`LimitExceeded`."""
    limits = limits or Limits()
    request = json.dumps({"call": call, "kwargs": kwargs, "limits": asdict(limits)}).encode()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ckanext.udp.sandbox import child; child()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        close_fds=True,
        start_new_session=True,  # its own process group: killed whole
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + limits.wall_seconds
    out = bytearray()
    err = b""
    try:
        try:
            proc.stdin.write(request)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # it died at once: its exit status says why
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ, "out")
            sel.register(proc.stderr, selectors.EVENT_READ, "err")
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    _kill(proc)
                    raise LimitExceeded("time", limits, f"more than {limits.wall_seconds} s")
                for key, _ in sel.select(left):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                    elif key.data == "out":
                        out += chunk
                        if len(out) > limits.output_bytes:
                            _kill(proc)
                            raise LimitExceeded("output", limits, f"more than {limits.output_bytes} bytes")
                    else:
                        err = (err + chunk)[-STDERR_KEPT:]
        try:
            code = proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise LimitExceeded("time", limits, f"more than {limits.wall_seconds} s") from None
    finally:
        if proc.returncode is None:
            _kill(proc)
        proc.stdout.close()
        proc.stderr.close()
    if code in (-signal.SIGXCPU, -signal.SIGKILL):  # the soft, then the hard CPU limit
        raise LimitExceeded("time", limits, f"more than {limits.cpu_seconds} CPU seconds")
    if code == -signal.SIGXFSZ:
        raise LimitExceeded("crashed", limits, "wrote too large a file")
    try:
        answer = json.loads(bytes(out)) if code == 0 else None
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "ok" in answer:
        return answer["ok"]
    if (isinstance(answer, dict) and answer.get("limit") == "memory") or any(w in err for w in MEMORY_WORDS):
        raise LimitExceeded("memory", limits, f"more than {limits.memory_mb} MB")
    detail = err.decode("utf-8", "replace").strip().rsplit("\n", 1)[-1][:300]
    raise LimitExceeded("crashed", limits, f"exit status {code}: {detail}")


def _limit(which: int, soft: int, hard: int | None = None) -> None:
    """Lower a limit of this process (never above the hard limit it inherited)."""
    import resource

    hard = soft if hard is None else hard
    _, inherited = resource.getrlimit(which)
    if inherited != resource.RLIM_INFINITY:
        soft, hard = min(soft, inherited), min(hard, inherited)
    resource.setrlimit(which, (soft, hard))


def child() -> None:
    """The child's side: limits first, then the call; its answer as JSON on stdout."""
    import resource

    request = json.loads(sys.stdin.buffer.read())
    limits = Limits(**request["limits"])
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_AS, limits.memory_mb * MB)
    # soft: SIGXCPU (ends the child); hard, a second later: SIGKILL
    _limit(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1)
    _limit(resource.RLIMIT_FSIZE, limits.file_bytes)
    module_name, _, function = str(request["call"]).partition(":")
    if not module_name.startswith("ckanext.udp."):
        raise SystemExit(f"not a ckanext.udp callable: {request['call']}")
    try:
        result = getattr(importlib.import_module(module_name), function)(**request["kwargs"])
        answer = json.dumps({"ok": result})
    except MemoryError:
        answer = json.dumps({"limit": "memory"})
    sys.stdout.write(answer)
    sys.stdout.flush()


def exercise(what: str, amount: int = 0) -> Any:
    """Misbehaviour on purpose, to check that the limits hold on this machine (the tests
    call it; so may an operator): ``allocate`` bytes, ``spin`` the CPU, ``sleep`` seconds,
    ``flood`` the answer with bytes, ``env``: the names of the environment, ``echo``."""
    if what == "allocate":
        return len(bytearray(amount))
    if what == "spin":
        while True:
            amount += 1
    if what == "sleep":
        time.sleep(amount)
        return amount
    if what == "flood":
        sys.stdout.write("x" * amount)
        return 0
    if what == "env":
        return sorted(os.environ)
    return amount
