"""linear kernel RTL vs the golden model: whole images of tokens under random AXI-Stream backpressure, with
the lane pairs packed (mul2) and split (mul2_split); and the engine's other configurations on real layers:
SIMD > 1, lane counts that do not divide N_OUT, the depthwise mode.

A conv layer runs on the engine as rtl/conv.v feeds it: one token per output pixel, the im2col vector of its
K x K window (here (c, kh, kw) order, as the weight's own), or for a depthwise conv the K*K taps x C channels,
tap-major. Its tokens here are random vectors; the reference is golden's conv2d on each token as a K x K
patch (stride 1, no padding), so the engine is checked against the conv kernel itself."""

import os
import random

import cocotb
import numpy as np
import pytest
import stream
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from stream import check_case, check_images, make_images, model_op

from vitflow.quant import golden_kernels as K

TOKENS = 16  # per image: the output pixels of MobileViT's 4x4 convs, the tokens of the Swin / vit layers
# name -> (arch, layer, lanes, simd); a conv layer is checked as the engine sees it (module docstring)
ENGINES = {
    "fuse_simd4": ("mobilevit", "fuse", 24, 4),         # 108 cycles per pixel, split pairs
    "local_simd2": ("mobilevit", "local", 24, 2),       # 108 cycles per pixel
    "q_lanes11": ("swin", "blocks.0.attn.q", 11, 1),    # 3 groups, the last 1 lane of 11 used
    "dw_lanes4": ("mobilevit", "dw", 4, 1),             # depthwise, 8 groups of 4 channels
    # odd SIMD (an adder-tree level passing a value on), both the inputs (216 = 43*5 + 1) and the outputs
    # (24 = 2*10 + 4) padded, packed pairs
    "local_mixed": ("mobilevit", "local", 10, 5),
    "dw_lanes3": ("mobilevit", "dw", 3, 1),            # the top's choice: 11 groups, the last 2 lanes of 3 used
}
DEFAULT_ENGINES = ("local_mixed", "dw_lanes3")  # in `make test`; the rest under the slow marker


def depthwise(op) -> bool:
    return op.op == "conv" and op.attrs["groups"] > 1


def engine_weight(m, op):
    """The op's weight as the engine's [N_OUT, N_IN] matrix (a depthwise conv's: [C, K*K taps])."""
    w = m.array(op, "weight")
    return w.reshape(w.shape[0], -1)


def reference(m, op, tokens: np.ndarray) -> np.ndarray:
    """Golden's output tokens [n, N_OUT] for input tokens [n, N_X] of the engine running `op`."""
    fin = m.formats()[op.inputs[0]].frac
    w, b = m.array(op, "weight"), m.array(op, "bias")
    if op.op == "linear":
        return K.linear(tokens, fin, w, op.attrs["w_frac"], b, op.out)
    o, cg, kh, kw = w.shape
    if depthwise(op):  # tap-major [taps, C] -> [C, kh, kw]
        patches = tokens.reshape(-1, kh * kw, o).transpose(0, 2, 1).reshape(-1, o, kh, kw)
    else:
        patches = tokens.reshape(-1, cg, kh, kw)
    y = K.conv2d(patches, fin, w, op.attrs["w_frac"], b, op.out, groups=op.attrs["groups"])
    return y.reshape(len(tokens), o)


