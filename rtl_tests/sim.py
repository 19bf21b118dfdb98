"""Shared cocotb plumbing of the testbenches: the runner (vitflow.rtl.simulate) and fixed ROM folders."""

from __future__ import annotations

from pathlib import Path

from vitflow.rtl.simulate import SIMULATORS, run, sim_build, simulator, verilator_env  # noqa: F401


def rom_dir(module: str, arch: str, layer: str) -> Path:
    """Where a kernel testbench's ROM files go: one fixed folder per layer, so that the parameters (which
    name the files) and with them the build stay the same from run to run; $readmemh reads the files when
    the simulation starts, so rewritten contents need no rebuild."""
    return sim_build(module, "rom", arch, layer)


def run_case(module: str, images: int = 20) -> Path:
    """Build and run the testbench of rtl.cases.CASES[module] on `images` random images (plus edge images)."""
    from vitflow.host.backends import ModelPaths
    from vitflow.quant.model_file import IntModel
    from vitflow.rtl.cases import CASES

    case = CASES[module]
    m = IntModel.load(ModelPaths.resolve(case.arch, None).model_file)
    return run(module, f"test_{module}", case.params(m, rom_dir(module, case.arch, case.layer)),
               {"IMAGES": str(images)})
