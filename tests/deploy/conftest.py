"""The exported synthetic bundle, written once per test session (the ONNX export takes a few seconds)."""

from __future__ import annotations

import pytest

from .synthetic_bundle import write_bundle


@pytest.fixture(scope="session")
def exported_bundle(tmp_path_factory):
    """The synthetic bundle with policy.onnx and policy.pt (see ``synthetic_bundle.py``); tests must not modify it."""
    return write_bundle(tmp_path_factory.mktemp("bundle"))
