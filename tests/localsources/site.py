"""A real HTTP server on 127.0.0.1 (free port) serving what a test puts on it,
with the misbehaviours of real sources: a page that trickles a byte at a time,
a status code mid-run, a server that accepts and never answers, a redirect.

    with Site() as site:
        site.put("/catalog.rdf", body, "application/rdf+xml")
        site.put("/slow", body, trickle=1.0)      # one byte per second
        site.put("/gone", b"", status=404)
        harvest(site.url("/catalog.rdf"))
        site.requests   # the paths asked for, in order
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Route:
    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    trickle: float | None = None  # seconds between bytes
    hang: bool = False  # accept, read the request, never answer
    headers: dict[str, str] | None = None


class Site:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route | Callable[[str], Route]] = {}
        self.requests: list[str] = []
        self._stop = threading.Event()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _route(self) -> Route | None:
                site.requests.append(self.path)
                target = site.routes.get(self.path) or site.routes.get(urlsplit(self.path).path)
                if callable(target):
                    return target(self.path)
                return target

            def do_GET(self) -> None:
                self._answer(self._route())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.request_body = self.rfile.read(length)
                self._answer(self._route())

            def _answer(self, route: Route | None) -> None:
                if route is None:
                    route = Route(b"not found", "text/plain", 404)
                if route.hang:
                    site._stop.wait(120)
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for key, value in (route.headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if route.trickle is None:
                    self.wfile.write(route.body)
                    return
                for i in range(len(route.body)):
                    if site._stop.is_set():
                        return
                    try:
                        self.wfile.write(route.body[i : i + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(route.trickle)

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return self.base + path

    def put(
        self, path: str, body: bytes | str = b"", content_type: str = "application/octet-stream", **kwargs: object
    ) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, content_type, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def start(self) -> Site:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Site:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
