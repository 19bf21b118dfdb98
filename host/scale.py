"""`vitflow scale`: a model's top built for a cycle budget that one instance of each kernel cannot reach, for a
device larger than the PYNQ-Z2's: rtl/plan.py's Plan with copies (kernels that share the images, an image each,
through rtl/axis_deal.v and axis_gather.v) sizes every kernel for the budget; Yosys counts the top against the
device's capacity, the top's testbench checks it against golden and measures its cycles per image, and
place-and-route of every instance (ECP5, out of context, as `vitflow timing`) gives the clock: images/s at that
clock. The same trial as one of `vitflow sweep` (host/sweep.py hardware_task), for the shipped model.
Writes build/scale/NAME-CYCLES-DEVICE/report.json (resources.json and the top beside it)."""

from __future__ import annotations

import time
from pathlib import Path

from ..build import build_dir
from ..quant.model_file import IntModel, write_json_atomic
from .sweep import hardware_task

DEFAULT_CYCLES = 200  # the budget asked of the default vit (a 1,000,000 images/s top at 200 MHz)
DEFAULT_DEVICE = "xcvu9p"
MAX_COPIES = 16


def run(model_file: Path, name: str, cycles: int, device: str, sim_images: int, timing: bool,
        root: Path | None = None, max_copies: int = MAX_COPIES, target_mhz: float | None = None) -> tuple[Path, dict]:
    """The trial of `model_file` at `cycles` per image on `device` (an instance placed below `target_mhz` again
    with the next seeds; default rtl/timing.TARGET_MHZ); returns report.json's path and contents."""
    m = IntModel.load(model_file)
    work = (Path(root) if root else build_dir("scale")).resolve() / f"{name}-{cycles}-{device}"
    t0 = time.perf_counter()
    settings = {"synth": True, "sim_images": sim_images, "timing": timing, "device": device, "max_copies": max_copies,
                "target_mhz": target_mhz}
    result = hardware_task({}, cycles, Path(model_file).read_bytes(), settings, str(work))
    report = {"model_file": str(Path(model_file).resolve()), "arch": m.arch, "model_id": f"{m.identity():08x}",
              "budget": cycles, "device": device, "max_copies": max_copies, **result,
              "total_seconds": round(time.perf_counter() - t0, 1)}
    path = work / "report.json"
    write_json_atomic(path, report)
    return path, report


def summary(report: dict) -> list[str]:
    """What the report measured, a line each."""
    if "error" in report:
        return [report["error"]]
    plan, lines = report["plan"], []
    lines.append(f"{report['arch']} at a budget of {report['budget']} cycles per image: plan estimate "
                 f"{plan['cycles_per_image_estimate']} (slowest {plan['slowest_kernel']}); copies "
                 + (", ".join(f"{k} x{v}" for k, v in plan["copies"].items()) or "none"))
    if res := report.get("resources"):
        frac = res[f"fraction_of_{report['device']}"]
        lines.append(f"Yosys: {res['LUT']:,} LUT, {res['FF']:,} FF, {res['DSP']:,} DSP, {res['BRAM36']:g} BRAM36 = "
                     + ", ".join(f"{k} {v:.1%}" for k, v in frac.items()) + f" of an {report['device']}")
    if sim := report.get("sim"):
        lines.append(f"simulated: {sim['images']} images, {sim['mismatches']} mismatching golden; "
                     f"{sim['cycles_per_image']} cycles per image, latency {sim['latency_cycles']} cycles")
    if t := report.get("timing"):
        lines.append(f"clock {t['fmax_mhz']} MHz (slowest instance {t['slowest_instance']}, {t['device']}): "
                     f"{report['images_per_s']:,} images/s ({report['images_per_s_cycles']} cycles)")
    return lines


def bad(report: dict) -> bool:
    """An error, or a simulated mismatch."""
    return "error" in report or bool(report.get("sim", {}).get("mismatches", 0))
