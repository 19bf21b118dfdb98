"""Lets the testbenches import rtl_tests/sim.py (shared runner plumbing), and runs every testbench on both
simulators: Verilator (2-state, fast) and Icarus Verilog (4-state: X/Z checked at every output). On Icarus only
the whole top runs by default, on a few images; every Icarus run of a kernel is under the slow marker."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

ICARUS_IN_DEFAULT_SUITE = {"test_vit_accel": "4"}  # test -> IMAGES on Icarus in `make test`


@pytest.fixture(autouse=True, params=["verilator", "icarus"])
def simulator(request, monkeypatch):
    """VITFLOW_SIM for rtl_tests/sim.py; a run-time choice made outside pytest (VITFLOW_SIM=...) is kept out."""
    monkeypatch.setenv("VITFLOW_SIM", request.param)
    if request.param == "icarus" and request.node.originalname in ICARUS_IN_DEFAULT_SUITE \
            and not request.node.get_closest_marker("slow") and "IMAGES" not in os.environ:
        monkeypatch.setenv("IMAGES", ICARUS_IN_DEFAULT_SUITE[request.node.originalname])
    return request.param


def pytest_collection_modifyitems(items):
    for item in items:
        sim = getattr(item, "callspec", None) and item.callspec.params.get("simulator")
        if sim == "icarus" and item.originalname not in ICARUS_IN_DEFAULT_SUITE:
            item.add_marker(pytest.mark.slow)
