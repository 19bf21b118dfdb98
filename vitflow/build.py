"""The one build folder of every command: $VITFLOW_BUILD (the CLI's `--build-dir` sets it), default ./build in
the working folder; read at each call, as an absolute path, so that a simulator started in another folder (the
cocotb runner passes the variable on) writes where its caller reads."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "VITFLOW_BUILD"


def build_dir(*parts: str) -> Path:
    """The build folder, or a folder under it (build_dir("sim"), build_dir("hls", name))."""
    return Path(os.environ.get(ENV, "build")).resolve().joinpath(*parts)
