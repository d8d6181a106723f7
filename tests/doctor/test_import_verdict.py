"""``import`` ends with the doctor's verdict, and its exit code follows it: 1 when the check found a problem (here
a link with a negative inertia), 0 when the robot is ready."""

from __future__ import annotations

import pytest
from isaac.rl.workbench.frontends.cli import main
from isaac.rl.workbench.scene.import_robot import CONVERTER_VENV

URDF = """<robot name="bot">
  <link name="base"><inertial><mass value="1"/><inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/>
    </inertial><collision><geometry><box size="0.1 0.1 0.1"/></geometry></collision></link>
  <link name="arm"><inertial><mass value="1"/><inertia ixx="{ixx}" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/>
    </inertial><collision><geometry><box size="0.1 0.1 0.1"/></geometry></collision></link>
  <joint name="hinge" type="revolute"><parent link="base"/><child link="arm"/><origin xyz="0 0 0.2"/>
    <axis xyz="0 1 0"/><limit lower="-1" upper="1" effort="10" velocity="5"/></joint>
</robot>
"""


@pytest.mark.skipif(not CONVERTER_VENV.is_dir(), reason="the converter's environment (scripts/setup.sh) is absent")
@pytest.mark.parametrize(
    ("ixx", "code", "verdict"), [(-0.5, 1, "not ready to train: 1 problem(s)"), (0.01, 0, "ready")]
)
def test_the_exit_code_follows_the_verdict(tmp_path, capsys, ixx, code, verdict):
    (tmp_path / "bot.urdf").write_text(URDF.format(ixx=ixx))
    assert main(["import", str(tmp_path / "bot.urdf"), "-o", str(tmp_path / "out")]) == code
    out = capsys.readouterr().out
    assert f"bot.usda: {verdict}" in out and "A spec to start from" in out, out
