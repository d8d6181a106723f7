"""Autostart inside Isaac Sim: a short run trains to the end into a run folder like the command line's, and the
app is asked to quit with 0 (the quit is intercepted here, so the test app lives on)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import omni.kit.test

from .. import headless, isaacsim_adapter


class TestHeadless(omni.kit.test.AsyncTestCase):
    async def test_autostart_trains_and_quits_with_zero(self):
        codes: list[int] = []
        quit_app, isaacsim_adapter.quit_app = isaacsim_adapter.quit_app, codes.append
        try:
            run_dir = Path(tempfile.mkdtemp()) / "run"
            settings = {"task": "cartpole", "num_envs": 16, "max_iterations": 3, "run_dir": str(run_dir)}
            settings |= {"runs_dir": "runs", "device": "cuda", "physics": "newton", "view_envs": 4}
            code = await headless.train_and_quit(settings)
        finally:
            isaacsim_adapter.quit_app = quit_app
        self.assertEqual((code, codes), (0, [0]))
        for name in ("spec.toml", "metrics.jsonl", "checkpoints", "curves.png"):
            self.assertTrue((run_dir / name).exists(), name)
