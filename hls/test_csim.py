"""hls4ml C-simulation against the golden model: every kernel variant on random + edge vectors, the whole
model on test images; project caching; a clear error for an op without an HLS kernel."""

import numpy as np
import pytest

from vitflow.hls.check import check_kernel, check_model, hls_build, kernel_variants
from vitflow.hls.csim import model_project
from vitflow.hls.graph import HLSConversionError
from vitflow.host.backends import ModelPaths
from vitflow.model.datasets import digits
from vitflow.quant.model_file import IntModel

HLS_ARCHS = ("vit", "mobilevit", "swin")


def shipped(arch):
    return IntModel.load(ModelPaths.resolve(arch, None).model_file)


def variants():
    return [(arch, op.name) for arch in HLS_ARCHS for op in kernel_variants(shipped(arch))]


@pytest.mark.parametrize("arch,name", variants())
def test_kernel_csim_matches_golden(arch, name):
    m = shipped(arch)
    op = next(o for o in m.ops if o.name == name)
    r = check_kernel(m, op, hls_build() / arch / "kernels", n=1000)
    assert r["n_checked"] == 1004 and r["mismatches"] == 0


def test_vit_model_csim_matches_golden_and_is_cached():
    d = digits()
    r = check_model(shipped("vit"), hls_build() / "vit", d.x_test[:40], d.y_test[:40])
    assert r["n"] == 40 and r["mismatches"] == 0
    assert not model_project(shipped("vit"), hls_build() / "vit").rebuilt  # unchanged: the library is reused


@pytest.mark.slow
@pytest.mark.parametrize("arch", HLS_ARCHS)
def test_model_csim_whole_test_split(arch):
    d = digits()
    r = check_model(shipped(arch), hls_build() / arch, d.x_test, d.y_test)
    assert r["n"] == 360 and r["mismatches"] == 0


def test_unconvertible_layer_is_named(tmp_path):
    m = shipped("mobilevit")
    dw = next(o for o in m.ops if o.name == "dw")
    dw.attrs["groups"] = 2  # a grouped (not depthwise) conv has no hls4ml mapping
    with pytest.raises(HLSConversionError, match="layer dw: grouped conv with 2 groups"):
        model_project(m, tmp_path)


def test_csim_edge_images_match_golden():
    from vitflow.quant import golden

    m = shipped("vit")
    x = np.zeros((3, 1, 8, 8), np.uint8)
    x[1] = 255
    x[2, :, ::2] = 255
    proj = model_project(m, hls_build() / "vit")
    assert np.array_equal(proj.run([x]), golden.run(m, x))
