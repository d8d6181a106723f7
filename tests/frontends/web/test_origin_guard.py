"""A web page the user visits can neither read nor drive the panel: real servers (``start_server``, and the whole
panel through ``serve``) on a free port, reached by a real WebSocket client (``websockets``) that sends the Origin
and Host a browser would send from a foreign page (cross-site WebSocket hijacking) or after DNS rebinding."""

from __future__ import annotations

import http.client
import socket
import time

import msgspec
import pytest
import viser
import websockets.sync.client
import zstandard
from isaac.rl.workbench.frontends.web.access import new_token, start_server
from isaac.rl.workbench.frontends.web.app import serve
from isaac.rl.workbench.specs.loader import load_spec
from viser._messages import GuiUpdateMessage, ViewerCameraMessage
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

SUBPROTOCOLS = [Subprotocol(f"viser-v{viser.__version__}")]
EVIL = "http://evil.example"


def connect(port: int, origin: str | None = None, host: str | None = None, path: str = "/", address: str = "127.0.0.1"):
    """A WebSocket handshake with ``address:port`` as a browser on a page at ``origin`` sends it, with ``Host:
    host`` (the name in the page's URL; default ``address:port``)."""
    sock = socket.create_connection((address, port), timeout=5)
    uri = f"ws://{host or f'{address}:{port}'}{path}"
    return websockets.sync.client.connect(
        uri, sock=sock, origin=None if origin is None else Origin(origin), subprotocols=SUBPROTOCOLS, open_timeout=5
    )


def refused(port: int, **kwargs) -> tuple[int, bytes]:
    """(status, body) of a handshake that must fail."""
    with pytest.raises(InvalidStatus) as caught:
        connect(port, **kwargs).close()
    return caught.value.response.status_code, caught.value.response.body


