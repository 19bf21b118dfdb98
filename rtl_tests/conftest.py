"""Lets the testbenches import rtl_tests/sim.py (shared runner plumbing), and runs every testbench on both
simulators: Verilator (2-state, fast) and Icarus Verilog (4-state: X/Z checked at every output). On Icarus,
`make test` runs a short slice (two kernels on a few images, the deal and gather of copies); the whole top and
every kernel on Icarus are under the slow marker (the pipelined top simulates at tens of cycles per second on
Icarus here)."""

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Icarus in `make test`: test -> the environment of its short run (the rest of Icarus under the slow marker)
ICARUS_IN_DEFAULT_SUITE = {"test_layernorm": {"IMAGES": "4"}, "test_gelu": {"IMAGES": "4"}, "test_axis_deal": {},
                           "test_axis_register": {}}
# Icarus under the slow marker, trimmed: test -> its environment. A whole top simulates at tens of cycles per
# second on Icarus (an hour for the vit's four top tests), so it runs what two states cannot show, X after reset
# and a reset mid-frame, on the edge images and two test images; batches and the cycle count are the same logic,
# run on Verilator (make test)
ICARUS_TRIMMED = {"test_vit_accel": {"IMAGES": "2",
                                     "COCOTB_TEST_FILTER": "images_under_backpressure|malformed_frames_and_reset"}}


@pytest.fixture(autouse=True, params=["verilator", "icarus"])
def simulator(request, monkeypatch):
    """VITFLOW_SIM for rtl_tests/sim.py; a run-time choice made outside pytest (VITFLOW_SIM=...) is kept out."""
    monkeypatch.setenv("VITFLOW_SIM", request.param)
    if request.param == "icarus" and shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog (iverilog) not found: install it (Debian: apt-get install iverilog)")
    if request.param == "icarus":
        monkeypatch.delenv("VITFLOW_SIM_RESULTS", raising=False)  # `vitflow sim` reports the Verilator runs
        name, slow = request.node.originalname, request.node.get_closest_marker("slow")
        for k, v in ((ICARUS_TRIMMED if slow else ICARUS_IN_DEFAULT_SUITE).get(name) or {}).items():
            if k not in os.environ:  # a run-time choice (IMAGES=...) is kept
                monkeypatch.setenv(k, v)
    return request.param


def pytest_collection_modifyitems(items):
    for item in items:
        sim = getattr(item, "callspec", None) and item.callspec.params.get("simulator")
        if sim == "icarus" and item.originalname not in ICARUS_IN_DEFAULT_SUITE:
            item.add_marker(pytest.mark.slow)
