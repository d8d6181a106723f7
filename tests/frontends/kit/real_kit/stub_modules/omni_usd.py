"""FAKE ``omni.usd`` (Kit SDK; not obtainable here), the Python module of the stand-in extension of that name that
``in_kit_checks.py`` writes: empty, so that the Kit layer's modules import (they call ``omni.usd`` only once a stage
is cloned, which the real-kernel checks do not do). Not Kit's stage."""
