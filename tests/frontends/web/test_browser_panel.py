"""The browser panel end to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright): open the
page, load cartpole, set 32 envs, change a reward weight, train, watch the counter and the reward plot advance,
open a second tab (it gets the history; closing it stops nothing), change a weight while training and find it in
metrics.jsonl, stop (the message names the checkpoint), play and see the robots move (the panel keeps its scroll
position), stop play, export; then a second, short run with evaluations, both runs' curves overlaid in the Runs
section, and a 2-trial sweep in the Sweep section whose trials appear as runs. The pickers and the iteration counter
show what is loaded at every step. Another session edits an event's start range while cartpole trains (the shapes
and the event switches greyed out), then trains a spec file with ``train.stop_when`` that ends early.

Screenshots land in ``test-artifacts/`` at the repository root. Without a browser the test is skipped on a
developer's machine and fails in CI (``CI=true``): ``bash scripts/setup.sh`` installs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def _browser_or_fail():
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "playwright is not installed (bash scripts/setup.sh installs it)"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (bash scripts/setup.sh installs Debian's chromium)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return sync_playwright


def _row_input(scope, label: str):
    """The input of the row labelled ``label`` inside ``scope`` (a page or a form)."""
    page = getattr(scope, "page", scope)  # a Locator knows its page; a Page is one
    row = scope.locator("div.mantine-Flex-root", has=page.locator("label", has_text=re.compile(f"^{label}$")))
    return row.locator("input").first


def _form(page, title: str):
    title_re = re.compile(f"^{re.escape(title)}\\*?$")  # a form with unsubmitted edits shows "title*"
    return page.locator("form", has=page.locator("div", has_text=title_re)).first


def _set(scope, label: str, value: str) -> None:
    field = _row_input(scope, label)
    field.fill(value)
    field.press("Enter")


def _until(condition, timeout: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _scroll_top(page) -> float:
    """How far the control panel is scrolled [px]."""
    return page.evaluate("() => document.querySelector('.mantine-ScrollArea-viewport').scrollTop")


def _in_view(locator) -> bool:
    """Whether ``locator`` lies inside the browser window."""
    box = locator.bounding_box(timeout=2000)
    size = locator.page.viewport_size
    return box is not None and 0 <= box["y"] and box["y"] + box["height"] <= size["height"]


def _scroll_to(locator) -> None:
    """Scroll ``locator`` into view, again when the panel replaced its element meanwhile (a plot whose data changed)."""
    from playwright.sync_api import Error

    def scrolled() -> bool:
        try:
            locator.scroll_into_view_if_needed(timeout=2000)
            return True
        except Error:
            return False

    _until(scrolled, 20, "an element to scroll to")


def _plot_top(plot) -> float:
    """Where a uPlot's plotting area starts below its canvas' top [px] (room for the top tick label); -1 while the
    plot is being replaced."""
    from playwright.sync_api import Error

    try:
        return plot.evaluate("(el) => el.querySelector('.u-over').offsetTop", timeout=2000)
    except Error:
        return -1


def _iteration(page) -> int:
    match = re.search(r"iteration (\d+) /", page.get_by_text(re.compile(r"^iteration \d+ /")).first.inner_text())
    return int(match.group(1)) if match else -1


def _shot(locator) -> bytes | None:
    """A screenshot of the page where ``locator`` is (a page-level clip: the plot's element is replaced when its
    data changes, so an element screenshot can lose it), or None while it is not on the page."""
    from playwright.sync_api import Error

    try:
        box = locator.bounding_box(timeout=2000)
        return None if box is None else locator.page.screenshot(clip=box)
    except Error:
        return None


def _pixels_differ(a: bytes | None, b: bytes | None) -> bool:
    if a is None or b is None:
        return False
    import io

    from PIL import Image

    first, second = (Image.open(io.BytesIO(x)).convert("RGB") for x in (a, b))
    return first.size == second.size and first.tobytes() != second.tobytes()


@contextlib.contextmanager
def _page(sync_playwright, url: str, failure_png: str):
    """A page of headless Chromium opened at ``url``; a screenshot goes to ``failure_png`` (in the test artefacts)
    when the block fails."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(url)
        try:
            yield page
        except Exception:
            page.screenshot(path=str(ARTIFACTS / failure_png))
            raise
        browser.close()


