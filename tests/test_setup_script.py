"""The README's two set-up commands: ``bash scripts/setup.sh`` installs what training and the panel need (no system
package, no test venv), ``--test`` adds what only the tests need, and CI (``.ci/run``) runs the README's test command.
The script's structure is checked here (``bash -n``, ``--list``); the installs themselves run in CI."""

from __future__ import annotations

import re
import subprocess

from .conftest import REPO

SETUP = REPO / "scripts" / "setup.sh"


def _parts(*options: str) -> list[str]:
    done = subprocess.run(["bash", str(SETUP), "--list", *options], capture_output=True, text=True, check=True)
    return [line.split(":")[0] for line in done.stdout.splitlines()]


def _readme_commands() -> list[str]:
    return re.findall(r"```bash\n(bash scripts/setup\.sh.*)\n```", (REPO / "README.md").read_text())


def test_the_script_parses():
    subprocess.run(["bash", "-n", str(SETUP)], check=True)


def test_the_first_command_installs_no_test_only_part_and_the_test_command_adds_them_all():
    main = _parts()
    assert main == ["workbench", "converters", "assets"]
    assert _parts("--test") == [*main, "test-tools", "chromium", "dds", "kit", "isaacsim-pins"]
    assert _parts("--go2") == [*main, "dds"]
    text = SETUP.read_text()  # the first command's parts' code installs no system package
    main_code = text[text.index("# -- what training and the panel need") : text.index("# -- what only the tests need")]
    assert "install_workbench()" in main_code and not re.search(r"apt_install \w|apt-get", main_code)


def test_an_unknown_option_is_refused_in_one_line():
    done = subprocess.run(["bash", str(SETUP), "--tests"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "setup: unknown option '--tests'; expected --test, --go2 or --list\n"


def test_the_readme_gives_both_commands_and_ci_runs_the_test_command():
    first, tests = _readme_commands()
    assert first == "bash scripts/setup.sh && .venv/bin/isaac-rl-workbench train cartpole"
    assert tests == "bash scripts/setup.sh --test && .venv/bin/python -m pytest"
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.startswith("bash scripts/")]
    assert ci == [tests]
