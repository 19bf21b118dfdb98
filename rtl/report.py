"""`vitflow sim` / `make sim`: run the RTL testbenches (every kernel, and the whole-model top vit_accel of each
model), collect their results, and synthesize every instance of each top with Yosys meanwhile; writes
build/sim/report.json (every kernel and a line per top) and, per top, build/sim/<name>/report.json and
build/sim/<name>/resources.json (name: the model file's stem: vit, mobilevit, swin for the shipped ones)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from ..build import ENV as BUILD_ENV
from ..build import build_dir
from ..quant.model_file import IntModel, write_json_atomic
from .plan import DEVICES, Plan
from .planner import top_plan, top_plan_of, yosys_checked
from .simulate import sim_build
from .synth import RESOURCES, XC7Z020, fractions, synthesize_instances
from .top import macs_per_image, write_top

ROOT = Path(__file__).resolve().parent.parent  # the checkout, or the installed package (rtl_tests/ ships in it)
TOP_TEST = ROOT / "rtl_tests" / "vit_accel" / "test_vit_accel.py"


def run_testbenches(results: Path, model_files: dict[str, Path], full: bool, kernels: bool | str = True,
                    budgets: dict[str, int] | None = None) -> int:
    """pytest on rtl_tests/ (`kernels` True), one kernel's folder (`kernels` its name) or only the tops'
    testbench (False), each testbench writing its result JSON into `results`, the tops of `model_files` (name ->
    file) at their cycle budgets (`budgets`: name -> budget, for those not at the default plan); `full` adds the
    slow tests (the whole digits test set through each top, Icarus). The options are given here, not read from
    the checkout's pyproject.toml: an installed package has none."""
    by_file = {str(Path(model_files[n]).resolve()): c for n, c in (budgets or {}).items()}
    env = {**os.environ, BUILD_ENV: str(build_dir()), "VITFLOW_TOP_CYCLES": json.dumps(by_file),
           "VITFLOW_SIM_RESULTS": str(results.resolve()),
           "VITFLOW_TOP_MODELS": os.pathsep.join(str(Path(f).resolve()) for f in model_files.values())}
    marker = [] if full else ["-m", "not slow"]
    target = TOP_TEST if kernels is False else ROOT / "rtl_tests" / (kernels if isinstance(kernels, str) else "")
    options = ["-p", "no:cacheprovider", "--import-mode=importlib", "-W", "ignore::pytest.PytestUnknownMarkWarning"]
    return subprocess.call([sys.executable, "-m", "pytest", "-q", *options, *marker, str(target)], env=env, cwd=ROOT,
                           stdout=_file(sys.stdout))  # where Python's stdout is now (stderr under --json)