@pytest.mark.slow
def test_train_watch_edit_stop_play_export_in_a_real_browser(tmp_path):
    sync_playwright = _browser_or_fail()
    from isaac.rl.workbench.frontends.web.app import serve

    ARTIFACTS.mkdir(exist_ok=True)
    app, url = serve(None, port=0, runs_dir=tmp_path / "runs", block=False)
    model = app.model
    try:
        with _page(sync_playwright, url, "panel_failure.png") as page:
            _drive(page, app, model)
    finally:
        _shut(app)


def _shut(app) -> None:
    """Stop whatever the panel runs, then the panel and its server."""
    app.model.stop()
    app.model.wait(120)
    app.model.close()
    app.close()
    app.server.stop()


def _drive(page, app, model) -> None:
    """The user's session, step by step; each step waits for what the page or the run shows."""

    # software WebGL (no GPU here) raises a notice over the 3D view: close it
    page.get_by_text("Software WebGL rendering detected").wait_for(timeout=10000)
    page.locator(".mantine-Notification-closeButton").first.click()

    # load cartpole
    spec_pick = _row_input(page, "spec")
    spec_pick.click()
    page.get_by_role("option", name="cartpole", exact=True).click()
    page.get_by_role("button", name="Open spec").click()
    _until(lambda: model.spec_file is not None and model.spec_file.name == "cartpole.toml", 20, "cartpole")
    _until(lambda: page.get_by_text("articulation /cartpole").count() > 0, 20, "the scene summary")
    _until(lambda: _row_input(page, "scene").input_value().endswith("/cartpole.usda"), 20, "the scene picker")
    counter = page.get_by_text(re.compile(r"^iteration 0 / 150 "))
    _until(lambda: counter.count() == 1, 20, "the spec's 150 iterations on the counter before training")

    # 32 envs, a long run, and a reward weight edited before training
    environments = _form(page, "Environments")
    _set(environments, "num_envs", "32")
    _until(lambda: model.raw["env"]["num_envs"] == 32, 10, "num_envs = 32 in the spec")
    ppo = _form(page, "PPO")
    ppo.locator("div", has_text=re.compile("^PPO$")).first.click()  # expand
    _set(ppo, "max_iterations", "2000")
    _until(lambda: model.raw["ppo"]["max_iterations"] == 2000, 10, "max_iterations = 2000")
    _set(_form(page, "alive"), "weight", "2.0")
    _until(lambda: model.raw["rewards"]["alive"]["weight"] == 2.0, 10, "rewards.alive.weight = 2.0")
    # a bad value is refused with the error next to the field
    _set(environments, "num_envs", "-5")
    _until(lambda: page.get_by_text(re.compile("must be >= 1")).count() > 0, 10, "the num_envs error")
    _set(environments, "num_envs", "32")
    _until(lambda: page.get_by_text(re.compile("must be >= 1")).count() == 0, 10, "the error to clear")

    # train: the counter and the reward plot advance
    page.get_by_role("button", name="Train", exact=True).click()
    _until(lambda: _iteration(page) >= 2, 240, "iteration 2 on the page")
    assert page.get_by_text(re.compile(r"^iteration \d+ / 2000 ")).count() == 1
    _until(lambda: _row_input(page, "run").input_value() == str(model.run.run_dir), 20, "the run picker on the run")
    plot = page.locator(".uplot", has=page.get_by_text("mean return", exact=True)).first
    before = _until(lambda: _shot(plot), 20, "a screenshot of the return plot")
    seen = _iteration(page)
    _until(lambda: _iteration(page) >= seen + 3, 120, "three more iterations")
    _until(lambda: _pixels_differ(before, _shot(plot)), 20, "the return plot to change")
    page.screenshot(path=str(ARTIFACTS / "panel_training.png"))
    from isaac.rl.workbench.frontends.web.run_sections import PLOT_PADDING

    _until(lambda: _plot_top(plot) >= PLOT_PADDING[0], 20, "room above the return plot for its top tick label")

    # a second tab opened during training gets the history; closing it stops nothing
    other = page.context.browser.new_page(viewport={"width": 1500, "height": 1000})
    other.goto(page.url)
    _until(lambda: _iteration(other) >= seen + 3, 60, "the second tab's iteration counter")
    assert other.locator(".uplot", has=other.get_by_text("mean return", exact=True)).count() == 1
    other.close()
    at_close = model.run.iteration
    _until(lambda: model.run.iteration >= at_close + 2, 60, "training to go on after the tab closed")

    # a weight changed while training reaches the run and its log
    _set(_form(page, "pole_pos"), "weight", "-3.0")
    _until(lambda: any("rewards.pole_pos.weight = -3 " in m for m in model.messages), 60, "the live edit")

    page.get_by_role("button", name="Stop", exact=True).click()
    _until(lambda: page.get_by_text(re.compile(r"^finished")).count() > 0, 120, "status finished")
    run_dir = model.run.run_dir
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    edits = [row for row in rows if row.get("edit") == "rewards.pole_pos.weight"]
    assert edits and edits[0]["value"] == -3.0, edits
    assert model.run.checkpoints and model.run.checkpoints[-1].is_file()
    saved = f"checkpoint saved: {model.run.checkpoints[-1]}"
    _until(lambda: page.get_by_text(re.compile(f"^stopped at iteration .*{re.escape(saved)}")).count(), 20, "saved")

    # play: the robots move in the 3D view; the panel stays where it was, the policy line counts the steps
    play = page.get_by_role("button", name="Play", exact=True)
    play.scroll_into_view_if_needed()
    scrolled = _scroll_top(page)
    play.click()
    _until(lambda: model.run.status == "playing" and model.run.play.get("steps", 0) > 10, 120, "playing")
    policy_line = page.get_by_text(re.compile(r"^playing: step \d+"))
    _until(lambda: policy_line.count() == 1 and _in_view(policy_line), 20, "the play's counters beside Play")
    assert _scroll_top(page) == scrolled, "Play leaves the panel's scroll position as it was"

    def view() -> bytes:  # the 3D view: the page left of the control panel
        return page.screenshot(clip={"x": 0, "y": 150, "width": 1000, "height": 800})

    first = view()
    sent = app.view.frames_sent
    _until(lambda: app.view.frames_sent > sent + 5, 20, "pose updates sent to the browser")
    _until(lambda: _pixels_differ(first, view()), 20, "the 3D view to change")
    page.screenshot(path=str(ARTIFACTS / "panel_play.png"))
    page.get_by_role("button", name="Stop play", exact=True).click()
    _until(lambda: model.run.status == "finished", 60, "play to stop")
    _until(lambda: page.get_by_text(re.compile(r"^played \d+ steps")).count() == 1, 20, "the play's summary")
    _until(lambda: page.get_by_text(re.compile(r"^playing:")).count() == 0, 20, "the policy line to stop playing")

    # export, with the parity figures on the page
    page.get_by_role("button", name="Export", exact=True).click()
    _until(lambda: page.get_by_text(re.compile("max action difference ONNX")).count() > 0, 300, "export")
    assert (run_dir / "export" / "policy.onnx").is_file() and (run_dir / "export" / "policy.pt").is_file()
    assert model.run.export["max_abs_diff_onnx"] <= 1e-5
    page.screenshot(path=str(ARTIFACTS / "panel_export.png"))

    # a second, short run with evaluations of the deterministic policy; then both runs ticked in the Runs section
    # share one plot, one colour each, the second's evaluations beside its training curve
    _set(ppo, "max_iterations", "12")
    _until(lambda: model.raw["ppo"]["max_iterations"] == 12, 10, "max_iterations = 12")
    assert model.set_field("train.eval_every", 2) and model.set_field("train.eval_episodes", 4), model.field_errors
    assert model.set_field("seed", 7), "another seed: the two runs' curves differ"
    page.get_by_role("button", name="Train", exact=True).click()
    _until(lambda: model.run.run_dir not in (None, run_dir) and model.run.status == "finished", 240, "the second run")
    names = [p.relative_to(model.runs_dir).as_posix() for p in (run_dir, model.run.run_dir)]
    page.get_by_text("Runs", exact=True).click()  # the section starts folded
    _until(lambda: page.get_by_text("cartpole/", exact=False).count() >= 2, 20, "the runs listed")
    for name in names:
        box = _row_input(page, re.escape(name))
        box.check()
    _until(lambda: model.runs.selected == names or set(model.runs.selected) == set(names), 20, "both runs selected")
    overlay = page.locator(".uplot", has=page.get_by_text(names[1], exact=True)).first
    overlay.wait_for(timeout=20000)
    assert all(overlay.get_by_text(name, exact=True).count() == 1 for name in names), "one legend entry per run"
    evaluation = f"{names[1]} evaluation (deterministic)"
    assert overlay.get_by_text(evaluation, exact=True).count() == 1, "the evaluation curve in the legend"
    _scroll_to(overlay)
    page.screenshot(path=str(ARTIFACTS / "panel_runs.png"))
    _row_input(page, re.escape(names[0])).uncheck()
    _until(lambda: model.runs.selected == names[1:], 20, "the second run alone")
    alone = page.locator(".uplot", has=page.get_by_text(evaluation, exact=True)).first
    _until(lambda: alone.get_by_text(names[0], exact=True).count() == 0, 20, "the plot of the second run alone")
    _scroll_to(alone)
    page.screenshot(path=str(ARTIFACTS / "panel_eval.png"))

    # a sweep of the edited spec (8 envs, 3 iterations, no evaluations): 2 trials, the best marked, trials as runs
    assert model.set_field("train.eval_every", 0)
    assert model.set_field("env.num_envs", 8) and model.set_field("ppo.max_iterations", 3), model.field_errors
    _until(lambda: model.raw["env"]["num_envs"] == 8 and model.raw["ppo"]["max_iterations"] == 3, 10, "8 envs, 3")
    page.get_by_text("Sweep", exact=True).click()  # the section starts folded
    params = page.locator("textarea").first
    params.fill("ppo.algorithm.learning_rate=log:1e-4:1e-2\nppo.algorithm.entropy_coef=0.001:0.01")
    params.press("Tab")
    _set(page, "trials", "2")
    page.get_by_role("button", name="Start sweep", exact=True).click()
    _until(lambda: model.sweep.state.status == "running", 20, "the sweep to start")
    _until(lambda: model.sweep.state.status != "running", 400, "the sweep to end")
    assert model.sweep.state.status == "finished", model.messages
    _until(lambda: page.get_by_text(re.compile(r"^finished: 2 / 2 trials")).count() == 1, 20, "the sweep's status")
    table = page.locator("table", has=page.get_by_text("objective", exact=True)).first
    _until(lambda: table.get_by_text("★", exact=False).count() == 1, 20, "the best trial marked")
    assert table.get_by_text("entropy_coef", exact=False).count() == 2, "each trial's values"
    sweep_name = f"cartpole/{model.sweep.state.folder.name}"
    _until(lambda: page.get_by_text(f"{sweep_name}/trial_001", exact=False).count() > 0, 20, "the trials as runs")
    _scroll_to(table)
    page.screenshot(path=str(ARTIFACTS / "panel_sweep.png"))


