"""Debug aid: one image through vit_accel, every tensor stream of the top tapped and compared with the
golden model's tensor of the same name (first mismatching layer wins); on a 4-state simulator, beats with X or
Z bits are named. Run: [VITFLOW_SIM=icarus] python rtl_tests/vit_accel/debug_taps.py"""

import os
import sys
from pathlib import Path

RTL_TESTS = str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, RTL_TESTS)
os.environ["PYTHONPATH"] = os.pathsep.join([RTL_TESTS, os.environ.get("PYTHONPATH", "")])

import cocotb  # noqa: E402
import numpy as np  # noqa: E402
from cocotb.triggers import RisingEdge  # noqa: E402
from test_vit_accel import Harness, sample_images  # noqa: E402


@cocotb.test()
async def taps(dut):
    from vitflow.quant import golden
    from vitflow.quant.golden import tensor_shapes

    h = Harness(dut)
    m = h.m
    shapes, fmts = tensor_shapes(m), m.formats()
    names = [op.name for op in m.ops]
    seen = {n: [] for n in names}

    async def tap(n):
        w = n.replace(".", "_")
        data, valid, ready = (getattr(dut, f"{w}_t{s}") for s in ("data", "valid", "ready"))
        while True:
            await RisingEdge(dut.clk)
            if str(valid.value) == "1" and str(ready.value) == "1":  # X before the reset
                seen[n].append(int(data.value) if data.value.is_resolvable else None)

    for n in names:
        cocotb.start_soon(tap(n))
    await h.reset()
    img = sample_images(m, 1)[3:4]
    await h.send(img)
    await h.receive(1)
    env = golden.run(m, img, keep=True)
    for n in names:
        f, width = fmts[n], shapes[n][-1]
        if None in seen[n]:
            dut._log.info(f"{n:<22} beats {len(seen[n]):>3}: X or Z in beat {seen[n].index(None)}")
            continue
        mask = (1 << f.bits) - 1
        got = np.array([[((v >> (i * f.bits)) & mask) for i in range(width)] for v in seen[n]], np.int64)
        if f.signed:
            got = np.where(got >= 1 << (f.bits - 1), got - (1 << f.bits), got)
        ref = env[n].reshape(-1, width)
        ok = got.shape == ref.shape and (got == ref).all()
        dut._log.info(f"{n:<22} beats {len(seen[n]):>3}/{len(ref):<3} {'ok' if ok else 'MISMATCH'}")
        if not ok and got.shape == ref.shape:
            bad = np.argwhere(got != ref)[:3]
            dut._log.info(f"   first diffs at {bad.tolist()}: got {[got[tuple(b)] for b in bad]} "
                          f"ref {[ref[tuple(b)] for b in bad]}")


if __name__ == "__main__":
    from sim import run
    from test_vit_accel import model

    from vitflow.rtl.rtlsim import top_dir
    from vitflow.rtl.top import write_top

    top, _ = write_top(model(), top_dir(model()))
    run("vit_accel", "debug_taps", {}, generated=[top], internals=True)
