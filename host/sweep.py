"""`vitflow sweep`: a design-space sweep over the model's shape (weight bits, width, depth, ...) and the cycle
budget of rtl/plan.py's `Plan`. A trial is one grid point: its model trained by `vitflow train`'s own code (cached
per model, shared by the point's budgets), test accuracy of the golden model, its top written with the trial's
plan, Yosys resources, the plan's cycles per image (checked in simulation with `sim_images`), Fmax with `timing`.
Trials run in a local pool or as Ray tasks (the same functions, seeds and single-threaded torch: identical
results), are cached in build/sweep/NAME/trials/HASH.json (a re-run resumes; models in models/, tops in tops/),
and end in sweep.json and Pareto plots."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

from ..build import build_dir
from ..model.config import ARCHS, SHAPE_FIELDS
from ..quant.model_file import write_atomic, write_json_atomic
from .backends import UserError, importable

DATASET = "digits"
# grid axes: ModelConfig fields (the arch's defaults for the others) and the Plan's cycles per image
AXES = ("arch", "weight_bits", "dim", "depth", "heads", "mlp_dim", "patch", "window", "budget")
TRAIN_KEYS = ("epochs", "float_epochs", "qat_epochs", "seed")  # shared by every trial; epochs: both phases
DEFAULT_BUDGET = 2000  # Plan's default cycles per image
# the top's testbench parts that check images (IMAGES of the test split + 3 edge images under backpressure)
# and measure cycles per image (9 images back to back)
SIM_TESTS = r"\.(images_under_backpressure|throughput)$"
VERSION = 1  # part of every cache key: bump when a trial's record changes meaning


@dataclass(frozen=True)
class Settings:
    """What every trial of a sweep shares besides its grid point."""

    float_epochs: int | None = None  # None: TrainConfig's default (and for the two below)
    qat_epochs: int | None = None
    seed: int | None = None
    synth: bool = True        # Yosys resources of the top
    sim_images: int = 0       # > 0: the top simulated on this many test images (+ 3 edge images)
    timing: bool = False      # place and route of every instance (ECP5, nextpnr): Fmax and images/s


def read_grid_file(path: str | Path) -> dict:
    """A sweep's TOML file: every axis (a value or a list) and the training keys; flags override it."""
    try:
        import tomllib  # novermin (guarded: Python 3.10 gets the one-line error below)
    except ImportError:  # Python 3.10 (a PYNQ board's): no TOML reader in the standard library
        raise UserError("a sweep file needs Python 3.11 or later (tomllib); give the axes as flags") from None

    path = Path(path)
    try:
        values = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"sweep file {path} not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UserError(f"{path} is not a readable TOML file ({e})") from None
    if unknown := sorted(set(values) - set(AXES) - set(TRAIN_KEYS)):
        raise UserError(f"{path}: unknown key '{unknown[0]}' (keys: {', '.join(AXES + TRAIN_KEYS)})")
    return values


def grid_axes(values: dict) -> tuple[dict[str, list], Settings]:
    """Axes (each a list of distinct values, in order) and the training settings of a file's or the flags'
    values; one line on a bad value."""
    def ints(key, v):
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if key == "seed" else 1):
            raise UserError(f"{key}: expected {'a non-negative' if key == 'seed' else 'a positive'} integer, "
                            f"got {v!r}")
        return v

    axes = {}
    for key in AXES:
        if key in values:
            vals = list(dict.fromkeys(values[key] if isinstance(values[key], (list, tuple)) else [values[key]]))
            if not vals:
                raise UserError(f"{key}: an empty list")
            if key == "arch" and (bad := [a for a in vals if a not in ARCHS]):
                raise UserError(f"unknown arch {bad[0]!r} (choose from {', '.join(ARCHS)})")
            axes[key] = vals if key == "arch" else [ints(key, v) for v in vals]
    train = {k: ints(k, values[k]) for k in TRAIN_KEYS if values.get(k) is not None}
    epochs = train.pop("epochs", None)
    return axes, Settings(float_epochs=train.get("float_epochs", epochs), qat_epochs=train.get("qat_epochs", epochs),
                          seed=train.get("seed"))