def test_the_pickers_and_the_counter_show_what_is_loaded(tmp_path):
    """Without a browser: the panel's pickers and its counter, as the page shows them, after a start with a task
    given and after a run is opened."""
    from isaac.rl.workbench.frontends.web.app import serve
    from isaac.rl.workbench.specs.loader import load_spec, save_spec

    folder = tmp_path / "runs" / "cartpole" / "2026-01-01_00-00-00"
    folder.mkdir(parents=True)
    save_spec(load_spec("cartpole", {"ppo.max_iterations": 5}), folder / "spec.toml")
    (folder / "metrics.jsonl").write_text(json.dumps({"iteration": 2, "mean_reward": 1.0}) + "\n")
    app, _ = serve("cartpole", port=0, runs_dir=tmp_path / "runs", block=False)
    try:
        _until(lambda: app.spec.spec_pick.value == "cartpole", 20, "the spec picker on cartpole, not the first task")
        _until(lambda: app.spec.scene_pick.value.endswith("/cartpole.usda"), 20, "the scene picker on its scene")
        _until(lambda: "iteration **0** / 150 " in app.run.progress.content, 20, "the spec's 150 iterations")
        assert app.model.set_field("ppo.max_iterations", 7)
        _until(lambda: "iteration **0** / 7 " in app.run.progress.content, 20, "the edited spec's 7 iterations")
        assert app.model.open_run(folder)
        _until(lambda: app.run.run_pick.value == str(folder), 20, "the run picker on the opened run")
        _until(lambda: "iteration **2** / 5 " in app.run.progress.content, 20, "the run's 2 of 5 iterations")
    finally:
        app.model.close()
        app.close()
        app.server.stop()


