"""`vitflow hls / sim / timing / scale / bitstream`: the hardware of a model, generated and checked."""

from __future__ import annotations

from pathlib import Path

from ...build import build_dir
from ...model.config import ARCHS
from ...model.datasets import DATASETS
from ...rtl.cases import CASES
from ...rtl.plan import XILINX_DEVICES
from ...rtl.timing import TARGET_MHZ
from ..backends import ModelPaths, UserError
from ..inputs import load_model
from .common import add_json, add_model_args, counting, hardware_error, reporting


def cmd_hls(args) -> int:
    """hls4ml projects per kernel and per model, C-sim checked against golden; build/hls/report.json."""
    from ...hls.check import N_RANDOM, run
    from ...hls.graph import HLSConversionError
    from ...model.datasets import load_dataset

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
        with reporting(args) as emit:
            return hls_stock(models, data.x_test, args.limit, root, emit)
    n = len(data.x_test) if args.limit is None else min(args.limit, len(data.x_test))
    with reporting(args) as emit:
        print(f"{'arch':<10} {'kernel':<17} {'layer / project':<28} {'n':>6} {'mismatches':>10} {'time':>8}")
        try:
            report = run(models, data.x_test[:n], data.y_test[:n], root, args.random or N_RANDOM)
        except HLSConversionError as e:
            raise UserError(str(e)) from None
        for arch, syn in report["synthesis"].items():
            print(f"{arch}: {syn.get('skipped', 'C synthesis done')}")
        print(f"wrote {root / 'report.json'}")
        emit(report)
    bad = sum(r["mismatches"] for r in report["kernels"] + report["models"])
    return 1 if bad else 0


def hls_stock(models: dict, images, limit: int | None, root: Path, emit) -> int:
    """`vitflow hls --stock`: hls4ml's stock Softmax and LayerNormalization (default and tuned) beside our integer
    kernels on one model's own tensors (the first --limit test images, default 20), against float; root/stock.json."""
    from ...hls import stock
    from ..backends import importable

    if len(models) != 1:
        raise UserError("--stock compares one model's kernels: give --arch vit, mobilevit or swin, or --model")
    if not importable("torch"):
        raise UserError("`vitflow hls --stock` needs torch (its float reference): pip install 'vitflow[train]'")
    import torch

    torch.set_num_threads(1)
    (m,) = models.values()
    print(f"{'kernel':<10} {'config':<15} {'rows':>6} {'max abs err':>12} {'mean abs err':>12} {'argmax':>9}")
    try:
        report = stock.run(m, images[:limit or stock.N_IMAGES], root)
    except stock.NothingToCompare as e:
        raise UserError(f"{m.arch}: {e}") from None
    print(f"wrote {root / 'stock.json'}")
    emit(report)
    return 0


def cmd_sim(args) -> int:
    """RTL kernel testbenches (cocotb + Verilator), each model's top, and Yosys resources: build/sim/report.json,
    build/sim/<name>/report.json and resources.json (name: ModelPaths.build_name). With --model: that model's
    top only (the kernel testbenches check the shipped models' layers)."""
    from ...rtl.report import run

    if args.kernel and (args.model or args.cycles):
        raise UserError("--kernel runs one kernel's testbenches, --model / --cycles a top: give one of them")
    chosen = [] if args.kernel else [ModelPaths.resolve("vit", args.model)] if args.model else \
        [ModelPaths.resolve(a, None) for a in (ARCHS if args.arch == "all" else (args.arch,))]
    plan = f"-c{args.cycles}" if args.cycles else ""  # another plan's outputs beside the default plan's
    files = {paths.build_name(load_model(paths).identity()) + plan: paths.model_file for paths in chosen}
    with reporting(args) as emit:
        try:
            report = run(files, build_dir("sim"), synth=not args.no_synth, full=args.full,
                         kernels=args.kernel or not (args.model or args.cycles), cycles=args.cycles)
        except ValueError as e:
            raise hardware_error(", ".join(files), e) from None
        tops = [build_dir("sim", name, "report.json") for name in files]
        whole = [] if args.model or args.kernel or args.cycles else [build_dir("sim", "report.json")]
        if whole or tops:
            print(f"wrote {', '.join(map(str, whole + tops))}")
        emit(report)
    bad = report["testbench_exit_code"] != 0 or any(k["mismatches"] for k in report["kernels"]) or \
        any(t.get("mismatches", 1) for t in report["tops"].values())
    return 1 if bad else 0


