"""In-Kit tests (``omni.kit.test``), run inside Isaac Sim; CI cannot run them. The command is in docs/README.md."""

from .test_headless import *  # noqa: F403
from .test_panel import *  # noqa: F403