@pytest.mark.slow
def test_save_asks_before_overwriting_a_file_in_a_real_browser(tmp_path):
    """The page is served to the browser's own Origin and Host (the guard lets it in), and Save over an existing
    file leaves it byte-identical until Overwrite is pressed."""
    sync_playwright = _browser_or_fail()
    from isaac.rl.workbench.frontends.web.app import serve
    from isaac.rl.workbench.specs.loader import load_spec

    ARTIFACTS.mkdir(exist_ok=True)
    folder = tmp_path / "specs"
    folder.mkdir()
    target = folder / "mine.toml"
    original = b"# the user's own spec\nname = 'mine'\n"
    target.write_bytes(original)
    app, url = serve("cartpole", port=0, runs_dir=tmp_path / "runs", scenes=[folder], block=False)
    try:
        with _page(sync_playwright, url, "panel_save_failure.png") as page:
            save_as = _row_input(page, "save as")
            save_as.fill(str(target))
            save_as.press("Enter")
            page.get_by_role("button", name="Save spec").click()
            overwrite = page.get_by_role("button", name="Overwrite mine.toml")
            overwrite.wait_for(timeout=10000)
            assert page.get_by_text(f"{target} already exists.").count() == 1
            assert target.read_bytes() == original, "Save alone leaves the existing file as it was"
            page.get_by_role("button", name="Keep the file").click()
            overwrite.wait_for(state="hidden", timeout=10000)
            assert target.read_bytes() == original and app.model.save_conflict is None
            page.get_by_role("button", name="Save spec").click()
            overwrite.click()
            _until(lambda: target.read_bytes() != original, 10, "the overwrite")
            overwrite.wait_for(state="hidden", timeout=10000)
            assert load_spec(target).name == "cartpole"
    finally:
        app.model.close()
        app.close()
        app.server.stop()


