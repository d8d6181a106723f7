"""The browser panel's access guard: loopback serves plainly, any other address only to requests carrying the token."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
import viser
import websockets.asyncio.server
import websockets.sync.client
from isaac.rl.workbench.frontends.web.access import is_loopback, new_token, page_url, start_server
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

SUBPROTOCOLS = [Subprotocol(f"viser-v{viser.__version__}")]


@pytest.fixture(scope="module")
def guarded():
    """A token server on all interfaces (reached through 127.0.0.1); yields (port, token)."""
    token = new_token()
    server = start_server("0.0.0.0", 0, token)
    try:
        yield server.get_port(), token
    finally:
        server.stop()


def http_status(url: str) -> tuple[int, bytes, str]:
    """GET ``url``: (status, body, final URL after redirects)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(), response.geturl()
    except urllib.error.HTTPError as error:
        return error.code, error.read(), url


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.4.5.6", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_new_token_is_url_safe_and_fresh():
    first, second = new_token(), new_token()
    assert first != second
    assert len(first) == 32
    assert all(c.isalnum() or c in "-_" for c in first)


def test_page_url():
    assert page_url("127.0.0.1", 8080, None) == "http://127.0.0.1:8080/"
    assert page_url("::1", 8080, None) == "http://[::1]:8080/"
    assert page_url("myhost", 8080, "abc") == "http://myhost:8080/abc/"
    assert page_url("0.0.0.0", 9000, "abc") == f"http://{socket.gethostname()}:9000/abc/"


def test_non_loopback_without_token_is_refused():
    with pytest.raises(ValueError, match="'0.0.0.0'"):
        start_server("0.0.0.0", 0, None)


def test_malformed_token_is_refused():
    with pytest.raises(ValueError, match="token 'a/b'"):
        start_server("127.0.0.1", 0, "a/b")


def test_loopback_without_token_serves_plainly():
    server = start_server("127.0.0.1", 0, None)
    try:
        status, body, _ = http_status(f"http://127.0.0.1:{server.get_port()}/")
        assert status == 200
        assert b"<html" in body.lower()
    finally:
        server.stop()


def test_serve_is_restored_after_start(guarded):
    assert isinstance(websockets.asyncio.server.serve, type)  # the class itself, not the start-time wrapper


@pytest.mark.parametrize(
    "path",
    ["/", "/index.html", "/wrong/", "/wrong", "/?{token}", "//{token}/", "/{token}x/", "/x{token}/", "/%2e%2e/"],
)
def test_requests_without_the_token_get_403(guarded, path):
    port, token = guarded
    status, body, _ = http_status(f"http://127.0.0.1:{port}" + path.format(token=token))
    assert status == 403
    assert b"<html" not in body.lower()
    assert len(body) < 100


def test_the_token_path_serves_the_page(guarded):
    port, token = guarded
    status, body, _ = http_status(f"http://127.0.0.1:{port}/{token}/")
    assert status == 200
    assert b"<html" in body.lower()


def test_the_token_without_a_slash_redirects_to_the_page(guarded):
    port, token = guarded
    status, _, final = http_status(f"http://127.0.0.1:{port}/{token}")
    assert status == 200
    assert final == f"http://127.0.0.1:{port}/{token}/"


@pytest.mark.parametrize("rest", ["../", "../../etc/passwd", "%2e%2e/", "missing.js"])
def test_the_token_does_not_open_other_files(guarded, rest):
    port, token = guarded
    status, body, _ = http_status(f"http://127.0.0.1:{port}/{token}/{rest}")
    assert status != 200
    assert b"<html" not in body.lower()


@pytest.mark.parametrize("path", ["", "/", "/wrong", "/wrong/{token}"])
def test_websocket_without_the_token_is_refused(guarded, path):
    port, token = guarded
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(
            f"ws://127.0.0.1:{port}" + path.format(token=token), subprotocols=SUBPROTOCOLS, open_timeout=5
        )
    assert refused.value.response.status_code == 403


def test_websocket_with_the_token_is_served(guarded):
    port, token = guarded
    with websockets.sync.client.connect(
        f"ws://127.0.0.1:{port}/{token}", subprotocols=SUBPROTOCOLS, open_timeout=5
    ) as connection:
        assert connection.recv(timeout=5)


def test_token_server_needs_the_pinned_viser(monkeypatch):
    monkeypatch.setattr(viser, "__version__", "0.0.0")
    with pytest.raises(RuntimeError, match="viser 0.0.0 is installed"):
        start_server("0.0.0.0", 0, new_token())
