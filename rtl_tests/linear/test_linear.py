"""linear kernel RTL vs the golden model: whole images of tokens under random AXI-Stream backpressure."""

import json
import os
import random

import numpy as np

MODEL_LAYER = ("vit", "blocks.0.mlp.fc1")


def layer():
    from vitflow.host.backends import ModelPaths
    from vitflow.quant.model_file import IntModel

    m = IntModel.load(ModelPaths.resolve(MODEL_LAYER[0], None).model_file)
    return m, next(o for o in m.ops if o.name == MODEL_LAYER[1])


try:  # the cocotb part runs inside the simulator
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import RisingEdge
    from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

    @cocotb.test()
    async def images_under_backpressure(dut):
        from vitflow.quant import golden

        m, op = layer()
        fin = m.formats()[op.inputs[0]]
        n_tokens, n_in = 16, m.array(op, "weight").shape[1]
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        rng = random.Random(int(os.environ.get("SEED", "1")))
        src.set_pause_generator(iter(lambda: rng.random() < 0.3, None))
        sink.set_pause_generator(iter(lambda: rng.random() < 0.3, None))
        dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(dut.clk)
        dut.rst.value = 0

        nrng = np.random.default_rng(0)
        images = [np.zeros((n_tokens, n_in)), np.full((n_tokens, n_in), fin.max), np.full((n_tokens, n_in), fin.min)]
        images += [nrng.integers(fin.min, fin.max + 1, (n_tokens, n_in)) for _ in range(int(os.environ["IMAGES"]))]
        for img in images:
            await src.send(AxiStreamFrame(img.astype(np.int8).tobytes()))
        mismatches = 0
        for img in images:
            frame = await sink.recv()
            got = np.frombuffer(bytes(frame.tdata), np.int8 if op.out.signed else np.uint8)
            ref = golden.run_op(m, op, [img[None]], m.formats())[0]
            mismatches += int((got.reshape(ref.shape) != ref).any(-1).sum())
        dut._log.info(json.dumps({"tokens": len(images) * n_tokens, "mismatches": mismatches}))
        assert mismatches == 0
except ImportError:  # collected by pytest outside the simulator
    pass


def test_linear(tmp_path):
    from sim import run

    from vitflow.rtl.gen import linear_params

    m, op = layer()
    run("linear", "test_linear", linear_params(m, op, lanes=16, out_dir=tmp_path), {"IMAGES": "20"})