def grid_points(axes: dict[str, list]) -> tuple[list[dict], list[dict]]:
    """Every point of the grid (the product of the axes, in order) as (points, refused): a point is the
    validated ModelConfig of its model (model/config.py, on the digits data set) and its budget; refused: the
    points that validate() refuses, with its reason."""
    from ..model.config import ConfigError, config_for_data
    from ..model.datasets import load_dataset

    data = load_dataset(DATASET)
    names = [a for a in AXES if a in axes]
    points, refused = [], []
    for combo in itertools.product(*(axes[a] for a in names)):
        point = dict(zip(names, combo))
        try:
            cfg = config_for_data({k: v for k, v in point.items() if k != "budget"}, data.in_chans, data.img_size,
                                  data.num_classes, data.patch)
        except ConfigError as e:
            refused.append({"point": point, "reason": str(e)})
            continue
        points.append({"point": point, "config": cfg.to_json(), "budget": point.get("budget", DEFAULT_BUDGET)})
    return points, refused


def hardware_sources() -> str:
    """A digest of what a trial's hardware is generated, counted and checked with: the RTL and its generator
    (rtl/), the top's testbench (rtl_tests/vit_accel, stream.py, sim.py) and the golden model it is compared
    with. Part of every trial's key: a record measured with other sources (an older generator's top) is not
    read back but measured again; models are not retrained for it."""
    from ..quant import golden
    from ..rtl.simulate import RTL, TESTBENCHES

    # (the testbenches are in a checkout, not in an installed package: there the sources hashed are fewer)
    files = [*(f for f in RTL.glob("*.py") if not f.name.startswith("test_")), *RTL.glob("*.v"),
             *(TESTBENCHES / "vit_accel").glob("*.py"), *TESTBENCHES.glob("stream.py"), *TESTBENCHES.glob("sim.py"),
             *Path(golden.__file__).parent.glob("golden*.py")]
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps([VERSION, *parts], sort_keys=True).encode()).hexdigest()[:16]


def train_config(settings: Settings) -> dict:
    """The TrainConfig every model of the sweep trains with (its defaults where the settings leave them)."""
    from ..model.train import TrainConfig

    given = {"float_epochs": settings.float_epochs, "qat_epochs": settings.qat_epochs, "seed": settings.seed}
    return asdict(TrainConfig(**{k: v for k, v in given.items() if v is not None}))


def train_task(config: dict, train: dict) -> dict:
    """Train one model as `vitflow train` does (host/training.py, on the digits split, quiet), single-threaded;
    returns the model file's and the checkpoint's bytes and what the training reports."""
    import torch

    from ..model.datasets import load_dataset
    from .training import train_model

    torch.set_num_threads(1)  # the same arithmetic in every worker (and CPU for the others)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model"
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()
                  if k == "arch" or k in SHAPE_FIELDS}
        report = train_model(values, load_dataset(DATASET), out, train, progress=False)
        if report["config"] != config:
            raise RuntimeError(f"training built {report['config']}, not {config}")
        return {"model_file": out.with_suffix(".npz").read_bytes(), "checkpoint": out.with_suffix(".pt").read_bytes(),
                "training": {k: report[k] for k in ("float_accuracy", "quant_accuracy", "golden_accuracy",
                                                    "golden_vs_brevitas_mismatches", "n_test")},
                "seconds": round(time.perf_counter() - t0, 1)}


