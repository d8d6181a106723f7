"""``isaac-rl-workbench serve`` as a user starts it: on a public address it prints a URL with a token, the page is
served with the token and refused without; on loopback a foreign Host is refused and ``--allow-origin`` admits
another; Ctrl-C ends it cleanly."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

STARTUP_LIMIT_S = 600.0  # [s] serve not ready by then has failed, however busy the machine


class Serving:
    """``isaac-rl-workbench serve ARGS`` in a process of its own, as a user starts it; :meth:`interrupt` is Ctrl-C.

    Every wait is scaled by how long this process took to start (``patience_s``): what takes a second on an idle
    machine may take ten on a busy one, and a start-up slowed as much shows how busy it is."""

    def __init__(self, args: list[str], sigint_ignored: bool = False):
        """``sigint_ignored``: start serve with SIGINT ignored, as a shell's background job starts."""
        command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "serve", *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}  # SIGABRT prints every thread
        began = time.monotonic()
        ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
        self.proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, preexec_fn=ignore
        )
        self.lines: list[str] = []
        watchdog = threading.Timer(STARTUP_LIMIT_S, self.proc.kill)  # a serve that never gets there ends the read
        watchdog.start()
        for line in self.proc.stdout:  # up to the line printed just before serve waits for Ctrl-C
            self.lines.append(line)
            if line.startswith("scenes and specs from: "):
                break
        watchdog.cancel()
        urls = [line.split("panel: ")[1].strip() for line in self.lines if "panel: " in line]
        if not urls:
            self.proc.wait(timeout=60)
            pytest.fail("serve printed no URL:\n" + "".join(self.lines))
        self.url = urls[0]
        self.port = self.url.split(":")[2].split("/")[0]
        self.startup_s = time.monotonic() - began
        self.patience_s = max(60.0, 10.0 * self.startup_s)

    def status(self, path: str, host: str | None = None) -> int:
        """The HTTP status of ``GET path`` on 127.0.0.1 (with ``host`` as the Host header if given)."""
        connection = http.client.HTTPConnection("127.0.0.1", int(self.port), timeout=self.patience_s)
        try:
            connection.request("GET", path, headers={"Host": host} if host else {})
            return connection.getresponse().status
        finally:
            connection.close()

    def interrupt(self, sig: int = signal.SIGINT) -> str:
        """Ctrl-C (or ``sig``); returns what serve printed after it. Fails, with where each of its threads was, if
        serve has not ended within ``patience_s``."""
        self.proc.send_signal(sig)
        try:
            return self.proc.communicate(timeout=self.patience_s)[0]
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            try:
                stacks = self.proc.communicate(timeout=30)[0]
            except subprocess.TimeoutExpired:
                self.proc.kill()
                stacks = self.proc.communicate()[0]
            pytest.fail(
                f"serve did not end within {self.patience_s:.0f} s of Ctrl-C (it started in {self.startup_s:.1f} s); "
                f"its threads:\n{stacks[-6000:]}"
            )

    def __enter__(self) -> Serving:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:  # the test failed before its Ctrl-C
            self.proc.kill()
            self.proc.communicate()


def test_serve_on_a_public_address_needs_the_printed_token(tmp_path):
    with Serving(["cartpole", "--host", "0.0.0.0", "--port", "0", "--runs", str(tmp_path / "runs")]) as serve:
        token = serve.url.rstrip("/").split("/")[-1]
        assert len(token) >= 16
        assert serve.status(f"/{token}/") == 200
        assert serve.status("/") == 403
        wrong = token[:-1] + ("y" if token.endswith("x") else "x")  # differs from the token in its last character
        assert serve.status(f"/{wrong}/") == 403
        rest = serve.interrupt()
    assert serve.proc.returncode == 0, rest
    assert "stopping" in rest


def test_serve_on_loopback_refuses_foreign_hosts_and_admits_allow_origin(tmp_path):
    args = ["--port", "0", "--runs", str(tmp_path / "runs"), "--allow-origin", "https://lab.example.com"]
    with Serving(args) as serve:
        port = serve.port
        assert serve.url == f"http://127.0.0.1:{port}/"
        assert serve.status("/", f"127.0.0.1:{port}") == 200
        assert serve.status("/", f"evil.example:{port}") == 403
        assert serve.status("/", "lab.example.com") == 200
        rest = serve.interrupt()
    assert serve.proc.returncode == 0, rest
    assert f"serve: refused a request: Host 'evil.example:{port}' is not this panel's address" in rest


def test_a_malformed_allow_origin_is_refused_with_exit_2(capsys):
    from isaac.rl.workbench.frontends.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--allow-origin", "lab.example.com"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --allow-origin: 'lab.example.com': expected an origin such as https://lab.example.com" in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_serve_started_in_a_shells_background_still_stops_cleanly(tmp_path, sig):
    """A shell's background job inherits SIGINT ignored (POSIX), and a service manager stops with SIGTERM: serve
    handles both itself and stops as on Ctrl-C."""
    with Serving(["--port", "0", "--runs", str(tmp_path / "runs")], sigint_ignored=True) as serve:
        rest = serve.interrupt(sig)
    assert serve.proc.returncode == 0 and "stopping" in rest, rest
