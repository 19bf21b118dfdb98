"""The shipped models: Brevitas == golden on the whole digits test split, accuracy targets, size; a quick
training smoke test per arch; QONNX export loads and cleans in qonnx."""

import numpy as np
import pytest
import torch

from vitflow.host.backends import ModelPaths, open_backend
from vitflow.model import ARCHS, build_model, default_config
from vitflow.model.datasets import digits
from vitflow.model.train import TrainConfig, load_checkpoint, train
from vitflow.quant import golden
from vitflow.quant.export import brevitas_int_logits, export_int_model, export_qonnx
from vitflow.quant.model_file import IntModel

TARGET = {"vit": 0.97, "mobilevit": 0.96, "swin": 0.96}


@pytest.fixture(scope="module")
def data():
    return digits()


@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_golden_equals_brevitas_on_whole_test_split(arch, data):
    paths = ModelPaths.resolve(arch, None)
    g = open_backend("golden", paths).logits(data.x_test)
    b = open_backend("brevitas", paths).logits(data.x_test)
    assert g.shape == (360, 10)
    assert np.count_nonzero((g != b).any(1)) == 0
    acc = float((g.argmax(1) == data.y_test).mean())
    assert acc >= TARGET[arch]
    if arch == "vit":
        f = open_backend("torch", paths).logits(data.x_test)
        assert acc >= float((f.argmax(1) == data.y_test).mean()) - 0.005


@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_model_edge_images(arch):
    """All-zero, all-max and checkerboard images: still bit-exact."""
    paths = ModelPaths.resolve(arch, None)
    x = np.zeros((4, 1, 8, 8), np.uint8)
    x[1] = 255
    x[2, :, ::2, ::2] = 255
    x[3] = np.random.default_rng(0).integers(0, 256, (1, 8, 8))
    assert np.array_equal(open_backend("golden", paths).logits(x), open_backend("brevitas", paths).logits(x))


@pytest.mark.parametrize("arch", ARCHS)
def test_model_sizes_fit_small_fpgas(arch):
    cfg = default_config(arch)
    assert sum(p.numel() for p in build_model(cfg, quant=True).parameters()) <= 50_000


@pytest.mark.parametrize("arch", ARCHS)
def test_training_smoke_is_bit_exact(arch, data, tmp_path):
    """One float + one QAT epoch on a slice: export, reload, golden == Brevitas (weights far from trained)."""
    cfg = default_config(arch, weight_bits=4 if arch == "swin" else 8)
    small = type(data)(data.name, data.x_train[:256], data.y_train[:256], data.x_test, data.y_test, data.patch)
    _, qmodel, _ = train(cfg, small, TrainConfig(float_epochs=1, qat_epochs=1), progress=False)
    path = tmp_path / f"{arch}.npz"
    export_int_model(qmodel).save(path)
    m = IntModel.load(path)
    b = brevitas_int_logits(qmodel, data.x_test[:64], m.formats()[m.output].frac)
    assert np.count_nonzero((golden.run(m, data.x_test[:64]) != b).any(1)) == 0


@pytest.mark.parametrize("arch", [a if a == "vit" else pytest.param(a, marks=pytest.mark.slow) for a in ARCHS])
def test_qonnx_export_loads_and_cleans(arch, tmp_path):
    """Brevitas QONNX export + qonnx cleanup (vit by default; the larger graphs take minutes: slow)."""
    from qonnx.core.modelwrapper import ModelWrapper

    _, qmodel, _ = load_checkpoint(ModelPaths.resolve(arch, None).checkpoint, quant=True)
    path = export_qonnx(qmodel, tmp_path / f"{arch}.onnx")
    m = ModelWrapper(str(path))
    ops = {n.op_type for n in m.graph.node}
    assert "Quant" in ops and "MatMul" in ops and len(m.graph.input) == 1


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHS)
def test_training_reaches_target(arch, data):
    torch.manual_seed(0)
    cfg = default_config(arch)
    fmodel, qmodel, metrics = train(cfg, data, TrainConfig(), progress=False)
    assert metrics["quant_accuracy"] >= TARGET[arch]
    m = export_int_model(qmodel)
    b = brevitas_int_logits(qmodel, data.x_test, m.formats()[m.output].frac)
    assert np.count_nonzero((golden.run(m, data.x_test) != b).any(1)) == 0
