"""`vitflow sim` / `make sim`: run the RTL testbenches (every kernel, and the whole-model top vit_accel),
collect their results, and synthesize every instance of the top with Yosys meanwhile; writes
build/sim/report.json and build/sim/resources.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..quant.model_file import IntModel, write_atomic
from .synth import RESOURCES, XC7Z020, synthesize_instances
from .top import macs_per_image, write_top

ROOT = Path(__file__).resolve().parent.parent
SIM_DIR = Path("build/sim")
TOP_ARCH = "vit"


def run_testbenches(results: Path, full: bool) -> int:
    """pytest on rtl_tests/ with each testbench writing its result JSON into `results`; `full` adds the slow
    tests (the whole digits test set through the top)."""
    results.mkdir(parents=True, exist_ok=True)
    for old in results.glob("*.json"):
        old.unlink()
    env = {**os.environ, "VITFLOW_SIM_RESULTS": str(results.resolve())}
    marker = [] if full else ["-m", "not slow"]
    return subprocess.call([sys.executable, "-m", "pytest", "-q", *marker, str(ROOT / "rtl_tests")], env=env,
                           cwd=ROOT)


def run(models: dict[str, IntModel], sim_dir: Path = SIM_DIR, synth: bool = True, full: bool = False,
        log=print) -> dict:
    sim_dir = Path(sim_dir)
    _, instances = write_top(models[TOP_ARCH], sim_dir / "vit_accel" / "synth")
    with ThreadPoolExecutor(1) as pool:  # Yosys on the top's instances while the testbenches run
        synthesis = pool.submit(synthesize_instances, instances, sim_dir / "synth_cache") if synth else None
        rc = run_testbenches(sim_dir / "results", full)
        resources = _resources(synthesis.result(), instances) if synthesis else None
    results = {p.stem: json.loads(p.read_text()) for p in sorted((sim_dir / "results").glob("*.json"))}
    top = results.pop("vit_accel", None)
    kernels = list(results.values())
    report = {"testbench_exit_code": rc, "kernels": kernels, "top": top}
    if top:
        macs = macs_per_image(models[TOP_ARCH])
        lanes = sum(i.get("mac_lanes", 0) for i in instances.values())
        per_cycle = macs / top["cycles_per_image"]
        top.update(macs_per_image=macs, macs_per_cycle=round(per_cycle, 1), mac_lanes=lanes,
                   mac_lane_utilization=round(per_cycle / lanes, 3))
        if resources:
            dsp = resources["vit_accel"]["DSP"]
            top.update(dsp=dsp, macs_per_cycle_per_dsp=round(top["macs_per_cycle"] / max(dsp, 1), 2))
        report.update({k: top.get(k) for k in ("images", "mismatches", "cycles_per_image", "latency_cycles")})
    log(f"{'kernel':<14} {'layer':<20} {'images':>6} {'mismatches':>10} {'latency cyc':>11} {'II cyc/image':>12}")
    for k in kernels + ([top] if top else []):
        log(f"{k['kernel']:<14} {k['layer']:<20} {k.get('images', '-'):>6} {k.get('mismatches', '-'):>10} "
            f"{k.get('latency_cycles', k.get('first_image_cycles', '-')):>11} {k.get('cycles_per_image', '-'):>12}")
    if top:
        log(f"vit_accel: {top['macs_per_image']:,} MACs per image, {top['macs_per_cycle']} MACs per cycle on "
            f"{top['mac_lanes']} multiplier lanes ({top['mac_lane_utilization']:.0%} busy)"
            + (f", {top['dsp']} DSPs" if "dsp" in top else ""))
    if resources:
        for name, r in resources["modules"].items():
            log(f"yosys {name:<14} x{r['instances']:<3} LUT {r['LUT']:>6} FF {r['FF']:>6} DSP {r['DSP']:>4} "
                f"BRAM36 {r['BRAM36']:>5}")
        t = resources["vit_accel"]
        log(f"yosys {'vit_accel':<14} total LUT {t['LUT']:>6} FF {t['FF']:>6} DSP {t['DSP']:>4} BRAM36 {t['BRAM36']:>5}"
            f"  ({', '.join(f'{k} {v:.0%}' for k, v in t['fraction_of_xc7z020'].items())} of an xc7z020)")
        write_atomic(sim_dir / "resources.json", lambda f: f.write(json.dumps(resources, indent=2).encode()))
    write_atomic(sim_dir / "report.json", lambda f: f.write(json.dumps(report, indent=2).encode()))
    return report


def _resources(synthesized: dict, instances: dict) -> dict:
    """resources.json: the top's total, every instance, and per module the sum over its instances."""
    modules: dict[str, dict] = {}
    for name, r in synthesized["instances"].items():
        m = modules.setdefault(instances[name]["module"], {"instances": 0, **dict.fromkeys(RESOURCES, 0)})
        m["instances"] += 1
        for k in RESOURCES:
            m[k] += r[k]
    for m in modules.values():
        m["fraction_of_xc7z020"] = {k: round(m[k] / XC7Z020[k], 4) for k in XC7Z020}
    per_instance = {name: {"module": instances[name]["module"], "layer": instances[name].get("layer"),
                           **{k: v for k, v in r.items() if k != "fraction_of_xc7z020"}}
                    for name, r in synthesized["instances"].items()}
    return {"device": "xc7z020 (PYNQ-Z2)", "capacity": XC7Z020, "tool": "Yosys synth_xilinx -family xc7 (yowasp)",
            "vit_accel": synthesized["total"], "modules": modules, "instances": per_instance}
