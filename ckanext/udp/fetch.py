"""Defensive HTTP for everything that reads from outside: harvesters, the
SensorThings mirror, later the transparency sync. Neutral: no plugin owns it.

One rule set for every request (:class:`Policy`, from the ``ckanext.udp.fetch.*``
options):

- http and https only;
- the host must resolve to public addresses only: private, loopback,
  link-local, shared, reserved and multicast addresses are refused unless they
  lie in ``ckanext.udp.fetch.allowed_networks`` (tests allow 127.0.0.1). The
  check runs at connect time on the address actually connected to (a name that
  resolves differently later, DNS rebinding, is caught), not only when a source
  is saved (:func:`check_url` for that);
- a timeout for connecting, one for each read, and a deadline for the whole
  response (a server trickling a byte at a time is cut off);
- a size cap, counted on the decoded body while it is read;
- redirects are followed only within the same scheme, host and port, at most
  ``max_redirects`` times; every hop goes through the same checks;
- no proxies from the environment (a proxy would connect for us, unchecked).

Use :class:`Fetcher` to keep connections across pages, or :func:`fetch` for
one request. Errors are :class:`FetchError` (with subclasses) carrying a
message that names the URL and the reason.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import connection as u3connection

CHUNK = 16384
OPTIONS: dict[str, tuple[Any, str]] = {
    "ckanext.udp.fetch.allowed_networks": (
        "",
        (
            "Private, loopback or link-local addresses (IPs or CIDR networks, space separated) that "
            "harvest sources and other outside URLs may nevertheless point at; empty: none. Tests "
            "allow 127.0.0.1."
        ),
    ),
    "ckanext.udp.fetch.connect_timeout": (10, "Seconds to wait for a TCP connection."),
    "ckanext.udp.fetch.read_timeout": (30, "Seconds to wait for each read of an answer."),
    "ckanext.udp.fetch.deadline": (120, "Seconds within which a whole answer must have arrived."),
    "ckanext.udp.fetch.max_bytes": (52428800, "Largest answer read from outside, in bytes (default 50 MiB)."),
    "ckanext.udp.fetch.max_redirects": (5, "Redirects followed per request (same scheme, host and port only)."),
}


class FetchError(Exception):
    """A request that did not bring a usable answer; ``str()`` says why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class UnsafeURL(FetchError):
    """Refused before any request: scheme, host or address not allowed."""


class TooLarge(FetchError):
    pass


class Timeout(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, url: str, status: int) -> None:
        super().__init__(url, f"the server answered HTTP {status}")
        self.status = status


# --- policy ------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Policy:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 120.0
    max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 5
    allowed_networks: tuple[Network, ...] = field(default_factory=tuple)
    user_agent: str = "ckanext-udp harvester (Urbane Datenplattform Karlsruhe)"

    def but(self, **changes: Any) -> Policy:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def parse_networks(text: str | Iterable[str] | None) -> tuple[Network, ...]:
    """``"127.0.0.1 10.1.0.0/16"`` -> networks; ValueError naming a bad entry."""
    items = text.split() if isinstance(text, str) else list(text or [])
    out = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {item!r}") from None
    return tuple(out)


def policy_from_config(**overrides: Any) -> Policy:
    """The policy the ``ckanext.udp.fetch.*`` options describe (outside a CKAN
    app, the defaults), with ``overrides`` (None values ignored)."""
    try:
        import ckan.plugins.toolkit as tk

        cfg: Mapping[str, Any] = tk.config
    except Exception:  # pragma: no cover - plain scripts
        cfg = {}

    def get(key: str) -> Any:
        value = cfg.get(key)
        return OPTIONS[key][0] if value in (None, "") else value

    policy = Policy(
        connect_timeout=float(get("ckanext.udp.fetch.connect_timeout")),
        read_timeout=float(get("ckanext.udp.fetch.read_timeout")),
        deadline=float(get("ckanext.udp.fetch.deadline")),
        max_bytes=int(get("ckanext.udp.fetch.max_bytes")),
        max_redirects=int(get("ckanext.udp.fetch.max_redirects")),
        allowed_networks=parse_networks(get("ckanext.udp.fetch.allowed_networks")),
    )
    return policy.but(**overrides)


