"""Who may reach the browser panel: requests with the panel's own Host and Origin, and on any address but
loopback only those that carry a secret token in the URL path.

Every server :func:`start_server` starts refuses (``403 Forbidden`` with a one-line reason) a request whose ``Host``
header is not one of its own names with its port, and a WebSocket upgrade whose ``Origin`` header is present and not
its own page: a web page the user visits can then neither read the panel nor drive it, whether it opens a WebSocket
to 127.0.0.1 itself (cross-site WebSocket hijacking) or rebinds its own name to 127.0.0.1 (DNS rebinding).
:mod:`.own_origins` says which names and origins are own, and why a request without Origin (a program, not a
browser) is let through. Each reason is printed once on standard error, so a user behind a proxy learns why the
page does not connect.

Bound to a loopback address (127.0.0.1, ::1, localhost) that is all. Bound to any other address the server requires
a token (:func:`new_token`), printed at start as part of :func:`page_url`: the page is ``http://host:port/<token>/``
and the viser client, which derives its websocket address from the page's URL (query string and trailing slash
stripped, path kept), connects to ``ws://host:port/<token>``. A request whose first path segment is not the token
gets a bare ``403 Forbidden``: neither the page nor the websocket.

How the guard hooks in. viser serves the page and the websocket on one port, through one
``websockets.asyncio.server.serve`` call whose ``process_request`` (viser's own handler, which answers plain HTTP
requests with the client's ``index.html``) runs before every handshake; viser offers no authentication hook. While
``viser.ViserServer`` is constructed, :func:`start_server` replaces the module attribute
``websockets.asyncio.server.serve`` (which viser's server thread looks up at call time) by a wrapper that passes a
guarded ``process_request`` around viser's, and restores it in a ``finally``. ``ViserServer.__init__`` returns only
after its server thread has called ``serve`` and bound the port (``WebsockServer.start`` waits on a semaphore the
thread releases once listening), so no connection is ever served unguarded and the patch is gone when the
constructor returns. The guarded ``process_request``:

- refuses (403, with the reason) a foreign Host, or an upgrade with a foreign Origin;
- with a token: refuses (403) any request whose first path segment is not the token (compared with
  :func:`hmac.compare_digest`), accepts a websocket upgrade that carries the token (returns ``None``: the handshake
  goes on as viser set it up), redirects ``/<token>`` to ``/<token>/`` (so the page's URL ends in a slash) and hands
  any other request to viser's handler with the token segment removed from its path;
- without a token: hands the request to viser's handler as it came.

This relies on viser internals (the ``serve`` call in ``viser/infra/_infra.py``), so it is pinned to viser
:data:`VISER_VERSION`: with any other version, or if the wrapper was not called while the server started, a server
is refused (RuntimeError) rather than started unguarded, on every address.
"""

from __future__ import annotations

import contextlib
import hmac
import http
import inspect
import re
import secrets
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import rich
import viser
import websockets.asyncio.server
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .own_origins import ALL_INTERFACES, OwnOrigins, is_loopback

VISER_VERSION = "1.1.1"
"""The viser version whose internals the request guard relies on."""

ProcessRequest = Callable[[ServerConnection, Request], Awaitable[Response | None] | Response | None]

_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,}")
_START_LOCK = threading.Lock()  # one viser start at a time, so the patched ``serve`` reaches only that server


def new_token() -> str:
    """A fresh secret for the URL path (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def page_url(host: str, port: int, token: str | None) -> str:
    """The address to open in a browser; an all-interfaces host (0.0.0.0, ::) is shown as this machine's name."""
    shown = socket.gethostname() if host in ALL_INTERFACES else host.strip("[]")
    if ":" in shown:  # an IPv6 literal
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/" + (f"{token}/" if token else "")