async def check_engine(dut, m, op, images: int) -> None:
    """Edge and random images of TOKENS engine tokens through the DUT under random backpressure, then back to
    back without pauses (cycles per token); every output token compared with `reference`."""
    fin = m.formats()[op.inputs[0]]
    width = len(dut.s_axis_tdata.value) // fin.bits
    rng = np.random.default_rng(0)
    xs = [np.full((TOKENS, width), v, np.int64) for v in (0, fin.max, fin.min)]
    xs += [rng.integers(fin.min, fin.max + 1, (TOKENS, width)) for _ in range(images)]
    cocotb.start_soon(Clock(dut.clk, stream.CLOCK_NS, unit="ns").start())
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    rng_pause = random.Random(1)
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    cocotb.start_soon(stream.watch_outputs(dut, stream.output_ports(dut, ["s_axis"])))
    mismatches = 0
    for pauses in (0.3, 0.0):
        stream.set_pauses([source, sink], rng_pause, pauses)
        start = cocotb.utils.get_sim_time(unit="ns")
        for x in xs:
            await source.send(AxiStreamFrame(x.astype(fin.dtype).tobytes()))
        for x in xs:
            frame = await stream.receive(sink)
            ref = reference(m, op, x)
            got = np.frombuffer(bytes(frame.tdata), op.out.dtype).reshape(ref.shape)
            mismatches += int((got != ref).any(-1).sum())
        cycles = (cocotb.utils.get_sim_time(unit="ns") - start) / stream.CLOCK_NS
    dut._log.info(f"{op.name}: {len(xs)} images x 2, {mismatches} mismatching tokens, "
                  f"{cycles / (len(xs) * TOKENS):.1f} cycles per token without pauses")
    assert mismatches == 0


@cocotb.test()
async def images_under_backpressure(dut):
    engine = os.environ.get("LINEAR_ENGINE")
    if not engine:
        await check_case(dut, "linear", ["s_axis"])
        return
    arch, layer, _, _ = ENGINES[engine]
    m, op = model_op(arch, layer)
    images = int(os.environ.get("IMAGES", "20"))
    if op.op == "linear":
        r = await check_images(dut, m, op, make_images(m, op, images, TOKENS), ["s_axis"])
        assert r["mismatches"] == 0
    else:
        await check_engine(dut, m, op, images)


@pytest.mark.parametrize("mul_split", [0, 1, 2], ids=["packed", "split", "separate"])
def test_linear(mul_split):
    """rtl.cases.CASES["linear"] with its lane pairs built either way (rtl/gen.py picks one per layer)."""
    from sim import rom_dir, run

    from vitflow.host.backends import ModelPaths
    from vitflow.quant.model_file import IntModel
    from vitflow.rtl.cases import CASES

    case = CASES["linear"]
    m = IntModel.load(ModelPaths.resolve(case.arch, None).model_file)
    params = {**case.params(m, rom_dir("linear", case.arch, case.layer)), "MUL_SPLIT": mul_split}
    run("linear", "test_linear", params, {"IMAGES": "20"})


def engine_params(engine: str, out_dir) -> dict:
    """rtl/linear.v's parameters for ENGINES[engine] (rtl/gen.py's _projection, as conv_params uses it)."""
    from vitflow.rtl.gen import _projection
    from vitflow.rtl.plan import Parallel

    arch, layer, lanes, simd = ENGINES[engine]
    m, op = model_op(arch, layer)
    fin = m.formats()[op.inputs[0]]
    return {**_projection(m, op, engine_weight(m, op), fin, Parallel(lanes, simd), out_dir, depthwise(op)),
            "IN_BITS": fin.bits, "IN_SIGNED": int(fin.signed)}


def run_engine(engine: str) -> None:
    """20 random images on Verilator; 2 on Icarus, whose run is the 4-state check (tens of cycles a second)."""
    from sim import rom_dir, run, simulator

    arch, layer, lanes, simd = ENGINES[engine]
    params = engine_params(engine, rom_dir("linear", arch, f"{layer}-{lanes}x{simd}"))
    images = os.environ.get("IMAGES", "20" if simulator() == "verilator" else "2")
    run("linear", "test_linear", params, {"IMAGES": images, "LINEAR_ENGINE": engine})


@pytest.mark.parametrize("engine", DEFAULT_ENGINES)
def test_linear_engine(engine):
    run_engine(engine)


@pytest.mark.slow
@pytest.mark.parametrize("engine", [e for e in ENGINES if e not in DEFAULT_ENGINES])
def test_linear_engine_slow(engine):
    run_engine(engine)


