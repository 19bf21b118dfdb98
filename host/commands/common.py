"""What the commands share: the one-line-error parser, argument types and groups (model, shape), model paths."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np

from ...model.config import ARCHS, SHAPE_FIELDS
from ...model.datasets import DATASETS
from ...quant.spec import WEIGHT_BITS_CHOICES
from ..backends import ModelPaths, UserError
from ..inputs import load_model

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


def probability(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got '{text}'") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value}")
    return value


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


def shape_values(args) -> dict:
    """The model fields asked for: --config FILE, then --arch and the shape flags over it."""
    from ...model.config import read_config_file

    values = read_config_file(args.config) if args.config else {}
    values.update({k: getattr(args, k) for k in ("arch", *SHAPE_FIELDS) if getattr(args, k) is not None})
    return values


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


def model_meta(paths: ModelPaths) -> dict | None:
    """The model file's meta (how it was trained), whichever backend runs it; None without a model file."""
    from ...quant.model_file import IntModel

    return IntModel.load(paths.model_file).meta if paths.model_file.is_file() else None


def picture_framing(paths: ModelPaths):
    """How the model's training framed its digits (the model file's meta; the digits framing without one)."""
    from ..preprocess import framing_for

    return framing_for(model_meta(paths))


def min_probability(args, paths: ModelPaths) -> float:
    """--min-probability, else the model's own threshold (the model file's meta), else the default."""
    from ..accelerator import min_probability_of

    given = getattr(args, "min_probability", None)
    return given if given is not None else min_probability_of(model_meta(paths))


def picture_split(args, paths: ModelPaths, input_shape):
    """A data set of pictures (strokes) preprocessed to the model's input: (data, x, y, content per image)."""
    from ...model.datasets import load_dataset
    from ..preprocess import prepare

    data = load_dataset(args.dataset, args.data_dir)
    n = len(data.x_test) if args.limit is None else min(args.limit, len(data.x_test))
    framing = picture_framing(paths)
    prepared = [prepare(p[0] / 255.0, input_shape, framing) for p in data.x_test[:n]]
    return data, np.stack([p.image for p in prepared]), data.y_test[:n], [p.content for p in prepared]


def add_json(p) -> None:
    p.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout (the "
                                                       "progress lines go to stderr)")


@contextlib.contextmanager
def reporting(args):
    """The body of a command with --json: while it runs its text lines go to stderr, and the `emit(report)` it
    is handed prints the report to stdout as one JSON object; without --json, emit does nothing."""
    stdout = sys.stdout
    if not getattr(args, "json", False):
        yield lambda report: None
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield lambda report: print(json.dumps(report, default=str), file=stdout)