EARLY_STOP = '[train]\nstop_when = "iteration >= 3"\nstop_patience = 2\n'
"""The early-stopped run's condition: it holds at iterations 3 and 4, so the run ends at 4 of its 40."""
STOP_REASON = "iteration >= 3 held for 2 iterations at iteration 4"


@pytest.mark.slow
def test_a_live_range_edit_and_an_early_stop_in_a_real_browser(tmp_path, write_spec):
    """While cartpole trains, the user types a narrower start range into an event's params: the page confirms it,
    metrics.jsonl gains one edit row, the shape keys stay greyed out. Then a spec file
    with ``train.stop_when``, opened through the page, trains and ends early: the reason in Messages, the run listed
    "stopped" with it in the Runs section, and in its run.json."""
    sync_playwright = _browser_or_fail()
    from isaac.rl.workbench.frontends.web.app import serve

    ARTIFACTS.mkdir(exist_ok=True)
    specs = tmp_path / "specs"
    specs.mkdir()
    replace = {"num_envs = 64": "num_envs = 16", "max_iterations = 150": "max_iterations = 40"}
    stopping = write_spec(replace, EARLY_STOP, name="specs/cartpole_early_stop.toml")
    repo = Path(__file__).resolve().parents[3]
    app, url = serve(None, port=0, runs_dir=tmp_path / "runs", scenes=[specs, repo / "assets" / "usd"], block=False)
    model = app.model
    try:
        with _page(sync_playwright, url, "panel_live_range_failure.png") as page:
            _edit_a_range_live(page, model)
            _stop_early(page, model, stopping)
    finally:
        _shut(app)


