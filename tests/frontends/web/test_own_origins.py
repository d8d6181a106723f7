"""Which Host and Origin headers the panel answers (the rules alone; test_origin_guard.py drives real servers)."""

from __future__ import annotations

import socket

import pytest
from isaac.rl.workbench.frontends.web.own_origins import OwnOrigins, parse_origin

PORT = 8080


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://lab.example.com", "https://lab.example.com"),
        ("HTTPS://Lab.Example.COM/", "https://lab.example.com"),
        ("https://lab.example.com:443", "https://lab.example.com"),
        ("http://lab.example.com:80", "http://lab.example.com"),
        ("http://lab.example.com:8080", "http://lab.example.com:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://10.0.0.5:8888", "http://10.0.0.5:8888"),
        ("*", "*"),
    ],
)
def test_parse_origin(text, expected):
    assert parse_origin(text) == expected


@pytest.mark.parametrize(
    "text",
    ["lab.example.com", "ftp://lab.example.com", "https://lab.example.com/panel", "https://", "https://a b", "null",
     "https://user@lab.example.com", "https://lab.example.com:99999", "https://lab.example.com?x=1", "**"],
)  # fmt: skip
def test_parse_origin_refuses_what_is_not_an_origin(text):
    with pytest.raises(ValueError) as refused:
        parse_origin(text)
    assert str(refused.value).startswith(f"'{text}': expected an origin such as https://lab.example.com")


LOOPBACK = OwnOrigins.for_bind("127.0.0.1")


def refusal(own: OwnOrigins, host: str | None, origin: str | None = None, upgrade: bool = True) -> str | None:
    return own.refusal(host, origin, PORT, "127.0.0.1", upgrade)


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("localhost:8080", "http://localhost:8080"),
        ("LOCALHOST:8080", "http://LocalHost:8080"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("127.0.0.1:8080", "http://localhost:8080"),  # the page under one own name, the socket under another
        ("127.0.0.1:8080", None),  # no Origin: a program, not a page
    ],
)
def test_loopback_answers_its_own_host_and_origin(host, origin):
    assert refusal(LOOPBACK, host, origin) is None


@pytest.mark.parametrize(
    ("host", "origin", "fragment"),
    [
        ("127.0.0.1:8080", "http://evil.example", "Origin 'http://evil.example' is not this panel's page"),
        ("127.0.0.1:8080", "http://evil.example:8080", "Origin 'http://evil.example:8080'"),
        ("127.0.0.1:8080", "http://127.0.0.1:9999", "Origin 'http://127.0.0.1:9999'"),  # another local server
        ("127.0.0.1:8080", "https://127.0.0.1:8080", "Origin 'https://127.0.0.1:8080'"),
        ("127.0.0.1:8080", "http://127.0.0.1", "Origin 'http://127.0.0.1'"),  # port 80
        ("127.0.0.1:8080", "null", "Origin 'null'"),  # a sandboxed frame or a file:// page
        ("127.0.0.1:8080", "(given 2 times)", "Origin '(given 2 times)'"),
        ("evil.example:8080", None, "Host 'evil.example:8080' is not this panel's address"),  # DNS rebinding
        ("evil.example:8080", "http://evil.example:8080", "Host 'evil.example:8080'"),
        ("127.0.0.1:9999", None, "Host '127.0.0.1:9999'"),
        ("127.0.0.1", None, "Host '127.0.0.1'"),  # port 80
        ("127.0.0.1:8080@evil.example", None, "Host '127.0.0.1:8080@evil.example'"),
        ("127.0.0.1:8080:1", None, "Host"),
        ("::1:8080", None, "Host"),
        ("", None, "Host ''"),
        (None, None, "no Host header"),
    ],
)
def test_loopback_refuses_a_foreign_host_or_origin(host, origin, fragment):
    reason = refusal(LOOPBACK, host, origin)
    assert reason is not None and fragment in reason, reason
    assert reason.endswith("(serve --allow-origin ORIGIN admits another)") or reason == "no Host header"


def test_origin_is_checked_on_upgrades_only_host_on_every_request():
    assert refusal(LOOPBACK, "127.0.0.1:8080", "http://evil.example", upgrade=False) is None  # a page can't read it
    assert refusal(LOOPBACK, "evil.example:8080", None, upgrade=False) is not None


def test_an_allowed_origin_and_its_host_are_admitted():
    own = OwnOrigins.for_bind("127.0.0.1", ["https://lab.example.com", "http://other.example:8888"])
    assert refusal(own, "lab.example.com", "https://lab.example.com") is None
    assert refusal(own, "lab.example.com:443", "https://lab.example.com:443") is None
    assert refusal(own, "127.0.0.1:8080", "https://lab.example.com") is None  # a proxy that sends its upstream's Host
    assert refusal(own, "other.example:8888", "http://other.example:8888") is None
    assert refusal(own, "127.0.0.1:8080", "http://127.0.0.1:8080") is None, "its own origin stays admitted"
    assert "Origin 'http://lab.example.com'" in refusal(own, "lab.example.com", "http://lab.example.com")
    assert "Host 'lab.example.com:8080'" in refusal(own, "lab.example.com:8080", None)
    assert "Host 'other.example'" in refusal(own, "other.example", None)
    assert "Origin 'https://evil.example'" in refusal(own, "lab.example.com", "https://evil.example")


def test_star_turns_both_checks_off():
    own = OwnOrigins.for_bind("127.0.0.1", ["*"])
    assert own.any_origin and refusal(own, "evil.example:8080", "http://evil.example") is None


def test_a_malformed_allowed_origin_is_refused():
    with pytest.raises(ValueError, match="'lab.example.com': expected an origin"):
        OwnOrigins.for_bind("127.0.0.1", ["lab.example.com"])


def test_all_interfaces_answer_this_machines_names_and_the_address_a_connection_arrived_on():
    own = OwnOrigins.for_bind("0.0.0.0")
    name = socket.gethostname().lower()
    assert {name, "localhost", "127.0.0.1", "::1"} <= own.names
    assert own.refusal(f"{name}:{PORT}", f"http://{name}:{PORT}", PORT, "127.0.0.1", True) is None
    assert own.refusal(f"192.0.2.7:{PORT}", f"http://192.0.2.7:{PORT}", PORT, "192.0.2.7", True) is None
    assert own.refusal(f"192.0.2.7:{PORT}", None, PORT, "::ffff:192.0.2.7", True) is None  # a dual-stack socket
    assert own.refusal(f"192.0.2.8:{PORT}", None, PORT, "192.0.2.7", True) is not None, "not where it arrived"
    assert own.refusal(f"evil.example:{PORT}", None, PORT, "192.0.2.7", True) is not None


def test_a_specific_address_answers_that_address_only():
    own = OwnOrigins.for_bind("192.0.2.7")
    assert own.names == frozenset({"192.0.2.7"})
    assert own.refusal(f"192.0.2.7:{PORT}", f"http://192.0.2.7:{PORT}", PORT, "192.0.2.7", True) is None
    assert own.refusal(f"localhost:{PORT}", None, PORT, "192.0.2.7", True) is not None