def cmd_timing(args) -> int:
    """Place and route of every kernel instance of the top (nextpnr-ecp5, out of context):
    build/sim/<name>/timing.json (name: ModelPaths.build_name)."""
    from ...rtl.timing import TARGET_MHZ, run, run_whole

    paths = ModelPaths.resolve(args.arch, args.model)
    m = load_model(paths)
    name = paths.build_name(m.identity())
    if (args.cycles is not None or args.seed != 1) and not args.whole:
        raise UserError("--cycles N and --seed N go with --whole")
    with reporting(args) as emit:
        try:
            if args.whole:
                report = run_whole(m, build_dir("sim"), name, args.cycles, args.seed)
                print(f"wrote {build_dir('sim', name, 'whole', 'whole.json')}")
                emit(report)
                return 0 if report["within_10_percent"] else 1
            report = run(m, build_dir("sim"), name)
        except ValueError as e:
            raise hardware_error(name, e) from None
        print(f"wrote {build_dir('sim', name, 'timing.json')}")
        emit(report)
    return 1 if report["top"]["clock_mhz"] < TARGET_MHZ else 0


def cmd_scale(args) -> int:
    """The top at a cycle budget one instance per kernel cannot reach (kernels in copies), for a large device
    (host/scale.py): build/scale/NAME-CYCLES-DEVICE/report.json."""
    from .. import scale

    if not args.target_mhz > 0:
        raise UserError("--target-mhz must be above 0")
    paths = ModelPaths.resolve(args.arch, args.model)
    name = paths.build_name(load_model(paths).identity())
    with reporting(args) as emit:
        path, report = scale.run(paths.model_file, name, args.cycles, args.device, args.sim, args.timing,
                                 Path(args.out_dir) if args.out_dir else build_dir("scale"), args.max_copies,
                                 args.target_mhz)
        print("\n".join(scale.summary(report)))
        print(f"wrote {path}")
        emit(report)
    return 1 if scale.bad(report) else 0


def cmd_bitstream(args) -> int:
    """Vivado project Tcl for the PYNQ-Z2 (and the bitstream when vivado is on PATH): build/board/ for the
    shipped vit (make package), build/board/<name> for any other model (ModelPaths.build_name)."""
    from ...rtl.bitstream import build

    paths = ModelPaths.resolve(args.arch, args.model)
    m = load_model(paths)
    name = paths.build_name(m.identity())
    board = build_dir("board")
    out = Path(args.out) if args.out else board if paths.shipped and m.arch == "vit" else board / name
    with reporting(args) as emit:
        try:
            code = build(m, out, args.clock_mhz, cycles=args.cycles)
        except ValueError as e:
            raise hardware_error(name, e) from None
        bit = out / "vit_accel.bit"
        emit({"model_file": str(paths.model_file), "tcl": str(out / "vit_accel.tcl"), "exit_code": code,
              "bitstream": str(bit) if code == 0 and bit.is_file() else None,
              "board_report": str(out / "board.json") if (out / "board.json").is_file() else None})
    return code


def add_parsers(sub) -> None:
    """The parsers of hls, sim, timing, scale, bitstream."""
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
    add_json(h)
    h.set_defaults(func=cmd_hls)

    r = sub.add_parser("sim", help="RTL testbenches vs golden + Yosys resources (make sim)")
    r.add_argument("--arch", choices=ARCHS + ("all",), default="all", help="the shipped models' tops to test")
    r.add_argument("--model", help="model file (.npz) or checkpoint (.pt): test its top (not the kernels')")
    r.add_argument("--kernel", choices=sorted(CASES), help="this kernel's testbenches only (no top)")
    r.add_argument("--cycles", type=counting(1), help="the top(s) at this cycle budget per image (a slower, smaller "
                   "plan than the fastest that fits the xc7z020), not the kernels")
    r.add_argument("--no-synth", action="store_true", help="skip Yosys")
    r.add_argument("--full", action="store_true", help="also the whole digits test set through vit_accel (slow)")
    add_json(r)
    r.set_defaults(func=cmd_sim)

    tm = sub.add_parser("timing", help="place and route of every kernel of the top, ECP5 out of context (make timing)")
    add_model_args(tm, data=False)
    tm.add_argument("--whole", action="store_true", help="the whole top placed and routed in one piece on the "
                    "ECP5-85F (the fastest plan that fits it), a bitstream, beside its instances placed alone")
    tm.add_argument("--cycles", type=counting(1), help="with --whole: this plan's cycles per image instead")
    tm.add_argument("--seed", type=counting(1), default=1, help="with --whole: nextpnr's seed (default 1; each "
                    "seed's run is cached, whole.json holds the last)")
    add_json(tm)
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
    add_json(sc)
    sc.set_defaults(func=cmd_scale)

    bs = sub.add_parser("bitstream", help="Vivado project (PYNQ-Z2: PS7 + AXI DMA + vit_accel); builds it with vivado")
    add_model_args(bs, data=False)
    bs.add_argument("--out", help="output folder (default build/board; build/board/NAME for a --model)")
    bs.add_argument("--clock-mhz", type=float, default=100.0, help="fabric clock FCLK0 (default 100)")
    bs.add_argument("--cycles", type=counting(1), help="the top at this cycle budget per image (default: the fastest "
                    "plan that fits the xc7z020)")
    add_json(bs)
    bs.set_defaults(func=cmd_bitstream)