def start_server(host: str, port: int, token: str | None, allow_origins: Sequence[str] = ()) -> viser.ViserServer:
    """Start a quiet viser server on ``host:port`` that answers only its own Host and Origin
    (:class:`~.own_origins.OwnOrigins`, widened by ``allow_origins``); with a token, every request must carry it
    (see the module doc).

    Quiet: viser's start banner (which shows URLs without the token) is silenced; show :func:`page_url` instead.

    ``port`` 0 lets the system choose one; viser moves on to the next port when one is taken, so read the bound port
    from ``server.get_port()``.

    Raises:
        ValueError: a non-loopback ``host`` without a token, a malformed token or origin.
        RuntimeError: another viser version than :data:`VISER_VERSION`, or the guard was not installed.
    """
    if token is None and not is_loopback(host):
        raise ValueError(
            f"host {host!r} is not a loopback address: a token is required to serve on it "
            "(expected a token, or host 127.0.0.1 / ::1 / localhost)"
        )
    if token is not None and not _TOKEN_SHAPE.fullmatch(token):
        raise ValueError(f"token {token!r}: expected at least 16 URL-safe characters (A-Z, a-z, 0-9, '-', '_')")
    own = OwnOrigins.for_bind(host, allow_origins)
    if viser.__version__ != VISER_VERSION:
        raise RuntimeError(
            f"viser {viser.__version__} is installed; the panel's request guard relies on the internals of viser "
            f"{VISER_VERSION} and would not be safe with another version"
        )
    with _START_LOCK, _quiet_rich(), _guarded_serve(own, token) as calls:
        server = viser.ViserServer(host=host, port=port, verbose=False)
    if not calls:
        server.stop()
        raise RuntimeError(
            f"viser {viser.__version__} started without calling websockets.asyncio.server.serve: "
            "the request guard could not be installed, so the server was stopped"
        )
    return server


@contextlib.contextmanager
def _quiet_rich() -> Iterator[None]:
    """Silence rich's console: viser prints a banner with its own (token-less) URLs whatever ``verbose`` says."""
    console = rich.get_console()
    was_quiet = console.quiet
    console.quiet = True
    try:
        yield
    finally:
        console.quiet = was_quiet


@contextlib.contextmanager
def _guarded_serve(own: OwnOrigins, token: str | None) -> Iterator[list[str]]:
    """Patch ``websockets.asyncio.server.serve`` to guard each server it makes; yields the hosts it was called for."""
    original = websockets.asyncio.server.serve
    calls: list[str] = []

    def serve(*args: Any, **kwargs: Any) -> websockets.asyncio.server.serve:
        kwargs["process_request"] = _request_guard(own, token, kwargs.get("process_request"))
        calls.append(str(kwargs.get("host", args[1] if len(args) > 1 else "")))
        return original(*args, **kwargs)

    websockets.asyncio.server.serve = serve  # type: ignore[misc, assignment]
    try:
        yield calls
    finally:
        websockets.asyncio.server.serve = original  # type: ignore[misc]


def _request_guard(own: OwnOrigins, token: str | None, inner: ProcessRequest | None) -> ProcessRequest:
    """A ``process_request`` that refuses a foreign Host or Origin, then (with a token) lets through only requests
    under ``/<token>``, then defers to ``inner``."""
    expected = token.encode() if token is not None else b""
    told: set[str] = set()

    async def process_request(connection: ServerConnection, request: Request) -> Response | None:
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        refusal = own.refusal(
            _header(request, "Host"),
            _header(request, "Origin"),
            connection.local_address[1],
            str(connection.local_address[0]),
            upgrade,
        )
        if refusal is not None:
            if refusal not in told and len(told) < 100:  # once per reason: say why a page does not connect
                told.add(refusal)
                print(f"serve: refused a request: {refusal}", file=sys.stderr, flush=True)
            return connection.respond(http.HTTPStatus.FORBIDDEN, f"Forbidden: {refusal}\n")
        if token is None:
            result = None if inner is None else inner(connection, request)
            return await result if inspect.isawaitable(result) else result
        path, _, query = request.path.partition("?")
        first, slash, rest = path.removeprefix("/").partition("/")
        given = first.encode("utf-8", "surrogateescape")
        if not path.startswith("/") or not hmac.compare_digest(given, expected):
            return connection.respond(http.HTTPStatus.FORBIDDEN, "Forbidden\n")
        if upgrade:
            return None
        if not slash:
            response = connection.respond(http.HTTPStatus.FOUND, "")
            response.headers["Location"] = f"/{token}/" + (f"?{query}" if query else "")
            return response
        if inner is None:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not Found\n")
        stripped = Request("/" + rest + (f"?{query}" if query else ""), request.headers)
        result = inner(connection, stripped)
        return await result if inspect.isawaitable(result) else result

    return process_request


def _header(request: Request, name: str) -> str | None:
    """The header ``name``: None when absent, its value when given once, a value no check takes when given more
    than once."""
    values = request.headers.get_all(name)
    return None if not values else values[0] if len(values) == 1 else f"(given {len(values)} times)"
