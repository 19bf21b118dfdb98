"""`vitflow sim` / `make sim`: run the RTL testbenches, collect their results, synthesize each kernel with
Yosys; writes build/sim/report.json and build/sim/resources.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..quant.model_file import IntModel, write_atomic
from .gen import CASES
from .synth import XC7Z020, synthesize

ROOT = Path(__file__).resolve().parent.parent
SIM_DIR = Path("build/sim")


def run_testbenches(results: Path) -> int:
    """pytest on rtl_tests/ with each testbench writing its result JSON into `results`."""
    results.mkdir(parents=True, exist_ok=True)
    for old in results.glob("*.json"):
        old.unlink()
    env = {**os.environ, "VITFLOW_SIM_RESULTS": str(results.resolve())}
    return subprocess.call([sys.executable, "-m", "pytest", "-q", str(ROOT / "rtl_tests")], env=env, cwd=ROOT)


def run(models: dict[str, IntModel], sim_dir: Path = SIM_DIR, synth: bool = True, log=print) -> dict:
    sim_dir = Path(sim_dir)
    rc = run_testbenches(sim_dir / "results")
    kernels = [json.loads(p.read_text()) for p in sorted((sim_dir / "results").glob("*.json"))]
    report = {"testbench_exit_code": rc, "kernels": kernels, "note": "whole-model RTL top not built yet"}
    log(f"{'kernel':<14} {'layer':<20} {'images':>6} {'mismatches':>10} {'1st image cyc':>13} {'cyc/image':>9}")
    for k in kernels:
        log(f"{k['kernel']:<14} {k['layer']:<20} {k['images']:>6} {k['mismatches']:>10} "
            f"{k['first_image_cycles']:>13} {k['cycles_per_image']:>9}")
    write_atomic(sim_dir / "report.json", lambda f: f.write(json.dumps(report, indent=2).encode()))
    if synth:
        resources = {"device": "xc7z020 (PYNQ-Z2)", "capacity": XC7Z020, "modules": {}}
        for name, case in CASES.items():
            try:
                r = synthesize(name, case.params(models[case.arch], sim_dir / "rom"))
            except RuntimeError as e:  # reported, not hidden: e.g. yowasp's Yosys running out of memory
                r = {"error": str(e)}
                log(f"yosys {name:<14} failed: {e}")
            else:
                log(f"yosys {name:<14} LUT {r['LUT']:>6} FF {r['FF']:>6} DSP {r['DSP']:>4} BRAM36 {r['BRAM36']:>5}")
            resources["modules"][name] = {"layer": f"{case.arch}:{case.layer}", **r}
        write_atomic(sim_dir / "resources.json", lambda f: f.write(json.dumps(resources, indent=2).encode()))
    return report
