"""The panel inside Isaac Sim: open cart-pole, clone 16 envs onto the stage, press Train through omni.kit.ui_test
and see the iteration counter rise while the app keeps updating, Stop, Play, Export."""

from __future__ import annotations

import omni.kit.app
import omni.kit.test
import omni.kit.ui_test as ui_test
import omni.usd

from ....backend import physx_stage
from ..window import WorkbenchWindow

WINDOW = "RL Workbench Test"
SETTINGS = {"task": "cartpole", "runs_dir": "runs_kit_test", "device": "cuda", "physics": "physx", "view_envs": 4}


def button(text: str):
    return ui_test.find(f"{WINDOW}//Frame/**/Button[*].text=='{text}'")


class TestPanel(omni.kit.test.AsyncTestCase):
    async def setUp(self):
        await omni.usd.get_context().new_stage_async()
        self.window = WorkbenchWindow(WINDOW, SETTINGS)
        self.window.visible = True
        await ui_test.wait_n_updates(10)

    async def tearDown(self):
        self.window.destroy()
        await ui_test.wait_n_updates(5)

    async def wait_for(self, condition, updates: int = 20000) -> None:
        app = omni.kit.app.get_app()
        for _ in range(updates):
            if condition():
                return
            await app.next_update_async()
        self.fail("timed out")

    async def test_clone_train_stop_play_export(self):
        model = self.window.model
        self.window.model.set_field("env.num_envs", 16)
        await button("Clone").click()
        stage = physx_stage.stage()
        self.assertTrue(stage.GetPrimAtPath(f"{physx_stage.ENVS_ROOT}/env_15/Robot"))
        self.assertEqual(model.spec().env.physics, "physx", "the physics setting reached the spec")
        await button("Train").click()
        await self.wait_for(lambda: model.run.iteration >= 3)
        self.assertIn("iteration", self.window.progress.text)
        self.assertTrue(self.window.plots)
        await button("Stop").click()
        await self.wait_for(lambda: model.wait(0) and model.run.status == "finished")
        self.assertTrue(model.run.checkpoints)
        await button("Play").click()
        await self.wait_for(lambda: model.run.play.get("steps", 0) >= 30)
        await button("Stop play").click()
        await self.wait_for(lambda: model.wait(0))
        await button("Export").click()
        await self.wait_for(lambda: model.wait(0) and model.run.export is not None)
        self.assertTrue((model.run.run_dir / "export" / "policy.onnx").is_file())
