"""``bench --startup`` times a fresh train command phase by phase, and the phases account for its start-up."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from isaac.rl.workbench.frontends.bench import main as bench_main
from isaac.rl.workbench.frontends.bench_startup import PHASES, parse_startup
from isaac.rl.workbench.utils import startup_timer


def _import_line(own_us: int, cumulative_us: int, module: str, depth: int = 0) -> str:
    return f"import time: {own_us:>9} | {cumulative_us:>10} | {'  ' * depth}{module}"


def test_imports_are_split_from_the_phases_they_happen_in():
    launched = 1000.0
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            _import_line(100_000, 100_000, "torch._C", depth=1),
            _import_line(400_000, 500_000, "torch"),  # 0.5 s, before main
            "startup-mark main 1000.6",
            "Warp CUDA warning: something the child said",
            "startup-mark spec 1001.0",
            _import_line(2_000_000, 2_000_000, "newton"),  # 2 s, while the scene was built
            "startup-mark scene 1003.5",
            "startup-mark solver 1004.0",
            "startup-mark kernels 1004.5",
            "startup-mark env 1004.75",
            "startup-mark trainer 1005.0",
            "startup-mark eager steps 1005.25",
            "startup-mark env graph 1005.5",
            "startup-mark iteration 1006.0",
            "startup-mark log 1006.25",
            _import_line(900_000, 900_000, "matplotlib"),  # after the first iteration: not start-up
            "startup-mark env 1007.0",
        ]
    )
    result = parse_startup(stderr, launched)
    expected = {
        "imports": 2.5,
        "python": 0.1,
        "spec": 0.4,
        "scene": 0.5,
        "solver": 0.5,
        "kernels": 0.5,
        "env": 0.5,  # the env's own 0.25 s and its graph capture's 0.25 s
        "trainer": 0.25,
        "iteration": 0.75,  # the eager steps before the capture and the rest of the iteration
        "log": 0.25,
    }
    assert list(result["phases"]) == list(PHASES)
    assert result["phases"] == pytest.approx(expected)
    assert result["total_s"] == pytest.approx(6.25)
    assert result["imports"] == pytest.approx({"newton": 2.0, "torch": 0.5})  # each package's own modules


def test_a_command_that_never_reaches_its_first_iteration_is_an_error():
    with pytest.raises(ValueError, match="before its first iteration"):
        parse_startup("startup-mark main 1.0\nstartup-mark spec 2.0\n", 0.0)


def test_the_timer_is_silent_unless_asked_and_reports_once(monkeypatch, capsys):
    startup_timer.mark("spec")
    startup_timer.report()
    assert capsys.readouterr().err == "", "no output unless ISAAC_RL_WORKBENCH_STARTUP_PROFILE=1"
    monkeypatch.setattr(startup_timer, "_enabled", True)
    monkeypatch.setattr(startup_timer, "_marks", [("start", 100.0)])
    monkeypatch.setattr(startup_timer.time, "time", iter([101.5, 104.0]).__next__)
    startup_timer.mark("spec")
    startup_timer.mark("scene")
    startup_timer.report()
    startup_timer.mark("log")  # after the report: ignored
    startup_timer.report()
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == ["startup-mark spec 101.500000", "startup-mark scene 104.000000"]
    assert [line.split() for line in err[3:]] == [["spec", "1.50", "s"], ["scene", "2.50", "s"], ["total", "4.00", "s"]]


@pytest.mark.slow
def test_the_startup_mode_reports_every_phase_of_a_real_train_command(tmp_path, capsys):
    out = tmp_path / "startup.json"
    began = time.time()
    assert bench_main(["cartpole", "--startup", "--num-envs", "8", "--out", str(out)]) == 0
    elapsed = time.time() - began
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("cartpole 8 envs on cpu: imports ") and "| total " in line, line
    result = json.loads(out.read_text())["results"][0]
    phases = result["phases"]
    assert list(phases) == list(PHASES)
    cpu_phases = [name for name in PHASES if name != "kernels"]  # kernels: the first CUDA physics step
    assert all(phases[name] > 0 for name in cpu_phases), phases
    assert phases["kernels"] == 0.0
    # the train path marks the end of each phase once, in the order it runs them (kernels, and the eager steps and
    # graph capture of the env, on CUDA only), at increasing times within the child's life as this test timed it
    marks = result["marks"]
    assert list(marks) == ["main", "spec", "scene", "solver", "env", "trainer", "iteration", "log"], marks
    assert all(a < b for a, b in itertools.pairwise(marks.values())), marks
    assert 0 < marks["main"] and marks["log"] <= result["process_s"] <= elapsed
    assert phases["imports"] > phases["scene"], "torch, Newton and warp take longer to import than 8 clones to build"
    assert {"torch", "newton", "warp"} <= set(result["imports"]), result["imports"]