def test_engine_lint(tmp_path):
    """Every ENGINES configuration elaborates without a Verilator warning (rtl/test_lint.py covers CASES)."""
    from vitflow.rtl.lint import lint

    params = {e: engine_params(e, tmp_path / e) for e in ENGINES}
    # an accumulator narrower than a lane's sum of SIMD products (8x8-bit products, SIMD 5: 19 bits), which a
    # layer's own bound allows: rtl/linear.v drops the sum's top bits (exact modulo 2**ACC_BITS)
    params["narrow_accumulator"] = {**params["local_mixed"], "ACC_BITS": 17}
    warnings = {e: w for e, p in params.items() if (w := lint("linear", p))}
    assert not warnings, warnings


def test_reference_is_the_conv():
    """The reference of a conv's engine tokens is the conv itself: golden's conv2d on whole images equals
    `reference` on their im2col / tap-major tokens (stride and padding folded into the gather)."""
    for layer in ("local", "dw"):
        m, op = model_op("mobilevit", layer)
        c = m.array(op, "weight").shape[1] * op.attrs["groups"]
        k, s, p = m.array(op, "weight").shape[-1], op.attrs["stride"], op.attrs["padding"]
        x = np.random.default_rng(1).integers(-128, 128, (1, c, 8, 8))
        fin = m.formats()[op.inputs[0]].frac
        want = K.conv2d(x, fin, m.array(op, "weight"), op.attrs["w_frac"], m.array(op, "bias"), op.out, s, p,
                        op.attrs["groups"])[0]
        win = np.lib.stride_tricks.sliding_window_view(np.pad(x[0], ((0, 0), (p, p), (p, p))), (k, k), (1, 2))
        win = win[:, ::s, ::s]  # [C, Ho, Wo, kh, kw]
        if depthwise(op):  # tokens: taps x channels, tap-major
            tokens = win.transpose(1, 2, 3, 4, 0).reshape(-1, k * k * c)
        else:  # im2col in (c, kh, kw) order
            tokens = win.transpose(1, 2, 0, 3, 4).reshape(-1, c * k * k)
        got = reference(m, op, tokens).T.reshape(want.shape)
        assert np.array_equal(got, want)


def test_plan_lanes_and_simd():
    """Plan.lanes_for: the fewest DSP slices that meet the budget. A lane count need not divide the outputs
    (vit's q at 1,536 cycles: 24 lanes; Swin's 32x32 at 2,000: 2 lanes x SIMD 5, 7 steps of 5 inputs padded
    to 35); SIMD wherever it saves slices (MobileViT's 3x3 convs over im2col vectors); depthwise taps at SIMD
    1, a lane per channel group; unsigned inputs (pixels) unpaired below the split threshold."""
    from vitflow.rtl.gen import engine_shape
    from vitflow.rtl.plan import Parallel, Plan

    want = {("vit", "blocks.0.attn.q", 1536): Parallel(24), ("vit", "blocks.0.mlp.fc2", 1536): Parallel(48),
            ("vit", "head", 1536): Parallel(1), ("vit", "patch_embed", 1536): Parallel(3),
            ("swin", "blocks.0.attn.q", 2000): Parallel(2, 5), ("swin", "blocks.0.mlp.fc2", 2000): Parallel(4, 5),
            ("mobilevit", "fuse", 2000): Parallel(12, 7), ("mobilevit", "dw", 2000): Parallel(3)}
    for (arch, layer, budget), par in want.items():
        m, op = model_op(arch, layer)
        engine = engine_shape(m, op)
        plan = Plan(cycles_per_image=budget)
        assert plan.lanes_for(op, engine) == par, (arch, layer)
        assert par.cycles_per_token(engine.n_in, engine.n_out) * engine.tokens <= budget
        # no choice meeting the budget has fewer slices
        for lanes in range(1, engine.n_out + 1):
            for simd in range(1, (1 if engine.depthwise else engine.n_in) + 1):
                other = Parallel(lanes, simd)
                if other.cycles_per_token(engine.n_in, engine.n_out) * engine.tokens <= budget:
                    assert other.dsp(engine, plan.packing) >= par.dsp(engine, plan.packing), (arch, layer, other)