def _file(stream):
    """`stream` if it is a real file a subprocess can write to, else None (the process's own stdout)."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return stream


def run(model_files: dict[str, Path], sim_dir: Path | None = None, synth: bool = True, full: bool = False,
        kernels: bool | str = True, log=print, cycles: int | None = None) -> dict:
    """Testbenches of the kernels (`kernels`) and of the top of each model file (name -> file), Yosys on each
    top's instances; writes sim_dir/NAME/report.json (and resources.json) per model and, with `kernels`, the
    whole run's sim_dir/report.json; returns that report. The testbenches leave their results in a folder of
    this run's own: two runs at once (two models) do not touch each other's."""
    sim_dir = Path(sim_dir) if sim_dir else sim_build()
    models = {name: IntModel.load(f) for name, f in model_files.items()}
    plans = {name: _plan(m, sim_dir, cycles, synth, log) for name, m in models.items()}
    instances = {name: write_top(m, sim_dir / name / "synth", plans[name])[1] for name, m in models.items()}
    budgets = {n: p.cycles_per_image for n, p in plans.items()
               if cycles or p.cycles_per_image != top_plan(models[n]).cycles_per_image}

    def synthesize_all():  # cached per distinct instance: the planner's Yosys check counted them already
        return {name: synthesize_instances(inst, sim_dir / "synth_cache") for name, inst in instances.items()}
    sim_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(1) as pool, tempfile.TemporaryDirectory(dir=sim_dir, prefix="results-") as own:
        synthesis = pool.submit(synthesize_all) if synth else None  # Yosys while the testbenches run
        rc = run_testbenches(Path(own), model_files, full, kernels, budgets)
        synthesized = synthesis.result() if synthesis else {}
        results = {p.stem: json.loads(p.read_text()) for p in sorted(Path(own).glob("*.json"))}
    tops = {}
    for name, m in models.items():
        top = results.pop(f"top-{m.identity():08x}", None) or {"kernel": "vit_accel", "arch": m.arch}
        top.update(layer=f"whole {name}", model_file=str(model_files[name]))
        resources = _resources(synthesized[name], instances[name]) if name in synthesized else None
        _summarize(top, m, instances[name], resources)
        out = sim_dir / name
        out.mkdir(parents=True, exist_ok=True)
        if resources:
            write_json_atomic(out / "resources.json", resources)
        write_json_atomic(out / "report.json", top)
        tops[name] = top
    kernel_results = list(results.values())
    report = {"testbench_exit_code": rc, "kernels": kernel_results, "tops": tops}
    log(f"{'kernel':<14} {'layer':<20} {'images':>6} {'mismatches':>10} {'latency cyc':>11} {'II cyc/image':>12}")
    for k in kernel_results + list(tops.values()):
        log(f"{k['kernel']:<14} {k['layer']:<20} {k.get('images', '-'):>6} {k.get('mismatches', '-'):>10} "
            f"{k.get('latency_cycles', k.get('first_image_cycles', '-')):>11} {k.get('cycles_per_image', '-'):>12}")
    for name, top in tops.items():
        if "macs_per_cycle" in top:
            log(f"{name}: {top['macs_per_image']:,} MACs per image, {top['macs_per_cycle']} MACs per cycle on "
                f"{top['mac_lanes']} multiplier lanes ({top['mac_lane_utilization']:.0%} busy)"
                + (f", {top['dsp']} DSPs" if "dsp" in top else ""))
        if "resources" in top:
            t = top["resources"]
            log(f"yosys {name:<14} total LUT {t['LUT']:>6} FF {t['FF']:>6} DSP {t['DSP']:>4} BRAM36 {t['BRAM36']:>5}"
                f"  ({', '.join(f'{k} {v:.0%}' for k, v in t['fraction_of_xc7z020'].items())} of an xc7z020)")
    if kernels is True:  # the whole run (one kernel's, or one model's, leaves it alone)
        write_json_atomic(sim_dir / "report.json", report)
    return report


def _plan(m: IntModel, sim_dir: Path, cycles: int | None, synth: bool, log) -> Plan:
    """The plan of m's top, its budget as given: `--cycles`, else the planner's (fitted by the estimates) checked
    by Yosys when `synth` (planner.yosys_checked: a top that Yosys counts over the device's margins is refitted)."""
    if cycles or not synth:
        return replace(top_plan(m, top_plan_of(cycles)), dsp=None)

    def count(plan: Plan) -> dict:
        with tempfile.TemporaryDirectory(dir=sim_dir) as tmp:
            return synthesize_instances(write_top(m, Path(tmp), plan)[1], sim_dir / "synth_cache")["total"]
    sim_dir.mkdir(parents=True, exist_ok=True)
    return replace(yosys_checked(m, top_plan(m), count, log=log), dsp=None)


def _summarize(top: dict, m: IntModel, instances: dict, resources: dict | None) -> None:
    """MACs per image / per cycle, lane utilization and the resource totals of one top, into its result."""
    macs = macs_per_image(m)
    lanes = sum(i.get("mac_lanes", 0) for i in instances.values())
    top.update(macs_per_image=macs, mac_lanes=lanes)
    if top.get("cycles_per_image"):
        per_cycle = macs / top["cycles_per_image"]
        top.update(macs_per_cycle=round(per_cycle, 1), mac_lane_utilization=round(per_cycle / lanes, 3))
    if resources:
        top["resources"] = resources["vit_accel"]
        dsp = resources["vit_accel"]["DSP"]
        top["dsp"] = dsp
        if "macs_per_cycle" in top:
            top["macs_per_cycle_per_dsp"] = round(top["macs_per_cycle"] / max(dsp, 1), 2)


def _resources(synthesized: dict, instances: dict, device: str = "xc7z020") -> dict:
    """resources.json: the top's total, every instance, and per module the sum over its instances, as
    synthesize_instances counted them for `device`."""
    modules: dict[str, dict] = {}
    for name, r in synthesized["instances"].items():
        m = modules.setdefault(instances[name]["module"], {"instances": 0, **dict.fromkeys(RESOURCES, 0)})
        m["instances"] += 1
        for k in RESOURCES:
            m[k] += r[k]
    for m in modules.values():
        m[f"fraction_of_{device}"] = fractions(m, device)
    per_instance = {name: {"module": instances[name]["module"], "layer": instances[name].get("layer"),
                           **{k: v for k, v in r.items() if not k.startswith("fraction_of_")}}
                    for name, r in synthesized["instances"].items()}
    family = DEVICES[device]["family"]
    return {"device": "xc7z020 (PYNQ-Z2)" if device == "xc7z020" else device,
            "capacity": {k: DEVICES[device][k] for k in XC7Z020},
            "tool": f"Yosys synth_xilinx -family {family} (yowasp)",
            "vit_accel": synthesized["total"], "modules": modules, "instances": per_instance}