def get(port: int, host: str, path: str = "/", address: str = "127.0.0.1") -> tuple[int, bytes]:
    """(status, body) of ``GET path`` with ``Host: host``, as a browser sends it for the page."""
    connection = http.client.HTTPConnection(address, port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def first_message(connection) -> bytes:
    """The first message the server sends a connected client (the panel's state, replayed), unpacked: viser sends
    its size, its zstd-compressed size, then the compressed msgpack."""
    frame = connection.recv(timeout=5)
    size, compressed = int.from_bytes(frame[:8], "little"), int.from_bytes(frame[8:16], "little")
    return zstandard.ZstdDecompressor().decompress(frame[16 : 16 + compressed], max_output_size=size)


@pytest.fixture
def loopback():
    server = start_server("127.0.0.1", 0, None)
    yield server.get_port()
    server.stop()


# -- the guard on a loopback bind ----------------------------------------------------------------------------------
def test_a_foreign_origin_is_refused_before_any_state_is_sent(loopback, capfd):
    port = loopback
    status, body = refused(port, origin=EVIL)
    assert status == 403
    reason = f"Origin '{EVIL}' is not this panel's page (serve --allow-origin ORIGIN admits another)"
    assert body == f"Forbidden: {reason}\n".encode()
    assert refused(port, origin=f"http://evil.example:{port}")[0] == 403
    assert refused(port, origin="null")[0] == 403
    assert "serve: refused a request: Origin 'http://evil.example'" in capfd.readouterr().err


def test_a_foreign_host_is_refused_for_the_page_and_the_upgrade(loopback):
    port = loopback
    status, body = get(port, f"evil.example:{port}")
    assert status == 403 and body.startswith(f"Forbidden: Host 'evil.example:{port}' is not".encode())
    assert b"<html" not in body.lower()
    assert refused(port, host=f"evil.example:{port}")[0] == 403  # a rebound name: no Origin check would catch it
    assert refused(port, host=f"evil.example:{port}", origin=f"http://evil.example:{port}")[0] == 403
    assert get(port, f"127.0.0.1:{port + 1}")[0] == 403, "another port is another site"


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_the_panels_own_origin_and_host_are_served(loopback, name):
    port = loopback
    status, body = get(port, f"{name}:{port}")
    assert status == 200 and b"<html" in body.lower()
    with connect(port, origin=f"http://{name}:{port}", host=f"{name}:{port}") as connection:
        assert first_message(connection)


def test_a_program_without_origin_is_served(loopback):
    with connect(loopback) as connection:
        assert first_message(connection)


def test_allow_origin_admits_that_origin_and_its_host():
    server = start_server("127.0.0.1", 0, None, ["https://lab.example.com"])
    port = server.get_port()
    try:
        assert get(port, "lab.example.com")[0] == 200  # a proxy passing the browser's Host on
        with connect(port, origin="https://lab.example.com", host="lab.example.com") as connection:
            assert first_message(connection)
        with connect(port, origin="https://lab.example.com") as connection:  # a proxy sending its upstream's Host
            assert first_message(connection)
        assert refused(port, origin=EVIL)[0] == 403
        assert refused(port, origin="https://lab.example.com", host=f"evil.example:{port}")[0] == 403
    finally:
        server.stop()


def test_allow_origin_star_lets_any_page_in():
    server = start_server("127.0.0.1", 0, None, ["*"])
    port = server.get_port()
    try:
        with connect(port, origin=EVIL, host=f"evil.example:{port}") as connection:
            assert first_message(connection)
    finally:
        server.stop()


def test_a_malformed_allowed_origin_starts_nothing():
    with pytest.raises(ValueError, match="'lab.example.com': expected an origin"):
        start_server("127.0.0.1", 0, None, ["lab.example.com"])


def test_a_loopback_server_is_refused_rather_than_started_unguarded(monkeypatch):
    monkeypatch.setattr(viser, "__version__", "0.0.0")
    with pytest.raises(RuntimeError, match="viser 0.0.0 is installed"):
        start_server("127.0.0.1", 0, None)


# -- the guard on a non-loopback bind, with its token ---------------------------------------------------------------
def _public_address() -> str | None:
    """This machine's address on its default route (no packet is sent), None when it has none."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 9))
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


PUBLIC = _public_address()


@pytest.mark.skipif(PUBLIC is None, reason="this machine has no non-loopback address")
@pytest.mark.parametrize("bind", ["0.0.0.0", "public"])
def test_a_token_bind_checks_origin_and_host_as_well(bind):
    token = new_token()
    server = start_server(PUBLIC if bind == "public" else bind, 0, token)
    port, at = server.get_port(), {"address": PUBLIC}
    try:
        own = f"{PUBLIC}:{port}"
        assert get(port, own, f"/{token}/", **at)[0] == 200
        with connect(port, origin=f"http://{own}", path=f"/{token}", **at) as connection:
            assert first_message(connection)
        assert refused(port, origin=EVIL, path=f"/{token}", **at)[0] == 403
        assert refused(port, host=f"evil.example:{port}", path=f"/{token}", **at)[0] == 403
        assert get(port, f"evil.example:{port}", f"/{token}/", **at)[0] == 403
        assert refused(port, origin=f"http://{own}", path="/wrong", **at)[0] == 403, "and the token is still needed"
    finally:
        server.stop()


# -- the whole panel: a foreign page gets nothing and changes nothing; its own page reads and drives it -----------
def encoded(message) -> bytes:
    """A message as the viser client sends it (msgpack)."""
    return msgspec.msgpack.encode(message.as_serializable_dict())


def click(handle) -> bytes:
    """The message the viser client sends when a button is pressed."""
    return encoded(GuiUpdateMessage(handle._impl.uuid, {"value": True}))


CAMERA = encoded(  # the browser's first message: its camera (viser takes a client as connected from then on)
    ViewerCameraMessage((1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 5.0), 1.0, 0.01, 100.0, 600, 800, (0.0, 0.0, 0.0), (0, 0, 1.0))
)


def until(condition, timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def panel(tmp_path):
    """``serve cartpole`` on 127.0.0.1 (a free port) with "save as" pointing at an existing spec of the user's;
    yields (app, that file, its bytes, the clients that ever connected)."""
    folder = tmp_path / "specs"
    folder.mkdir()
    target = folder / "mine.toml"
    target.write_bytes(b"# the user's own spec\nname = 'mine'\n")
    app, _ = serve("cartpole", port=0, runs_dir=tmp_path / "runs", scenes=[folder], block=False)
    connected = []  # every WebSocket whose handshake succeeded (viser's own handler, pinned viser)
    app.server._websock_server.on_client_connect(connected.append)
    app.spec.save_path.value = str(target)
    yield app, target, target.read_bytes(), connected
    app.model.close()
    app.close()
    app.server.stop()


def test_a_foreign_page_can_neither_read_nor_drive_the_panel(panel):
    app, target, original, connected = panel
    port, messages = app.server.get_port(), list(app.model.messages)
    for attempt in ({"origin": EVIL}, {"host": f"evil.example:{port}"}, {"origin": EVIL, "host": "evil.example"}):
        with pytest.raises(InvalidStatus) as caught:
            connection = connect(port, **attempt)
            connection.send(CAMERA)  # never reached: the handshake failed
            connection.send(click(app.spec.save_button))
            time.sleep(0.5)
            connection.send(click(app.spec.overwrite_button))
        assert caught.value.response.status_code == 403
        assert b"Save spec" not in caught.value.response.body, "no state in the refusal"
    time.sleep(0.5)  # what a click would have done has had its time
    assert connected == [] and app.server.get_clients() == {}, "no client was ever connected"
    assert target.read_bytes() == original and app.model.messages == messages and app.model.save_conflict is None


def test_the_panels_own_page_reads_it_and_saves_over_a_file_only_when_confirmed(panel):
    """The control for the test above (the same click works from the panel's own page), and the web panel's
    confirmation: Save over an existing file leaves it byte-identical and asks; Overwrite writes it."""
    app, target, original, connected = panel
    port = app.server.get_port()
    with connect(port, origin=f"http://127.0.0.1:{port}") as connection:
        state = b""
        while b"Save spec" not in state:
            state += first_message(connection)
        until(lambda: len(connected) == 1, what="the client to connect")
        connection.send(CAMERA)
        connection.send(click(app.spec.save_button))
        until(lambda: app.model.save_conflict == target, what="the question")
        until(lambda: app.spec.overwrite_button.visible, what="the Overwrite button")
        assert app.spec.overwrite_button.label == "Overwrite mine.toml"
        assert target.read_bytes() == original, "Save alone left the existing file as it was"
        connection.send(click(app.spec.overwrite_button))
        until(lambda: target.read_bytes() != original, what="the overwrite")
        until(lambda: not app.spec.overwrite_button.visible, what="the question to go")
    assert load_spec(target).name == "cartpole"