def declare_options(declaration: Any, key: Any) -> None:
    """Declare the ``ckanext.udp.fetch.*`` options once, whichever plugin that
    uses this module is loaded first (an IConfigDeclaration helper)."""
    for name, (default, description) in OPTIONS.items():
        if name in declaration:
            continue
        option = declaration.declare(name, default)
        option.set_description(description)


# --- addresses -----------------------------------------------------------------


def address_allowed(ip: str, policy: Policy) -> bool:
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if any(addr in net for net in policy.allowed_networks):
        return True
    return addr.is_global and not addr.is_multicast


def resolve(host: str, port: int, policy: Policy) -> list[tuple[int, tuple[Any, ...]]]:
    """The addresses ``host`` resolves to, all of them allowed, else UnsafeURL."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise FetchError(host, f"the host name cannot be resolved ({err})") from None
    if not infos:
        raise FetchError(host, "the host name cannot be resolved")
    out: list[tuple[int, tuple[Any, ...]]] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if not address_allowed(str(sockaddr[0]), policy):
            raise UnsafeURL(
                host,
                f"the address {sockaddr[0]} is private, loopback, link-local or "
                "reserved; it is not in ckanext.udp.fetch.allowed_networks",
            )
        out.append((family, sockaddr))
    return out


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL(url, f"only http and https URLs are fetched, not {scheme or 'a URL without scheme'!r}")
    if not parts.hostname:
        raise UnsafeURL(url, "the URL names no host")
    if parts.username or parts.password:
        raise UnsafeURL(url, "URLs with credentials are not fetched")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL(url, "the URL has an invalid port") from None
    return scheme, parts.hostname.lower(), port


def check_url(url: str, policy: Policy | None = None) -> str:
    """For saving a source: the URL is http(s) and its host resolves only to
    allowed addresses. Returns the URL; raises UnsafeURL / FetchError. The
    same checks run again on every request."""
    policy = policy or policy_from_config()
    _scheme, host, port = _origin(url)
    resolve(host, port, policy)
    return url


# --- guarded connections ---------------------------------------------------------


class _Guarded:
    """Connects only to the checked addresses of the host (no second lookup)."""

    udp_policy: Policy
    _dns_host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        last: Exception | None = None
        for _family, sockaddr in resolve(self._dns_host, self.port, self.udp_policy):
            try:
                return u3connection.create_connection(
                    (sockaddr[0], sockaddr[1]),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as err:
                last = err
        raise urllib3.exceptions.NewConnectionError(self, f"cannot connect to {self._dns_host}: {last}")  # type: ignore[arg-type]


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    def __init__(self, *args: Any, udp_policy: Policy, **kwargs: Any) -> None:
        self.udp_policy = udp_policy
        super().__init__(*args, **kwargs)


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    def __init__(self, *args: Any, udp_policy: Policy, **kwargs: Any) -> None:
        self.udp_policy = udp_policy
        super().__init__(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


# --- requests --------------------------------------------------------------------


@dataclass
class Response:
    url: str  # after redirects
    status: int
    headers: dict[str, str]
    content: bytes = b""
    size: int = 0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class Fetcher:
    """Keeps one connection pool per origin across requests (pages of a
    catalog). ``with Fetcher() as f: f.get(url)``."""

    def __init__(self, policy: Policy | None = None, **overrides: Any) -> None:
        self.policy = (policy or policy_from_config()).but(**overrides)
        self._pools: dict[tuple[str, str, int], HTTPConnectionPool] = {}

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def _pool(self, origin: tuple[str, str, int]) -> HTTPConnectionPool:
        pool = self._pools.get(origin)
        if pool is None:
            scheme, host, port = origin
            cls = _HTTPSPool if scheme == "https" else _HTTPPool
            timeout = urllib3.Timeout(connect=self.policy.connect_timeout, read=self.policy.read_timeout)
            pool = cls(host, port, timeout=timeout, maxsize=1, block=False, retries=False, udp_policy=self.policy)
            self._pools[origin] = pool
        return pool

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, body: bytes, **kwargs: Any) -> Response:
        return self.request("POST", url, body=body, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        sink: IO[bytes] | None = None,
        ok_statuses: Iterable[int] = (200,),
    ) -> Response:
        """One answer (following same-origin redirects). The body is returned
        in ``content``, or written to ``sink`` (then ``content`` is empty and
        ``size`` says how much was written). A status outside ``ok_statuses``
        raises HTTPStatusError."""
        policy = self.policy
        deadline = time.monotonic() + policy.deadline
        origin = _origin(url)
        send_headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "identity"}
        send_headers.update(headers or {})
        for _hop in range(policy.max_redirects + 1):
            if _origin(url) != origin:
                raise UnsafeURL(url, "a redirect leaves the source's scheme, host and port; not followed")
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            try:
                res = self._pool(origin).urlopen(
                    method,
                    path,
                    body=body,
                    headers=send_headers,
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    assert_same_host=False,
                )
            except UnsafeURL as err:  # raised at connect time, naming the host only
                raise UnsafeURL(url, err.reason) from None
            except FetchError as err:
                raise FetchError(url, err.reason) from None
            except urllib3.exceptions.TimeoutError as err:
                raise Timeout(url, f"no answer in time ({err})") from None
            except Urllib3Error as err:
                raise FetchError(url, f"request failed ({err})") from None
            try:
                if res.status in (301, 302, 303, 307, 308) and res.headers.get("location"):
                    url = urljoin(url, res.headers["location"])
                    if res.status == 303:
                        method, body = "GET", None
                    res.close()
                    continue
                if res.status not in set(ok_statuses):
                    raise HTTPStatusError(url, res.status)
                out = self._read(res, url, deadline, sink)
            except BaseException:
                res.close()  # never drain: the rest may be huge or never come
                raise
            res.release_conn()
            return out
        raise FetchError(url, f"more than {policy.max_redirects} redirects")

    def _read(self, res: Any, url: str, deadline: float, sink: IO[bytes] | None) -> Response:
        policy = self.policy
        out = Response(url=url, status=res.status, headers={k.lower(): v for k, v in res.headers.items()})
        declared = res.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > policy.max_bytes:
            raise TooLarge(url, f"the answer is larger than {policy.max_bytes} bytes")
        chunks: list[bytes] = []
        while True:
            if time.monotonic() > deadline:
                raise Timeout(url, f"no complete answer within {policy.deadline:g} s")
            try:
                chunk = res.read1(CHUNK, decode_content=True)
            except urllib3.exceptions.TimeoutError as err:
                raise Timeout(url, f"the answer stalled ({err})") from None
            except (Urllib3Error, OSError) as err:
                raise FetchError(url, f"the answer broke off ({err})") from None
            if not chunk:
                break
            out.size += len(chunk)
            if out.size > policy.max_bytes:
                raise TooLarge(url, f"the answer is larger than {policy.max_bytes} bytes")
            if sink is not None:
                sink.write(chunk)
            else:
                chunks.append(chunk)
        if time.monotonic() > deadline:
            raise Timeout(url, f"no complete answer within {policy.deadline:g} s")
        out.content = b"".join(chunks)
        return out


def fetch(url: str, *, policy: Policy | None = None, **kwargs: Any) -> Response:
    """One request with a fresh :class:`Fetcher` (see :meth:`Fetcher.request`)."""
    method = kwargs.pop("method", "GET")
    with Fetcher(policy) as fetcher:
        return fetcher.request(method, url, **kwargs)


__all__ = [
    "FetchError",
    "UnsafeURL",
    "TooLarge",
    "Timeout",
    "HTTPStatusError",
    "Policy",
    "Response",
    "Fetcher",
    "fetch",
    "check_url",
    "policy_from_config",
    "declare_options",
    "parse_networks",
    "address_allowed",
    "OPTIONS",
]
