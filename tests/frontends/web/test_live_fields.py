"""The browser panel's spec form while a run trains: the fields a run cannot take live are greyed out with the
reason as hint, the live ones say when the run takes them, and each command's ranges have a field. A viser server
on a free loopback port, no browser."""

from __future__ import annotations

import pytest
import viser
from isaac.rl.workbench.frontends.panel import PanelModel
from isaac.rl.workbench.frontends.web.spec_sections import SpecSections

from ...conftest import free_port


@pytest.fixture
def sections(tmp_path):
    model = PanelModel(runs_dir=tmp_path / "runs")
    assert model.open_spec("cartpole")
    goal = {"type": "position", "frame": "env", "ranges": {"x": [0.0, 1.0]}}
    assert model.set_field("commands.goal", goal), model.field_errors
    server = viser.ViserServer(host="127.0.0.1", port=free_port(), verbose=False)
    try:
        yield model, SpecSections(server, model)
    finally:
        server.stop()
        model.close()


def test_while_training_the_fields_a_run_cannot_take_are_greyed_out_with_the_reason(sections):
    model, spec = sections
    fields = {field.key: field for field in spec.fields}
    assert "commands.goal.ranges" in fields, "each command's ranges have a field"
    model.run.status = "training"
    spec.show_liveness()
    num_envs, lr, goal = (
        fields[k].input for k in ("env.num_envs", "ppo.algorithm.learning_rate", "commands.goal.ranges")
    )
    assert num_envs.disabled and num_envs.hint == (
        "env.num_envs: changes the number of envs (the shape of every buffer): use Fork"
    )
    assert fields["ppo.actor.hidden_dims"].input.disabled
    assert not lr.disabled and lr.hint == "ppo.algorithm.learning_rate: live, from the next iteration"
    assert not goal.disabled and goal.hint == "commands.goal.ranges: live, at the command's next draw"
    model.run.status = "finished"
    spec.show_liveness()
    assert not num_envs.disabled and "env.num_envs:" in num_envs.hint and "use Fork" not in num_envs.hint
