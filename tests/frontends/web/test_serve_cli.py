"""``isaac-rl-workbench serve`` as a user starts it: on a public address it prints a URL with a token, the page is
served with the token and refused without, and Ctrl-C ends it cleanly."""

from __future__ import annotations

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
