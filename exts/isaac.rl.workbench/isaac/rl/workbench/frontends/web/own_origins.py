"""Which ``Host`` and ``Origin`` headers the browser panel answers: its own addresses, and origins named with
``serve --allow-origin``.

Two attacks reach a panel from any web page its user visits, even one bound to loopback (Jupyter and TensorBoard
refuse both):

- cross-site WebSocket hijacking: the page opens ``ws://127.0.0.1:8080`` itself. A browser lets any page open a
  WebSocket to any address and sends the page's own ``Origin`` (``http://evil.example``) in the handshake; the
  panel refuses an upgrade whose Origin is present and not the panel's own page.
- DNS rebinding: ``evil.example`` is made to resolve to 127.0.0.1, so the browser takes the panel's page and its
  WebSocket for ``evil.example``'s own, but every request then carries ``Host: evil.example:8080``; the panel
  refuses any request (page or upgrade) whose Host is not one of its own names with its port.

Own names: bound to loopback, ``localhost``, ``127.0.0.1``, ``::1`` and the bound address; bound to all interfaces
(``0.0.0.0``, ``::``), those and this machine's name (:func:`socket.gethostname`, :func:`socket.getfqdn`) and the
addresses it resolves to; bound to another address, that address (a name: with what it resolves to). The address a
connection arrived on is always own: it is one of this machine's, which no other site can rebind. The port is the
one the connection arrived on. Own origins are ``http://<own name>:<port>``.

A request without ``Origin`` is let through when its Host is right: browsers always send one on a WebSocket
upgrade (RFC 6455, 4.1), so it comes from a program (Python's ``websockets``, curl), not from a web page; Jupyter
lets it through too. An origin named with ``--allow-origin`` (a reverse proxy's ``https://lab.example.com``) is
admitted as Origin, and its host (with its port, or none for the scheme's default) as Host; ``*`` turns both checks
off.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

ANY_ORIGIN = "*"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ALL_INTERFACES = ("0.0.0.0", "::", "")
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"[a-z0-9_.-]+")


def parse_origin(text: str) -> str:
    """``text`` as an origin the panel compares with (``scheme://host[:port]``, lower case, no default port), or
    ``"*"``. Raises ValueError naming ``text`` and what was expected."""
    if text.strip() == ANY_ORIGIN:
        return ANY_ORIGIN
    expected = f"'{text}': expected an origin such as https://lab.example.com (scheme://host[:port], no path), or '*'"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError(expected) from None
    name = _name(parts.hostname or "")
    if parts.scheme not in DEFAULT_PORTS or not (_HOST_NAME.fullmatch(name) or _is_address(name)):
        raise ValueError(expected)
    if parts.username or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(expected)
    return f"{parts.scheme}://{_host(name, None if port == DEFAULT_PORTS[parts.scheme] else port)}"


@dataclass(frozen=True)
class OwnOrigins:
    """What the panel answers to.

    Attributes:
        names: own host names and addresses (lower case, IPv6 without brackets).
        origins: the origins named with ``--allow-origin`` (:func:`parse_origin`), without ``*``.
        any_origin: ``--allow-origin '*'``: no Host or Origin check at all.
    """

    names: frozenset[str]
    origins: frozenset[str] = frozenset()
    any_origin: bool = False

    @classmethod
    def for_bind(cls, host: str, allow_origins: Iterable[str] = ()) -> OwnOrigins:
        """The names of a server bound to ``host`` (see the module doc) and the origins ``allow_origins`` names
        (each checked with :func:`parse_origin`)."""
        origins = {parse_origin(text) for text in allow_origins}
        names = {_name(host)} if host not in ALL_INTERFACES else set()
        if host in ALL_INTERFACES or is_loopback(host):
            names |= LOOPBACK_NAMES
        if host in ALL_INTERFACES:
            names |= {_name(socket.gethostname()), _name(socket.getfqdn())}
            names |= _addresses(socket.gethostname())
        elif not _is_address(host):
            names |= _addresses(host)
        return cls(frozenset(names - {""}), frozenset(origins - {ANY_ORIGIN}), ANY_ORIGIN in origins)

    def refusal(self, host: str | None, origin: str | None, port: int, local_address: str, upgrade: bool) -> str | None:
        """Why a request is refused, or None to serve it.

        Args:
            host: its ``Host`` header, None when absent.
            origin: its ``Origin`` header, None when absent. (A header given twice is passed as a text no check
                takes, such as ``"(given 2 times)"``.)
            port: the port the connection arrived on.
            local_address: the address the connection arrived on (own, see the module doc).
            upgrade: a WebSocket upgrade (the Origin is checked only then).
        """
        if self.any_origin:
            return None
        if host is None:
            return "no Host header"
        names = self.names | {_name(local_address)}
        split = _split_host(host)
        if split is None or not (self._own(split, names, port, "http") or self._admitted_host(split)):
            return f"Host '{host}' is not this panel's address (serve --allow-origin ORIGIN admits another)"
        if upgrade and origin is not None and not self._own_origin(origin, names, port):
            return f"Origin '{origin}' is not this panel's page (serve --allow-origin ORIGIN admits another)"
        return None

    @staticmethod
    def _own(split: tuple[str, int | None], names: frozenset[str], port: int, scheme: str) -> bool:
        name, given = split
        return name in names and (DEFAULT_PORTS[scheme] if given is None else given) == port

    def _admitted_host(self, split: tuple[str, int | None]) -> bool:
        for origin in self.origins:
            scheme, _, netloc = origin.partition("://")
            allowed = _split_host(netloc)
            if allowed is not None and allowed[0] == split[0]:
                if (allowed[1] or DEFAULT_PORTS[scheme]) == (split[1] or DEFAULT_PORTS[scheme]):
                    return True
        return False

    def _own_origin(self, origin: str, names: frozenset[str], port: int) -> bool:
        try:
            normal = parse_origin(origin)
        except ValueError:  # "null" (a sandboxed frame, a file:// page) and anything malformed
            return False
        if normal in self.origins:
            return True
        scheme, _, netloc = normal.partition("://")
        split = _split_host(netloc)
        return scheme == "http" and split is not None and self._own(split, names, port, scheme)


def _name(host: str) -> str:
    """A host name or address as compared: lower case, no brackets, an address in its short form (an IPv4-mapped
    IPv6 address as IPv4)."""
    name = host.strip().strip("[]").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _host(name: str, port: int | None) -> str:
    """``name[:port]`` as a Host header writes it (an IPv6 address in brackets)."""
    shown = f"[{name}]" if ":" in name else name
    return shown if port is None else f"{shown}:{port}"


def _split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header's (name, port or None), None when it is not ``name[:port]`` or ``[v6][:port]``."""
    value = value.strip().lower()
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        if not _is_address(address):
            return None
    else:
        address, colon, port_text = value.partition(":")
        rest = colon + port_text
        if not _HOST_NAME.fullmatch(address):
            return None
    if not rest:
        return _name(address), None
    if not rest.startswith(":") or not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
        return None
    return _name(address), int(rest[1:])


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach: "localhost", 127.x.y.z, ::1 (also IPv4-mapped)."""
    name = _name(host)
    return name == "localhost" or (_is_address(name) and ipaddress.ip_address(name).is_loopback)


def _addresses(name: str) -> set[str]:
    """The addresses ``name`` resolves to (none when it does not)."""
    try:
        return {_name(str(info[4][0])) for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError):
        return set()