def _open_spec(page, model, name: str) -> None:
    """Pick ``name`` (a task, or a spec file's path) in the spec picker and open it."""
    _row_input(page, "spec").click()
    page.get_by_role("option", name=name, exact=True).click()
    page.get_by_role("button", name="Open spec").click()
    _until(lambda: model.spec_file is not None and name in (model.spec_file.stem, str(model.spec_file)), 20, name)


def _edit_a_range_live(page, model) -> None:
    page.get_by_text("Software WebGL rendering detected").wait_for(timeout=10000)
    page.locator(".mantine-Notification-closeButton").first.click()
    _open_spec(page, model, "cartpole")
    _set(_form(page, "Environments"), "num_envs", "16")
    _until(lambda: model.raw["env"]["num_envs"] == 16, 10, "num_envs = 16 in the spec")
    page.get_by_role("button", name="Train", exact=True).click()
    _until(lambda: _iteration(page) >= 1, 240, "iteration 1 on the page")

    # the event's params stay editable (its tooltip says when the run takes them); the shapes are greyed out
    page.get_by_text("Events", exact=True).click()  # the section starts folded
    event = _form(page, "reset_pole")
    params = _row_input(event, "params")
    params.wait_for(timeout=10000)
    _until(lambda: params.is_enabled(), 10, "the event's params editable while training")
    ppo = _form(page, "PPO")
    ppo.locator("div", has_text=re.compile("^PPO$")).first.click()  # expand
    hidden = _row_input(ppo, "actor hidden_dims")
    _until(lambda: hidden.is_disabled() and _row_input(page, "num_envs").is_disabled(), 10, "the shapes greyed out")
    assert _row_input(ppo, "learning_rate").is_enabled(), "the learning rate is live"
    assert _row_input(event, "enabled").is_disabled(), "the run keeps its events: no switching one off"
    event.get_by_role("button", name="Remove", exact=True).click()
    refused = "error: events.reset_pole: the run keeps the event terms it was built with: Stop, then use Fork"
    _until(lambda: page.get_by_text(refused, exact=True).count() == 1, 10, "Remove refused while training")
    assert "reset_pole" in model.raw["events"]

    # a narrower start range for the pole, typed as the user types it
    before = params.input_value()
    assert "position_range = [-0.2, 0.2]" in before, before
    params.fill(before.replace("position_range = [-0.2, 0.2]", "position_range = [-0.05, 0.05]"))
    params.press("Enter")
    taken = re.compile(
        r"^events\.reset_pole\.params\.position_range = \[-0\.05, 0\.05\] from iteration \d+: at the "
        r"next reset$"
    )
    _until(lambda: page.get_by_text(taken).count() == 1, 60, "the edit confirmed in Messages")
    assert "position_range = [-0.05, 0.05]" in params.input_value(), "the form shows the new range"
    assert params.is_enabled() and hidden.is_disabled()

    # the reason of a greyed-out field is its hint (tests/frontends/web/test_live_fields.py checks it on the viser
    # handle); hovering a disabled input in headless Chromium shows the tooltip only at times, so the screenshot
    # below tries, and nothing is asserted on it
    _scroll_to(event)
    hidden.hover()
    page.screenshot(path=str(ARTIFACTS / "panel_live_range.png"))

    page.get_by_role("button", name="Stop", exact=True).click()
    _until(lambda: model.run.status == "finished", 120, "the run to stop")
    rows = [json.loads(line) for line in (model.run.run_dir / "metrics.jsonl").read_text().splitlines()]
    edits = [row for row in rows if "edit" in row]
    assert len(edits) == 1, edits
    assert edits[0]["edit"] == "events.reset_pole.params.position_range" and edits[0]["value"] == [-0.05, 0.05]


