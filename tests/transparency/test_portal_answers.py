"""What the portal client makes of answers that are no Action API answers: a proxy's
HTML page, JSON without ``result``, an answer cut off mid-body, a garbled status line,
an error page without JSON. Each one is a ``PortalError`` (so the dataset fails with
backoff and the drift page shows a German message), never another exception, and
never with the token in it. The answers come from a real local HTTP server."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from ckanext.udp.transparency.portal import Portal, PortalError

TOKEN = "geheimes-token-4711"

# action -> (status, body, declared length or None)
ANSWERS: dict[str, tuple[int, bytes, int | None]] = {
    "html_page": (200, b"<html><body>Wartungsarbeiten</body></html>", None),
    "json_without_result": (200, b'{"success": true}', None),
    "json_list": (200, b"[1, 2, 3]", None),
    "not_utf8": (200, b"\xff\xfe{", None),
    "cut_off": (200, b'{"success": true, "result": {"na', 4096),
    "error_page_html": (502, b"<html>Bad Gateway</html>", None),
    "error_json_list": (409, b'["kaputt"]', None),
    "error_cut_off": (409, b'{"error": {"name": ["schon verg', 4096),
    "error_with_json": (409, b'{"success": false, "error": {"name": ["Dieser URL ist bereits vergeben."]}}', None),
    "fine": (200, b'{"success": true, "result": {"name": "ok"}}', None),
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        action = self.path.rsplit("/", 1)[-1]
        if action == "garbled_status":
            self.wfile.write(b"KAPUTT\r\n\r\n")
            return
        status, body, length = ANSWERS[action]
        self.send_response(status)
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)
        if length is not None:  # fewer bytes than declared, then the connection closes
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Portal(f"http://127.0.0.1:{server.server_address[1]}", TOKEN, timeout=5)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "action, status",
    [
        ("html_page", 502),
        ("json_without_result", 502),
        ("json_list", 502),
        ("not_utf8", 502),
        ("cut_off", 0),
        ("garbled_status", 0),
        ("error_page_html", 502),
        ("error_json_list", 409),
        ("error_cut_off", 409),
    ],
)
def test_an_answer_that_is_no_action_api_answer_is_a_portal_error(portal: Portal, action: str, status: int) -> None:
    with pytest.raises(PortalError) as err:
        portal.call(action, name="x")
    assert err.value.status == status
    assert err.value.error is None or isinstance(err.value.error, str)
    assert TOKEN not in str(err.value)


def test_an_action_api_error_keeps_its_error_object(portal: Portal) -> None:
    with pytest.raises(PortalError) as err:
        portal.call("error_with_json", name="x")
    assert err.value.status == 409
    assert err.value.error == {"name": ["Dieser URL ist bereits vergeben."]}


def test_a_good_answer_is_its_result(portal: Portal) -> None:
    assert portal.call("fine") == {"name": "ok"}
