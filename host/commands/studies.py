"""`vitflow report / sweep`: the project's reports collected, and design-space sweeps."""

from __future__ import annotations

import json
from pathlib import Path

from ...build import build_dir
from ...model.config import ARCHS
from ...model.datasets import DATASETS
from ..backends import UserError
from .common import add_json, counting, int_list, reporting


def cmd_report(args) -> int:
    """REPORT.md, its plots and summary.json under --out from the JSON reports under --build-dir; accuracy measured
    here. Missing reports are "not measured" lines (exit 0); a bad --model is exit 2."""
    from ..report import run, targets_for

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


def cmd_sweep(args) -> int:
    """A design-space sweep (model shape x Plan's cycle budget), each trial trained, generated and measured
    (host/sweep.py): build/sweep/NAME/sweep.json, trials/ (cached: a re-run resumes) and Pareto plots."""
    from dataclasses import replace

    from .. import sweep

    values = sweep.read_grid_file(args.config) if args.config else {}
    values.update({k: getattr(args, k) for k in sweep.AXES + sweep.TRAIN_KEYS if getattr(args, k) is not None})
    axes, settings = sweep.grid_axes(values)
    settings = replace(settings, synth=not args.no_synth, sim_images=args.sim, timing=args.timing)
    name = args.name or (Path(args.config).stem if args.config else "sweep")
    sweep_root = Path(args.out_dir) if args.out_dir else build_dir("sweep")
    with reporting(args) as emit:
        report = sweep.run(name, axes, settings, sweep_root, args.workers, args.ray, progress=not args.quiet)
        print("\n".join(sweep.summary(report)))
        print(f"wrote {sweep_root / name / 'sweep.json'}")
        emit(report)
    return 1 if sweep.bad(report) else 0


def add_parsers(sub) -> None:
    """The parsers of report, sweep."""
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
    add_json(sw)
    sw.set_defaults(func=cmd_sweep)