def plan_estimate(m, plan, instances: dict) -> dict:
    """The plan's cycles per image: the slowest kernel's (the cycle model of rtl/passes.py annotate_cycles, an
    instance's share of its copies), each engine's lanes x SIMD, and the copies of the kernels that have more
    than one."""
    from ..rtl.gen import engine_shape

    kernels = {}  # layer -> its (first) kernel instance
    for i in instances.values():
        if "cycles_per_image" in i:
            kernels.setdefault(i["layer"], i)
    cycles = {name: i["cycles_per_image"] for name, i in kernels.items()}
    slowest = max(cycles, key=cycles.get)
    engines = {op.name: plan.lanes_for(op, e) for op in m.ops if (e := engine_shape(m, op)) is not None}
    return {"cycles_per_image_estimate": cycles[slowest], "slowest_kernel": slowest,
            "lanes": {name: [p.lanes, p.simd] for name, p in engines.items()},
            "copies": {name: i["copies"] for name, i in kernels.items() if i.get("copies", 1) > 1}}


def hardware_task(config: dict, budget: int, model_file: bytes, settings: dict, work: str) -> dict:
    """A trial's hardware: the top of the model with Plan(cycles_per_image=budget) (and settings' max_copies)
    written into `work`, and what `settings` asks measured; Yosys counts for settings' device (default the
    xc7z020). A budget the generator cannot build is a result ('error'), not an exception."""
    from ..quant.model_file import IntModel
    from ..rtl.plan import Plan
    from ..rtl.planner import top_plan
    from ..rtl.report import _resources
    from ..rtl.simulate import sim_build
    from ..rtl.synth import RESOURCES, synthesize_instances
    from ..rtl.top import macs_per_image, write_top

    work = Path(work)
    model = work / "model.npz"
    _write_bytes(model, model_file)
    m = IntModel.load(model)
    seconds, t0 = {}, time.perf_counter()
    try:
        plan = top_plan(m, Plan(cycles_per_image=budget, dsp=None, max_copies=settings.get("max_copies", 1)))
        top, instances = write_top(m, work / "top", plan)
    except ValueError as e:
        return {"error": f"cannot generate hardware: {e}"}
    seconds["top"] = round(time.perf_counter() - t0, 1)
    device = settings.get("device", "xc7z020")
    result = {"plan": plan_estimate(m, plan, instances), "macs_per_image": macs_per_image(m),
              "mac_lanes": sum(i.get("mac_lanes", 0) for i in instances.values())}
    cycles, basis = result["plan"]["cycles_per_image_estimate"], "plan estimate"
    if settings["synth"]:
        t0 = time.perf_counter()
        res = _resources(synthesize_instances(instances, sim_build("synth_cache"), workers=1, device=device),
                         instances, device)
        write_json_atomic(work / "resources.json", res)
        total, frac = res["vit_accel"], f"fraction_of_{device}"
        result["resources"] = {**{k: total[k] for k in RESOURCES}, frac: total[frac]}
        result[f"fits_{device}"] = all(v <= 1 for v in total[frac].values())
        seconds["synth"] = round(time.perf_counter() - t0, 1)
    if settings["sim_images"]:
        t0 = time.perf_counter()
        result["sim"] = simulate(m, model, top, settings["sim_images"], work / "sim")
        cycles, basis = result["sim"]["cycles_per_image"], "simulation"
        seconds["sim"] = round(time.perf_counter() - t0, 1)
    if settings["timing"]:
        t0 = time.perf_counter()
        result["timing"] = fmax(instances, sim_build("timing_cache"), settings.get("target_mhz"))
        result["images_per_s"] = round(result["timing"]["fmax_mhz"] * 1e6 / cycles)
        result["images_per_s_cycles"] = basis
        seconds["timing"] = round(time.perf_counter() - t0, 1)
    return {**result, "seconds": seconds}


