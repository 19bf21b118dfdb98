"""QONNX export as a FINN / QONNX user runs it: the exported file, qonnx's own cleanup and shape inference,
every tensor shaped, qonnx's executor == golden logits on the whole digits test split and edge images (vit
in make test; mobilevit and swin take minutes each: slow)."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from vitflow.host.backends import ModelPaths
from vitflow.model import ARCHS
from vitflow.model.datasets import digits
from vitflow.model.train import load_checkpoint
from vitflow.quant import golden
from vitflow.quant.export import export_qonnx, qonnx_int_logits, squares_as_pow
from vitflow.quant.model_file import IntModel


def edge_images():
    x = np.zeros((4, 1, 8, 8), np.uint8)
    x[1] = 255
    x[2, :, ::2, ::2] = 255
    x[3] = np.random.default_rng(0).integers(0, 256, (1, 8, 8))
    return x


def user_cleaned(path, tmp_path):
    """What a user does with the file: qonnx cleanup, shape inference, save."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.util.cleanup import cleanup_model

    m = cleanup_model(ModelWrapper(str(path))).transform(InferShapes())
    assert m.check_all_tensor_shapes_specified()
    produced = {o for n in m.graph.node for o in n.output} | {t.name for t in m.graph.initializer} | \
        {t.name for t in m.graph.input}
    assert {i for n in m.graph.node for i in n.input if i} <= produced  # nothing dangling
    ops = {n.op_type for n in m.graph.node}
    assert "Quant" in ops and not ops & {"LayerNormalization", "Softmax", "Gelu"}  # the integer kernels only
    out = tmp_path / "user.onnx"
    m.save(str(out))
    return out


@pytest.mark.parametrize("arch", [a if a == "vit" else pytest.param(a, marks=pytest.mark.slow) for a in ARCHS])
def test_qonnx_executes_to_golden_logits(arch, tmp_path):
    _, qmodel, _ = load_checkpoint(ModelPaths.resolve(arch, None).checkpoint, quant=True)
    m = IntModel.load(ModelPaths.resolve(arch, None).model_file)
    frac = m.formats()[m.output].frac
    x = np.concatenate([digits().x_test, edge_images()])
    batch = user_cleaned(export_qonnx(qmodel, tmp_path / f"{arch}.onnx", batch=len(x)), tmp_path)
    got = qonnx_int_logits(batch, x, frac)
    assert got.shape == (364, 10) and int((got != golden.run(m, x)).any(1).sum()) == 0
    single = user_cleaned(export_qonnx(qmodel, tmp_path / f"{arch}-1.onnx"), tmp_path)  # the default: batch 1
    assert np.array_equal(qonnx_int_logits(single, x[-4:], frac), golden.run(m, x[-4:]))


def graph_of(*nodes):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    return helper.make_graph(list(nodes), "g", [x], [y])


def test_squares_become_pow_and_repeated_inputs_are_refused():
    g = graph_of(helper.make_node("Mul", ["x", "x"], ["y"], name="sq"))
    squares_as_pow(g)
    assert g.node[0].op_type == "Pow" and g.node[0].input[0] == "x" and g.initializer[0].name == "sq_exponent"
    onnx.checker.check_graph(g)
    with pytest.raises(ValueError, match="reads one tensor twice"):
        squares_as_pow(graph_of(helper.make_node("Add", ["x", "x"], ["y"], name="double")))
