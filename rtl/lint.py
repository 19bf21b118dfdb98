"""`verilator --lint-only -Wall` of a kernel with the parameters of one of its instances (or of a generated
top): the warnings as one line each. Intentional exceptions carry a `lint_off` with its reason in the source."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from .gen import verilog_literal
from .simulate import RTL, verilator_root


def lint(module: str, parameters: dict | None = None, generated: list[Path] = ()) -> list[str]:
    """Warnings of `module` (rtl/<module>.v or one of `generated`) elaborated with `parameters`."""
    root = verilator_root()
    gparams = [f"-G{k}={verilog_literal(v)}" for k, v in (parameters or {}).items()]
    sources = [str(p) for p in sorted(RTL.glob("*.v"))] + [str(g) for g in generated]
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([str(root / "bin" / "verilator"), "--lint-only", "-Wall", "--top-module", module, *gparams,
                            "--Mdir", tmp, *sources], capture_output=True, text=True,
                           env={**os.environ, "VERILATOR_ROOT": str(root)})
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("%Warning") or ln.startswith("%Error")]
    if r.returncode != 0 and not warnings:
        raise RuntimeError(f"verilator --lint-only failed on {module}: {r.stderr.strip()[-300:]}")
    return [w for w in warnings if not w.startswith("%Error: Exiting due to")]