def simulate(m, model: Path, top: Path, images: int, out: Path) -> dict:
    """The top's own testbench (rtl_tests/vit_accel, as `vitflow sim --model` runs it, on Verilator) on this
    top: `images` test images + 3 edge images under backpressure against golden, then 9 back to back for the
    cycles per image."""
    from unittest.mock import patch

    from cocotb_tools.check_results import get_results

    from ..rtl.simulate import ROOT, run

    tb = ROOT / "rtl_tests"
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.json"), *out.glob("*.xml")]:
        old.unlink()
    from ..rtl.top import model_file as cycle_model

    env = {"IMAGES": str(images), "VITFLOW_TOP_MODEL": str(model.resolve()), "VITFLOW_SIM": "verilator",
           "VITFLOW_SIM_RESULTS": str(out.resolve()), "COCOTB_TEST_FILTER": SIM_TESTS,
           "VITFLOW_TOP_CYCLE_MODEL": str(cycle_model(top).resolve())}
    testbench = [str(tb / "vit_accel"), str(tb)]  # the runner hands this sys.path to the simulator's Python
    sys.path[:0] = testbench
    try:
        with patch.dict(os.environ, env), contextlib.suppress(SystemExit):  # the runner passes os.environ on,
            # over env; under pytest it exits on a failed test: the results file says below
            run("vit_accel", "test_vit_accel", {}, env, generated=[top], test_dir=out.resolve(),
                log_file=out.resolve() / "sim.log")
    finally:
        for p in testbench:
            sys.path.remove(p)
    xml = sorted(out.glob("*.xml"))
    tests, failed = get_results(xml[0]) if xml else (0, 0)
    found = out / f"top-{m.identity():08x}.json"
    if failed or not tests or not found.is_file():
        raise RuntimeError(f"the top's testbench {f'failed {failed} of {tests} parts' if tests else 'did not run'}: "
                           f"see {out / 'sim.log'}")
    r = json.loads(found.read_text())
    return {k: r[k] for k in ("images", "mismatches", "pause", "cycles_per_image", "latency_cycles")}


def fmax(instances: dict, cache: Path, target_mhz: float | None = None) -> dict:
    """Place and route of every distinct instance of the top (rtl/timing.py, ECP5 out of context, the seeds
    and cache of `vitflow timing`; seeds tried below `target_mhz`, default its TARGET_MHZ): the top's clock is
    its slowest instance's Fmax."""
    from ..rtl.timing import DEVICE, TARGET_MHZ, place_instances

    target_mhz = target_mhz or TARGET_MHZ
    pnr = place_instances(instances, cache, workers=1, target_mhz=target_mhz)
    timed = {name: r["fmax_mhz"] for name, r in pnr.items() if r["fmax_mhz"]}
    slowest = min(timed, key=timed.get)
    return {"fmax_mhz": timed[slowest], "slowest_instance": slowest, "target_mhz": target_mhz,
            "device": f"{DEVICE['device']} speed {DEVICE['speed']} (nextpnr-ecp5, out of context)"}


class RayExecutor(Executor):
    """Ray tasks behind the Executor interface (one CPU each): on the cluster at `address`, or on a local one of
    `cpus` CPUs started here."""

    def __init__(self, address: str | None, cpus: int):
        import logging

        import ray

        self.ray, self.remote = ray, {}
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}  # the progress bar and the table only
        if address:
            ray.init(address=address, **quiet)
        else:  # a private local cluster, small: this machine runs other jobs
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, object_store_memory=100 * 2**20,
                     **quiet)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if fn not in self.remote:
            self.remote[fn] = self.ray.remote(num_cpus=1)(fn)
        return self.remote[fn].remote(*args, **kwargs).future()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False):
        self.ray.shutdown()


