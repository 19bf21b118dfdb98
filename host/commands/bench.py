"""`vitflow bench`: images/s and latency of each backend on the same images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...quant.model_file import write_json_atomic
from .. import bench
from ..backends import BACKENDS
from ..inputs import load_test_split
from .common import add_model_args, counting, model_paths


def bench_images(args, input_shape) -> tuple[np.ndarray, np.ndarray]:
    """--images N of the test split (cycled when N is larger than the split)."""
    _, x, y = load_test_split(args.dataset, args.data_dir, None, input_shape)
    n = args.images or len(x)
    idx = np.arange(n) % len(x)
    return x[idx], y[idx]


def cmd_bench(args) -> int:
    """host/bench.py's report of each backend (--backends, default all) on --images of the test split."""
    names = [b.strip() for b in args.backends.split(",") if b.strip()] if args.backends else list(BACKENDS)
    report = bench.run(names, model_paths(args), lambda shape: bench_images(args, shape), args.repeat,
                       args.latency_images, args.dataset)
    if args.out:  # for `vitflow report` (build/bench/NAME.json)
        write_json_atomic(Path(args.out), report)
    print(json.dumps(report) if args.json else "\n".join(bench.lines(report)))
    if args.out and not args.json:
        print(f"wrote {args.out}")
    return 0


def add_parsers(sub) -> None:
    """The parsers of bench."""
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
