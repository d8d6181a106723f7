"""``isaac-rl-workbench serve`` as a user starts it: on a public address it prints a URL with a token, the page is
served with the token and refused without; on loopback a foreign Host is refused and ``--allow-origin`` admits
another; Ctrl-C ends it cleanly."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_on_a_public_address_needs_the_printed_token(tmp_path):
    command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "serve", "cartpole"]
    command += ["--host", "0.0.0.0", "--port", "0", "--runs", str(tmp_path / "runs")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "panel:" in line:
                break
        url = next((line.split("panel: ")[1].strip() for line in lines if "panel: " in line), None)
        assert url, "".join(lines)
        port, token = url.split(":")[2].split("/")[0], url.rstrip("/").split("/")[-1]
        assert len(token) >= 16
        local = f"http://127.0.0.1:{port}"
        assert _status(f"{local}/{token}/") == 200
        assert _status(f"{local}/") == 403
        wrong = token[:-1] + ("y" if token.endswith("x") else "x")  # differs from the token in its last character
        assert _status(f"{local}/{wrong}/") == 403
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("serve did not end on Ctrl-C")
    assert proc.returncode == 0, rest
    assert "stopping" in rest


def _start(args: list[str]) -> tuple[subprocess.Popen, str]:
    """``serve`` in a process of its own; returns it and the URL it printed."""
    command = [sys.executable, "-m", "isaac.rl.workbench.frontends.cli", "serve", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "panel:" in line:
            return proc, line.split("panel: ")[1].strip()
    proc.wait(timeout=60)
    pytest.fail("".join(lines))


def _page_status(port: str, host: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    try:
        connection.request("GET", "/", headers={"Host": host})
        return connection.getresponse().status
    finally:
        connection.close()


def test_serve_on_loopback_refuses_foreign_hosts_and_admits_allow_origin(tmp_path):
    proc, url = _start(["--port", "0", "--runs", str(tmp_path / "runs"), "--allow-origin", "https://lab.example.com"])
    try:
        port = url.split(":")[2].split("/")[0]
        assert url == f"http://127.0.0.1:{port}/"
        assert _page_status(port, f"127.0.0.1:{port}") == 200
        assert _page_status(port, f"evil.example:{port}") == 403
        assert _page_status(port, "lab.example.com") == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("serve did not end on Ctrl-C")
    assert proc.returncode == 0, rest
    assert f"serve: refused a request: Host 'evil.example:{port}' is not this panel's address" in rest


def test_a_malformed_allow_origin_is_refused_with_exit_2(capsys):
    from isaac.rl.workbench.frontends.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--allow-origin", "lab.example.com"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --allow-origin: 'lab.example.com': expected an origin such as https://lab.example.com" in err