def _stop_early(page, model, spec) -> None:
    _open_spec(page, model, str(spec))
    page.get_by_role("button", name="Train", exact=True).click()
    _until(lambda: model.run.run_dir is not None and model.run.run_dir.parent.name == "cartpole", 60, "the run")
    _until(lambda: model.run.status == "finished" and model.run.max_iterations == 40, 240, "the run to end")
    run_dir = model.run.run_dir
    assert model.run.iteration == 4, "ended early: 4 of 40 iterations"
    _until(lambda: page.get_by_text(re.compile(r"^iteration 4 / 40 ")).count() == 1, 20, "the counter at 4 / 40")
    _until(lambda: page.get_by_text(f"stopped early: {STOP_REASON}", exact=True).count() == 1, 20, "the reason")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "stopped" and info["reason"] == STOP_REASON, info
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["iteration"] == 4 and rows[-1]["stopped"] == STOP_REASON

    page.get_by_text("Runs", exact=True).click()  # the section starts folded
    name = run_dir.relative_to(model.runs_dir).as_posix()
    listed = page.locator("li", has_text=name)
    _until(lambda: listed.count() == 1, 20, "the run listed")
    assert f"status stopped ({STOP_REASON}), iterations 4/40" in listed.inner_text(), listed.inner_text()
    page.get_by_text("reward terms (each on its own scale)", exact=True).click()  # fold: the Runs list, the
    page.get_by_text("Policy", exact=True).click()  # counter and the Messages in one picture
    page.set_viewport_size({"width": 1500, "height": 1900})
    _scroll_to(listed)
    page.screenshot(path=str(ARTIFACTS / "panel_early_stop.png"))


def test_term_switches_are_greyed_out_while_a_run_trains(tmp_path):
    """Without a browser: while a run trains, an event's or a termination's "enabled" box is greyed out with the
    reason (the run keeps the terms it was built with), and adding or removing a term is refused with it in
    Messages; a reward's box stays live (its weight reaches the run). Between runs they are editable again."""
    from isaac.rl.workbench.frontends.web.app import serve

    app, _ = serve("cartpole", port=0, runs_dir=tmp_path / "runs", block=False)
    model = app.model
    try:
        with model.changing("run"):
            model.run.status = "training"  # as the training job sets it
        app.refresh_now()
        switches = {f"{kind}.{name}": box for kind, name, box in app.spec._switches}
        reason = "events.reset_pole: the run keeps the event terms it was built with: Stop, then use Fork"
        assert switches["events.reset_pole"].disabled and switches["events.reset_pole"].hint == reason
        assert switches["terminations.pole_fell"].disabled and not switches["rewards.alive"].disabled
        assert not model.enable_term("events", "reset_pole", False) and model.messages[-1] == f"error: {reason}"
        assert not model.remove_term("rewards", "cart_vel") and "cart_vel" in model.raw["rewards"]
        assert model.messages[-1].startswith("error: rewards.cart_vel: the run keeps the reward terms")
        assert not model.add_term("terminations", "late", {"func": "time_out", "time_out": True})
        assert "late" not in model.raw["terminations"] and model.field_errors["terminations.late"].endswith("Fork")
        assert model.enable_term("rewards", "alive", False), "a reward's switch is live"
        assert model.take_live_edits() == [("rewards.alive.weight", 0.0)]
        with model.changing("run"):
            model.run.status = "finished"
        app.refresh_now()
        assert not any(box.disabled for _, _, box in app.spec._switches)
        assert model.enable_term("events", "reset_pole", False) and "reset_pole" not in model.raw["events"]
    finally:
        model.close()
        app.close()
        app.server.stop()
