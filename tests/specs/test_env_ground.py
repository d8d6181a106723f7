"""The ``[env] ground`` key: a bool or absent (absent: a ground exactly when the base floats); anything else is one
line naming the key; a run folder's spec.toml keeps it as given."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.envs.backend_request import backend_request
from isaac.rl.workbench.specs.loader import SpecError, load_spec, save_spec


@pytest.mark.parametrize("value", ['"yes"', "1", "[true]"])
def test_a_ground_that_is_not_true_or_false_is_refused_naming_the_key(write_spec, value):
    path = write_spec({"decimation = 2": f"decimation = 2\nground = {value}"})
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "env.ground" in message and "expected bool" in message and "\n" not in message, message


def test_without_the_key_the_base_decides_and_the_saved_spec_does_not_name_it(tmp_path):
    spec = load_spec("cartpole")
    assert spec.env.ground is None and backend_request(spec, "cpu").ground is None
    save_spec(spec, tmp_path / "spec.toml")
    assert "ground" not in (tmp_path / "spec.toml").read_text()


@pytest.mark.parametrize("value", [True, False])
def test_a_given_ground_reaches_the_backend_and_survives_the_run_folder(write_spec, tmp_path, value):
    path = write_spec({"decimation = 2": f"decimation = 2\nground = {str(value).lower()}"})
    spec = load_spec(path)
    assert spec.env.ground is value and backend_request(spec, "cpu").ground is value
    save_spec(spec, tmp_path / "run.toml")
    assert load_spec(tmp_path / "run.toml").env.ground is value