def executor(workers: int, ray_address: str | None) -> Executor:
    """Where the tasks run: Ray (ray_address not None; '' for a local cluster), else `workers` processes (a
    thread of this process for 1: nothing to start)."""
    if ray_address is not None:
        if not importable("ray"):
            raise UserError("--ray needs ray: pip install 'vitflow[sweep]'")
        return RayExecutor(ray_address, workers)
    if workers == 1:
        return ThreadPoolExecutor(1)
    import multiprocessing

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def _write_bytes(path: Path, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def _key(points: list[dict], train: dict, hardware: dict, sources: str) -> None:
    """Each point's keys: its model's (config, training); its top's (its folder: the same ROM paths keep Yosys'
    and Verilator's caches valid when only the measurements asked for change); the trial's."""
    for p in points:
        p["model_key"] = _digest(p["config"], train)
        p["top_key"] = _digest(p["config"], train, p["budget"])
        p["key"] = _digest(p["config"], train, p["budget"], hardware, sources)


def _adopt(folder: Path, k: str) -> bool:
    """A model that another sweep under the same root trained with the same key (config and training): copied
    in (its .json, the completion mark, last), not trained again."""
    for found in folder.parent.glob(f"*/models/{k}.json"):
        if found.parent != folder / "models" and all(found.with_suffix(e).is_file() for e in (".npz", ".pt")):
            for ext in (".pt", ".npz", ".json"):
                _write_bytes(folder / "models" / f"{k}{ext}", found.with_suffix(ext).read_bytes())
            return True
    return False


def _record(point: dict, result: dict, model: dict) -> dict:
    """A trial's record: its point and keys, its model's training, what the hardware task measured."""
    seconds = {"train": model["seconds"], **result.pop("seconds", {})}
    record = {k: point[k] for k in ("key", "model_key", "point", "config", "budget")}
    record.update(training=model["training"], **result, seconds=seconds,
                  files={"model_file": f"models/{point['model_key']}.npz", "top": f"tops/{point['top_key']}"})
    return record


def run(name: str, axes: dict[str, list], settings: Settings, root: Path | None = None, workers: int = 1,
        ray_address: str | None = None, progress: bool = True) -> dict:
    """The sweep NAME over `axes`: cached trials are read back, the others run (models trained first, each
    once, then the trials of its budgets); writes root/NAME/sweep.json and the plots and returns sweep.json."""
    from tqdm import tqdm

    folder = (Path(root) if root else build_dir("sweep")) / name
    points, refused = grid_points(axes)
    if not points:
        raise UserError(f"no point of the grid is a model the flow can build: {refused[0]['reason']}")
    train = train_config(settings)
    hardware = {k: v for k, v in asdict(settings).items() if k in ("synth", "sim_images", "timing")}
    sources = hardware_sources()
    _key(points, train, hardware, sources)
    trial_file = lambda p: folder / "trials" / f"{p['key']}.json"  # noqa: E731
    model_file = lambda k, ext: folder / "models" / f"{k}{ext}"  # noqa: E731
    # cached trials, under this grid's point (the same trial may have been asked for by another grid)
    trials = {p["key"]: {**json.loads(trial_file(p).read_text()), "point": p["point"]} for p in points
              if trial_file(p).is_file()}
    todo = [p for p in points if p["key"] not in trials]
    models = {p["model_key"]: p["config"] for p in todo}

    untrained = [k for k in models if not model_file(k, ".json").is_file() and not _adopt(folder, k)]
    failed, t_start = [], time.perf_counter()
    with executor(workers, ray_address) as pool, \
            tqdm(total=len(untrained) + len(todo), desc=f"sweep {name}", unit="task", disable=not progress) as bar:
        pending: dict[Future, tuple[str, dict | str]] = {}

        def submit_trials(mkey: str) -> None:
            blob = model_file(mkey, ".npz").read_bytes()
            for p in (p for p in todo if p["model_key"] == mkey):
                work = str((folder / "tops" / p["top_key"]).resolve())
                pending[pool.submit(hardware_task, p["config"], p["budget"], blob, hardware, work)] = ("trial", p)
        for mkey in models:
            if mkey in untrained:
                pending[pool.submit(train_task, models[mkey], train)] = ("model", mkey)
            else:
                submit_trials(mkey)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                kind, what = pending.pop(fut)
                bar.update()
                try:
                    r = fut.result()
                except Exception as e:  # a tool or a task that broke: reported, not cached, the others go on
                    points_of = [p for p in todo if p["model_key"] == what] if kind == "model" else [what]
                    bar.update(len(points_of) if kind == "model" else 0)
                    failed += [{"point": p["point"], "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
                               for p in points_of]
                    continue
                if kind == "model":
                    _write_bytes(model_file(what, ".pt"), r["checkpoint"])
                    _write_bytes(model_file(what, ".npz"), r["model_file"])
                    write_json_atomic(model_file(what, ".json"), {"training": r["training"], "seconds": r["seconds"]})
                    submit_trials(what)
                    continue
                model = json.loads(model_file(what["model_key"], ".json").read_text())
                trials[what["key"]] = record = _record(what, r, model)
                write_json_atomic(trial_file(what), record)
    ordered = [trials[p["key"]] for p in points if p["key"] in trials]
    report = {"name": name, "dataset": DATASET, "axes": axes, "train": train, "hardware": hardware,
              "hardware_sources": sources,
              "runner": f"ray ({ray_address or 'local cluster'})" if ray_address is not None else
              f"local ({workers} worker{'s' * (workers > 1)})",
              "trials": ordered, "refused": refused, "failed": failed,
              "seconds": round(time.perf_counter() - t_start, 1)}
    from .sweep_plots import plot_all

    report["plots"] = plot_all(ordered, folder)
    write_json_atomic(folder / "sweep.json", report)
    return report


def bad(report: dict) -> list[str]:
    """What makes the sweep fail (exit code 1): trials that broke, models whose golden and Brevitas logits
    differ, tops that mismatch golden in simulation."""
    out = [f"{f['point']}: {f['error']}" for f in report["failed"]]
    for t in report["trials"]:
        if t["training"]["golden_vs_brevitas_mismatches"]:
            out.append(f"{t['point']}: {t['training']['golden_vs_brevitas_mismatches']} images golden != Brevitas")
        if t.get("sim", {}).get("mismatches"):
            out.append(f"{t['point']}: {t['sim']['mismatches']} images RTL != golden")
    return out


def command(report: dict) -> str:
    """The `vitflow sweep` command line of a sweep.json's grid and measurements (its training settings are in
    the file: the defaults unless the sweep was given others)."""
    argv = [f"--name {report['name']}"] + [f"--{k.replace('_', '-')} {','.join(map(str, v))}"
                                            for k, v in report["axes"].items()]
    hw = report["hardware"]
    argv += ([] if hw["synth"] else ["--no-synth"]) + ([f"--sim {hw['sim_images']}"] if hw["sim_images"] else []) \
        + (["--timing"] if hw["timing"] else [])
    return "vitflow sweep " + " ".join(argv)


def summary(report: dict) -> list[str]:
    """The sweep as a table, one line per trial, then what was refused or failed and where the files are."""
    from .sweep_plots import label

    lines = [f"{'trial':<24} {'accuracy':>8} {'LUT':>7} {'FF':>7} {'DSP':>5} {'BRAM36':>6} {'cycles/img':>10} "
             f"{'Fmax MHz':>8} {'images/s':>9}"]
    for t in report["trials"]:
        if "error" in t:
            lines.append(f"{label(t):<24} {100 * t['training']['golden_accuracy']:>7.2f}%  {t['error']}")
            continue
        r = t.get("resources", {})
        cycles = t["sim"]["cycles_per_image"] if "sim" in t else f"~{t['plan']['cycles_per_image_estimate']}"
        lines.append(f"{label(t):<24} {100 * t['training']['golden_accuracy']:>7.2f}% {r.get('LUT', '-'):>7} "
                     f"{r.get('FF', '-'):>7} {r.get('DSP', '-'):>5} {r.get('BRAM36', '-'):>6} {cycles:>10} "
                     f"{t.get('timing', {}).get('fmax_mhz', '-'):>8} {t.get('images_per_s', '-'):>9}")
    lines += [f"refused {r['point']}: {r['reason']}" for r in report["refused"]]
    lines += [f"FAILED {b}" for b in bad(report)]
    plots = report["plots"]
    lines.append("cycles/img: ~ the plan's estimate, else simulated; "
                 + (f"plots: {', '.join(plots.values())}" if "skipped" not in plots else plots["skipped"]))
    return lines
