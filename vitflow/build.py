"""The one build folder of every command: $VITFLOW_BUILD (the CLI's `--build-dir` sets it), default ./build in
the working folder; read at each call, as an absolute path, so that a simulator started in another folder (the
cocotb runner passes the variable on) writes where its caller reads."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

ENV = "VITFLOW_BUILD"


def build_dir(*parts: str) -> Path:
    """The build folder, or a folder under it (build_dir("sim"), build_dir("hls", name))."""
    return Path(os.environ.get(ENV, "build")).resolve().joinpath(*parts)


@contextlib.contextmanager
def locked(folder: Path):
    """Hold `folder`'s lock (an flock on <folder>.lock beside it) while the body builds into it: two processes
    that build the same simulator or HLS project (two test workers, two `vitflow` commands) take turns, and the
    second finds the first's build in place."""
    lock = Path(folder).with_name(Path(folder).name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
