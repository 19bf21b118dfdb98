"""The golden fast path (float BLAS, exact integers) against the int64 reference path: every tensor of every
shipped model on edge and random images, chunked and threaded runs, and the per-op fallbacks."""

import numpy as np
import pytest

from vitflow.host.backends import ModelPaths
from vitflow.quant import golden
from vitflow.quant import golden_kernels as K
from vitflow.quant.model_file import IntModel
from vitflow.quant.spec import IntFormat

ARCHS = ("vit", "mobilevit", "swin")


def shipped(arch):
    return IntModel.load(ModelPaths.resolve(arch, None).model_file)


def edge_and_random(shape, n_random=200, seed=0):
    c, h, w = shape
    edge = np.zeros((6, c, h, w), np.uint8)
    edge[1] = 255
    edge[2, :, ::2] = 255           # stripes
    edge[3, :, :, ::2] = 255
    edge[4, :, ::2, ::2] = 255      # checkerboard-ish
    edge[5, :, h // 2:] = 1
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 256, (n_random, c, h, w), dtype=np.uint8)
    sparse = np.where(rng.random((n_random, c, h, w)) < 0.1, 255, 0).astype(np.uint8)  # extremes
    return np.concatenate([edge, rand, sparse])


@pytest.mark.parametrize("arch", ARCHS)
def test_fast_path_equals_int64_path_on_every_tensor(arch):
    m = shipped(arch)
    x = edge_and_random(m.input_shape)
    ref = golden.run(m, x, keep=True, fast=False)
    got = golden.compile_fast(m).run(x, keep=True)
    assert ref.keys() == got.keys()
    for name in ref:
        assert got[name].dtype == np.int64 and np.array_equal(got[name], ref[name]), name


@pytest.mark.parametrize("workers", [1, 2])
def test_chunked_and_threaded_runs_equal_one_pass(workers):
    m = shipped("vit")
    x = edge_and_random(m.input_shape, n_random=150, seed=1)  # 306 images: 3+ chunks, uneven
    fast = golden.compile_fast(m)
    fast.workers = workers
    ref = golden.run(m, x, fast=False)
    assert np.array_equal(fast.run(x), ref)
    assert np.array_equal(fast.run(x[:1]), ref[:1])  # a smaller batch after a larger one reuses buffers
    assert np.array_equal(fast.run(x), ref)


def test_fast_layernorm_attention_pool_edge_values():
    """Constant rows, alternating extremes, and the largest |z| through the float kernels."""
    fin = IntFormat(8, True, 4)
    dim = 48
    rows = np.array([[0] * dim, [127] * dim, [-128] * dim, [-128] + [127] * (dim - 1), [127] + [-128] * (dim - 1),
                     [-128, 127] * (dim // 2)] + list(np.random.default_rng(2).integers(-128, 128, (500, dim))))
    x = np.concatenate([rows, rows[:16 - len(rows) % 16]]).reshape(-1, 16, dim)
    buf = golden.Buffers()
    get = lambda i: lambda tag, shape, dtype=np.float32: buf.get((i, tag), shape, dtype)  # noqa: E731
    ln = golden.fast_layernorm(fin)(get(0), x.astype(np.float32))
    assert np.array_equal(ln, K.layernorm(x))
    out = IntFormat(8, True, 5)
    att = golden.fast_attention(fin, fin, IntFormat(8, True, 3), 3, out)(get(1), *(x.astype(np.float32),) * 3)
    assert np.array_equal(att, K.attention(x, x, x, 4, 4, 3, 3, out))
    pooled = golden.fast_pool(fin, IntFormat(8, True, 2), (1,))(get(2), x.astype(np.float32))
    assert np.array_equal(pooled, K.pool(x, 4, IntFormat(8, True, 2), (1,)))


def test_wide_accumulators_fall_back_to_float64_and_int64():
    """A linear whose accumulator exceeds 2**24 runs in float64; beyond 2**53 the int64 kernel runs."""
    assert golden.exact_float(2**24 - 1) is np.float32 and golden.exact_float(2**24) is np.float64
    assert golden.exact_float(2**53) is None
    m = shipped("vit")
    head = next(op for op in m.ops if op.name == "head")
    fmts = m.formats()
    x = np.random.default_rng(3).integers(-128, 128, (7, 48))
    for scale in (1, 1 << 12, 1 << 40):  # bias grows the bound past 2**24, then past 2**53
        arrays = dict(m.arrays)
        arrays[head.arrays["bias"]] = m.arrays[head.arrays["bias"]].astype(np.int64) * scale
        m2 = IntModel(m.arch, m.config, m.input_name, m.input_shape, m.input_fmt, m.ops, m.output, arrays, m.meta)
        step = golden.fast_op(m2, head, fmts) or golden.fallback(m2, head, fmts)
        got = step(lambda tag, shape, dtype=np.float32: np.empty(shape, dtype), x.astype(np.float32))
        assert np.array_equal(got.astype(np.int64), golden.run_op(m2, head, [x], fmts))


def test_bad_images_are_rejected():
    m = shipped("vit")
    with pytest.raises(ValueError, match="do not match"):
        golden.run(m, np.zeros((2, 1, 4, 4), np.uint8))
