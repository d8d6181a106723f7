"""What the browser panel costs a training run, on the GPU machine (docs/BENCHMARKS.md has the figures).

    python scripts/bench_panel.py --task ant --num-envs 4096 --iterations 30 --device cuda --out bench_panel.json

Three ways to train the same spec, in rounds, interleaved so that drift (clocks, heat) hits each alike:

- ``workbench``: a bare Workbench loop (what ``train`` does), no panel;
- ``panel``: the panel model trains it (worker thread, pose watch for the view), no server;
- ``panel+view``: ``serve`` with a scripted websocket client connected, so every GUI update and 3D frame is encoded
  and sent over the socket while training.

Training throughput is the median ``env_steps_per_s`` of each run's iterations after ``--skip`` warm-up ones. Then
Train-to-first-iteration on a warm server: ``cartpole`` at ``--num-envs`` pressed twice in one ``serve`` process
(the first Train of a process also loads CUDA kernels; the second is what a user waits for on a warm machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from isaac.rl.workbench.frontends.panel import PanelModel
from isaac.rl.workbench.frontends.web.app import serve
from isaac.rl.workbench.workbench import Workbench


def _median_rate(rates: list[float], skip: int) -> float:
    return statistics.median(rates[skip:] if len(rates) > skip else rates)


def bare(task: str, overrides: dict, device: str, runs: Path, skip: int) -> dict:
    wb = Workbench.new(task, overrides, device=device, runs_dir=runs)
    wb.build()
    rates = [wb.train_step()["env_steps_per_s"] for _ in range(overrides["ppo.max_iterations"])]
    wb.finish()
    return {"env_steps_per_s": _median_rate(rates, skip)}


def through_model(model: PanelModel, task: str, overrides: dict, skip: int, timeout: float = 900) -> dict:
    assert model.open_spec(task), model.messages
    for key, value in overrides.items():
        assert model.set_field(key, value), model.field_errors
    assert model.train(), model.messages
    assert model.wait(timeout), "training did not finish"
    assert model.run.status == "finished", model.messages[-3:]
    rates = [value for _, value in model.run.series["env_steps_per_s"]]
    return {"env_steps_per_s": _median_rate(rates, skip), "first_iteration_s": model.run.first_iteration_s}


class ScriptedClient:
    """A websocket client that keeps reading what the panel sends (as a browser tab would) and counts it."""

    def __init__(self, url: str):
        import viser
        from websockets.sync.client import connect

        ws_url = url.replace("http://", "ws://").rstrip("/")
        self.socket = connect(ws_url, subprotocols=[f"viser-v{viser.__version__}"], max_size=None)
        self.messages = 0
        self.bytes = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                data = self.socket.recv()
                self.messages += 1
                self.bytes += len(data)
        except Exception:  # closed
            return

    def close(self) -> None:
        self.socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="ant")
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--skip", type=int, default=5, help="warm-up iterations left out of the median")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", default="bench_panel.json")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # as the command line does by default (train --threads)
    runs = Path(tempfile.mkdtemp()) / "runs"
    overrides = {"env.num_envs": args.num_envs, "ppo.max_iterations": args.iterations, "ppo.save_interval": 1000}
    app, url = serve(None, port=0, device=args.device, runs_dir=runs, block=False)
    client = ScriptedClient(url)
    headless = PanelModel(runs_dir=runs, device=args.device)
    results: dict[str, list] = {"workbench": [], "panel": [], "panel+view": []}
    bare(args.task, {**overrides, "ppo.max_iterations": 3}, args.device, runs, 0)  # compile and load the kernels

    def run_workbench() -> None:
        results["workbench"].append(bare(args.task, overrides, args.device, runs, args.skip))

    def run_panel() -> None:
        results["panel"].append(through_model(headless, args.task, overrides, args.skip))

    def run_view() -> None:
        sent_before, bytes_before = app.view.frames_sent, client.bytes
        started = time.perf_counter()
        row = through_model(app.model, args.task, overrides, args.skip)
        row["frames_sent_per_s"] = (app.view.frames_sent - sent_before) / (time.perf_counter() - started)
        row["client_kbytes_per_s"] = (client.bytes - bytes_before) / 1024 / (time.perf_counter() - started)
        results["panel+view"].append(row)

    order = [run_workbench, run_panel, run_view]
    for i in range(args.rounds):  # each round starts with the next of the three, so none always runs first
        for run in order[i % 3 :] + order[: i % 3]:
            run()
        print(json.dumps({k: v[-1] for k, v in results.items()}), flush=True)
    first = []
    for _ in range(2):
        row = through_model(app.model, "cartpole", {**overrides, "ppo.max_iterations": 3}, 0)
        first.append(row["first_iteration_s"])
    summary = {
        "task": args.task,
        "num_envs": args.num_envs,
        "iterations": args.iterations,
        "env_steps_per_s": {k: statistics.mean(r["env_steps_per_s"] for r in v) for k, v in results.items()},
        "rounds": results,
        "view_cost_vs_panel": 1
        - statistics.mean(r["env_steps_per_s"] for r in results["panel+view"])
        / statistics.mean(r["env_steps_per_s"] for r in results["panel"]),
        "view_cost_vs_workbench": 1
        - statistics.mean(r["env_steps_per_s"] for r in results["panel+view"])
        / statistics.mean(r["env_steps_per_s"] for r in results["workbench"]),
        "cartpole_train_to_first_iteration_s": {"first_train": first[0], "second_train": first[1]},
    }
    print(json.dumps(summary, indent=1), flush=True)
    Path(args.out).write_text(json.dumps(summary, indent=1))
    client.close()
    headless.close()
    app.model.close()
    app.close()
    app.server.stop()


if __name__ == "__main__":
    main()
