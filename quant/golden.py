"""The golden model: executes an integer model file. NumPy only, no torch.

Two executors with identical results, bit for bit:
- `run(m, images, fast=False)`: the int64 kernels of golden_kernels, op by op (the readable reference);
- `run(m, images)` (default) / `compile_fast(m)`: the same integer semantics on float arrays. Integers in
  float are exact while every value and partial sum stays below 2**24 (float32) or 2**53 (float64), so each op
  picks float32 or float64 from its worst-case bound (the model file's accumulator bound for weighted ops)
  and falls back to its int64 kernel when neither is exact. Per-op weight matrices are precomputed once, with
  the requantization shift folded in (scaling by a power of two is exact); round half to even is np.rint,
  floor divisions of integers a/b are floor(a/b) in float (exact while |a| < 2**24 resp. 2**53), tables are
  gathers. No Python loop over images, heads or tokens.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import golden_kernels as K
from . import spec
from .model_file import IntModel, Op
from .ops import OPS
from .spec import PROB, IntFormat


def _attention_tables(m: IntModel, op: Op) -> tuple:
    """attention's optional relative position bias (and its fraction) and mask (as booleans): both kernels'."""
    mask = m.array(op, "mask")
    return m.array(op, "bias"), op.attrs.get("bias_frac", 0), None if mask is None else mask != 0


def _attention_args(m: IntModel, op: Op, x, fmts) -> tuple:
    return (*x, fmts[op.inputs[0]].frac, fmts[op.inputs[1]].frac, fmts[op.inputs[2]].frac, op.attrs["heads"],
            op.out, *_attention_tables(m, op))


def _residual_add_args(m: IntModel, op: Op, x, fmts) -> tuple:
    if len(x) == 2:
        return x[0], fmts[op.inputs[0]].frac, x[1], fmts[op.inputs[1]].frac, op.out
    return x[0], fmts[op.inputs[0]].frac, m.array(op, "const")[None], op.attrs["const_frac"], op.out


def _weighted_args(m: IntModel, op: Op, x, fmts) -> tuple:
    a = op.attrs
    out = None if a.get("raw") else op.out  # a linear with raw output gives its accumulator
    geometry = (a["stride"], a["padding"], a["groups"]) if op.op == "conv" else ()
    return x[0], fmts[op.inputs[0]].frac, m.array(op, "weight"), a["w_frac"], m.array(op, "bias"), out, *geometry


def _attr_args(*names: str):
    return lambda m, op, x, fmts: (x[0], *(op.attrs[n] for n in names))


# the arguments of each op's golden kernel (golden_kernels.<OPS[op].golden>), from the model file and the inputs
KERNEL_ARGS = {
    "patch_embed": _weighted_args,
    "conv": _weighted_args,
    "linear": _weighted_args,
    "layernorm": lambda m, op, x, fmts: (x[0],),
    "attention": _attention_args,
    "gelu": lambda m, op, x, fmts: (x[0], m.array(op, "lut"), fmts[op.inputs[0]]),
    "residual_add": _residual_add_args,
    "pool": lambda m, op, x, fmts: (x[0], fmts[op.inputs[0]].frac, op.out, tuple(op.attrs["axes"])),
    "concat": lambda m, op, x, fmts: (x, op.attrs["axis"]),
    "unfold": _attr_args("patch"),
    "fold": _attr_args("patch", "h", "w"),
    "window_partition": _attr_args("grid", "window", "shift"),
    "window_reverse": _attr_args("grid", "window", "shift"),
}


def run_op(m: IntModel, op: Op, x: list[np.ndarray], fmts) -> np.ndarray:
    """One op on int64 inputs by its golden kernel (the table of ops names it)."""
    if op.op not in KERNEL_ARGS:
        raise ValueError(f"unknown op {op.op}")
    return getattr(K, OPS[op.op].golden)(*KERNEL_ARGS[op.op](m, op, x, fmts))


def check_images(m: IntModel, images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or list(images.shape[1:]) != m.input_shape:
        raise ValueError(f"images of shape {images.shape[1:]} do not match the model input {m.input_shape}")
    return images


def run(m: IntModel, images: np.ndarray, keep: bool = False, fast: bool = True):
    """Integer logits [B, classes] (int64) for uint8 images [B, C, H, W]; with keep=True, every tensor by name.

    fast=False runs the int64 reference kernels; the default float path gives the same integers."""
    if fast:
        return compile_fast(m).run(images, keep)
    images = check_images(m, images)
    fmts = m.formats()
    env = {m.input_name: images.astype(np.int64)}
    for op in m.ops:
        env[op.name] = run_op(m, op, [env[i] for i in op.inputs], fmts)
    return env if keep else env[m.output]


_SHAPES: dict[int, tuple] = {}  # id(model) -> (a weak reference to it, its tensor_shapes)


def windowed(m: IntModel, tensor: str) -> bool:
    """Whether the golden model holds this tensor as [images * windows, n, D] (windows or patches folded into the
    batch: from a window_partition or unfold up to its window_reverse, fold or pool)."""
    producers = {op.name: op for op in m.ops}
    op = producers.get(tensor)
    if op is None or op.op in ("window_reverse", "fold", "pool"):
        return False
    return op.op in ("window_partition", "unfold") or windowed(m, op.inputs[0])


def tensor_shapes(m: IntModel) -> dict[str, tuple[int, ...]]:
    """Per-image shape of every tensor, from a golden run on two blank images (once per model object: a loaded
    model is not modified, and the generator asks hundreds of times). Window- and patch-batched tensors (golden
    [B*W, n, D], see `windowed`) get W as their leading dimension: (W, n, D), W = 1 included."""
    known = _SHAPES.get(id(m))
    if known is None or known[0]() is not m:
        env = run(m, np.zeros((2, *m.input_shape), np.uint8), keep=True, fast=False)
        shapes = {k: ((v.shape[0] // 2, *v.shape[1:]) if windowed(m, k) else v.shape[1:]) for k, v in env.items()}
        known = _SHAPES[id(m)] = (weakref.ref(m), shapes)
    return dict(known[1])


# ---- the fast path ----------------------------------------------------------------------------------------
F32_EXACT, F64_EXACT = 1 << 24, 1 << 53  # every integer of magnitude below this is exact in float32 / float64
CHUNK = 128  # images per pass: tensors stay in cache, buffers are reused (fresh large arrays cost page faults)
MIN_PARALLEL = 32  # images per chunk below which one thread is faster
MAX_WORKERS = 4  # threads over chunks (NumPy releases the GIL in its loops and BLAS calls); BLAS itself: 1 thread


def exact_float(bound: int):
    """float32 or float64: the narrowest float in which every integer up to `bound` is exact; None if none is."""
    return np.float32 if bound < F32_EXACT else np.float64 if bound < F64_EXACT else None


def amax(fmt: IntFormat) -> int:
    return max(-fmt.min, fmt.max)


def requant_(acc: np.ndarray, out: IntFormat) -> np.ndarray:
    """In place: acc, already scaled onto out's grid, rounded half to even and saturated."""
    np.rint(acc, out=acc)
    return np.clip(acc, out.min, out.max, out=acc)


class Buffers(threading.local):
    """Reusable arrays per (step, tag), one set per thread, grown to the largest chunk seen."""

    def __init__(self):
        self.flat: dict = {}

    def get(self, key, shape, dtype=np.float32) -> np.ndarray:
        n = math.prod(shape)
        a = self.flat.get(key)
        if a is None or a.size < n or a.dtype != dtype:
            a = self.flat[key] = np.empty(n, dtype)
        return a[:n].reshape(shape)


class FastGolden:
    """An integer model compiled to float steps; `run` equals golden.run(fast=False) bit for bit.

    Each step is f(buf, *inputs) -> output, buf(tag, shape, dtype) a reusable array of that step. Not reentrant
    within one thread (outputs live in the step buffers until the next run); threads get their own buffers.
    Large batches run as chunks on up to MAX_WORKERS threads with NumPy's BLAS on one thread (threadpoolctl, or
    OPENBLAS_NUM_THREADS=1, which the `vitflow` CLI sets unless set): BLAS threads on these small matrices cost
    more than they bring, up to 50x on a busy machine, and both together oversubscribe the cores."""

    def __init__(self, m: IntModel):
        self.model = m
        fmts = m.formats()
        self.steps = [(op.name, op.inputs, fast_op(m, op, fmts) or fallback(m, op, fmts)) for op in m.ops]
        self.buffers = Buffers()
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self.workers = max(1, min(MAX_WORKERS, cpus)) if blas_single_threaded() else 1
        self._pool = None

    def _run(self, images: np.ndarray) -> dict[str, np.ndarray]:
        get = self.buffers.get
        x = get("input", images.shape)
        np.copyto(x, images)
        env = {self.model.input_name: x}
        for i, (name, inputs, f) in enumerate(self.steps):
            env[name] = f(lambda tag, shape, dtype=np.float32, i=i: get((i, tag), shape, dtype),
                          *[env[t] for t in inputs])
        return env

    def run(self, images: np.ndarray, keep: bool = False):
        images = check_images(self.model, images)
        if keep:
            return {k: v.astype(np.int64) for k, v in self._run(images).items()}
        n = len(images)
        workers = self.workers if n >= 2 * MIN_PARALLEL else 1
        count = -(-max(-(-n // CHUNK), workers) // workers) * workers  # equal shares, at most CHUNK images each
        size = max(1, -(-n // count))
        parts = [images[i:i + size] for i in range(0, max(n, 1), size)]

        def one(part):  # a copy: the buffers are reused by this thread's next chunk
            return self._run(part)[self.model.output].astype(np.int64)

        with BLAS_ONE_THREAD:
            if workers == 1 or len(parts) == 1:
                return np.concatenate([one(p) for p in parts])
            return np.concatenate(list(self.pool().map(one, parts)))

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="golden")
        return self._pool


class BlasOneThread:
    """While any fast run is in progress, NumPy's BLAS on one thread (threadpoolctl, when installed; counted, so
    overlapping runs restore the setting once). Without threadpoolctl, BLAS is left as it is."""

    def __init__(self):
        self.lock, self.depth, self.limiter = threading.Lock(), 0, None

    @functools.cached_property
    def controller(self):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        return ThreadpoolController().select(user_api="blas")

    def __enter__(self):
        with self.lock:
            if self.depth == 0 and self.controller is not None:
                self.limiter = self.controller.limit(limits=1)
            self.depth += 1

    def __exit__(self, *exc):
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.limiter is not None:
                self.limiter.restore_original_limits()
                self.limiter = None


BLAS_ONE_THREAD = BlasOneThread()


def blas_single_threaded() -> bool:
    """Whether fast runs have NumPy's BLAS on one thread (then chunks run on threads of ours instead)."""
    return BLAS_ONE_THREAD.controller is not None or os.environ.get("OPENBLAS_NUM_THREADS") == "1"


def compile_fast(m: IntModel) -> FastGolden:
    return FastGolden(m)


def fallback(m: IntModel, op: Op, fmts):
    """The int64 kernel, for an op whose bounds no float can hold exactly."""
    def f(buf, *x):
        return run_op(m, op, [np.asarray(t).astype(np.int64) for t in x], fmts).astype(np.float64)
    return f


def _fast_attention(m: IntModel, op: Op, fmts):
    return fast_attention(fmts[op.inputs[0]], fmts[op.inputs[1]], fmts[op.inputs[2]], int(op.attrs["heads"]),
                          op.out, *_attention_tables(m, op))


def _fast_residual_add(m: IntModel, op: Op, fmts):
    fb = fmts[op.inputs[1]].frac if len(op.inputs) == 2 else op.attrs["const_frac"]
    const = m.array(op, "const")
    bmax = amax(fmts[op.inputs[1]]) if const is None else int(np.abs(const).max(initial=0))
    return fast_residual_add(fmts[op.inputs[0]], fb, bmax, op.out, const)


def _moves_data(m: IntModel, op: Op, fmts):  # data movement: any dtype, the int64 kernel itself
    return lambda buf, x: run_op(m, op, [x], fmts)


# each op's float step, built once per model (fast_op); every op of the table has one (quant/test_ops.py)
FAST_STEPS = {
    "patch_embed": lambda m, op, fmts: fast_weighted(m, op, fmts[op.inputs[0]]),
    "conv": lambda m, op, fmts: fast_weighted(m, op, fmts[op.inputs[0]]),
    "linear": lambda m, op, fmts: fast_weighted(m, op, fmts[op.inputs[0]]),
    "layernorm": lambda m, op, fmts: fast_layernorm(fmts[op.inputs[0]]),
    "attention": _fast_attention,
    "gelu": lambda m, op, fmts: fast_gelu(m.array(op, "lut"), fmts[op.inputs[0]]),
    "residual_add": _fast_residual_add,
    "pool": lambda m, op, fmts: fast_pool(fmts[op.inputs[0]], op.out, tuple(op.attrs["axes"])),
    "concat": lambda m, op, fmts: lambda buf, *x: np.concatenate(x, axis=op.attrs["axis"]),
    "unfold": _moves_data,
    "fold": _moves_data,
    "window_partition": _moves_data,
    "window_reverse": _moves_data,
}


def fast_op(m: IntModel, op: Op, fmts):
    """A step f(buf, *float inputs) -> float output for `op`, or None when it needs the int64 kernel."""
    step = FAST_STEPS.get(op.op)
    return None if step is None else step(m, op, fmts)


def fast_weighted(m: IntModel, op: Op, fin: IntFormat):
    """linear, patch_embed, conv: one float matmul (per group) with W * 2**-shift, + bias, rint, clip."""
    w, b = m.array(op, "weight").astype(np.int64), m.array(op, "bias").astype(np.int64)
    ft = exact_float(amax(fin) * int(np.abs(w.reshape(len(w), -1)).sum(1).max(initial=0))
                     + int(np.abs(b).max(initial=0)))
    if ft is None:
        return None
    raw = op.op == "linear" and op.attrs.get("raw")
    scale = 1.0 if raw else 2.0 ** (op.out.frac - fin.frac - op.attrs["w_frac"])
    bias = (b * scale).astype(ft)

    def finish(acc):
        acc += bias
        return acc if raw else requant_(acc, op.out)

    if op.op == "linear":
        wt = (w.T * scale).astype(ft)

        def linear(buf, x):
            x2 = x.reshape(-1, wt.shape[0]).astype(ft, copy=False)
            acc = np.matmul(x2, wt, out=buf("out", (len(x2), wt.shape[1]), ft))
            return finish(acc).reshape(*x.shape[:-1], wt.shape[1])
        return linear
    o, cg, kh, kw = w.shape
    if op.op == "patch_embed":  # kernel = stride, no padding: a reshape of the image, one matmul
        wt = (w.reshape(o, -1).T * scale).astype(ft)

        def patch_embed(buf, x):
            n, c, h, wd = x.shape
            ho, wo = (h - kh) // kh + 1, (wd - kw) // kw + 1
            cols = buf("cols", (n, ho, wo, c, kh, kw), ft)
            np.copyto(cols, x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw).transpose(0, 2, 4, 1, 3, 5))
            acc = np.matmul(cols.reshape(n * ho * wo, -1), wt, out=buf("out", (n * ho * wo, o), ft))
            return finish(acc).reshape(n, ho * wo, o)
        return patch_embed
    g = int(op.attrs["groups"])
    stride, pad = int(op.attrs["stride"]), int(op.attrs["padding"])
    og = o // g
    wg = (w.reshape(g, og, cg * kh * kw).transpose(0, 2, 1) * scale).astype(ft)  # [G, cg*kh*kw, og]
    bias = bias.reshape(g, 1, og)

    def conv(buf, x):
        n, c, h, wd = x.shape
        xp = buf("pad", (n, c, h + 2 * pad, wd + 2 * pad), ft)
        xp[:] = 0
        xp[:, :, pad:pad + h, pad:pad + wd] = x
        win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
        ho, wo = win.shape[2:4]
        cols = buf("cols", (g, n, ho, wo, cg, kh, kw), ft)
        np.copyto(cols, win.reshape(n, g, cg, ho, wo, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6))
        acc = np.matmul(cols.reshape(g, n * ho * wo, -1), wg, out=buf("acc", (g, n * ho * wo, og), ft))
        y = buf("out", (n, o, ho, wo), ft)
        np.copyto(y.reshape(n, g, og, ho, wo), finish(acc).reshape(g, n, ho, wo, og).transpose(1, 0, 4, 2, 3))
        return y
    return conv


def isqrt_float(n: np.ndarray) -> np.ndarray:
    """floor(sqrt(n)) for integer-valued float64 n < 2**50, exact (correctly rounded sqrt, then correction)."""
    r = np.floor(np.sqrt(n))
    r -= r * r > n
    r += (r + 1) * (r + 1) <= n
    return r


def fast_layernorm(fin: IntFormat):
    """K.layernorm: sums by matmuls with ones, sum(d^2) = D (D sum x^2 - (sum x)^2) per token in float64."""
    a, span = amax(fin), fin.max - fin.min
    sat = IntFormat(spec.ACT_BITS, True, 0)

    def layernorm(buf, x):
        dim = x.shape[-1]
        c = dim << spec.layernorm_out_frac(dim)
        # |x| <= a, |d_i| <= (D-1) span, P = D^2 (D Q - S^2) <= D^4 a^2; floor(num / r) is exact below 2**24
        if (dim - 1) * span * c >= F32_EXACT or dim * a * a >= F32_EXACT or dim ** 4 * a * a >= 1 << 48:
            return K.layernorm(x.astype(np.int64)).astype(np.float32)
        x2 = x.reshape(-1, dim).astype(np.float32, copy=False)
        ones = np.ones((dim, 1), np.float32)
        s = x2 @ ones  # sums by matmul: exact, and faster than NumPy's reduction over a short axis
        sq = np.multiply(x2, x2, out=buf("sq", x2.shape))
        q, s64 = (sq @ ones).astype(np.float64), s.astype(np.float64)
        r = np.maximum(isqrt_float(dim * dim * (dim * q - s64 * s64)), 1).astype(np.float32)
        num = np.multiply(x2, np.float32(dim), out=buf("out", x2.shape))
        num -= s
        num *= np.float32(c)
        num /= r
        np.floor(num, out=num)
        return np.clip(num, sat.min, sat.max, out=num).reshape(x.shape)
    return layernorm


def fast_gelu(lut: np.ndarray, fin: IntFormat):
    """The table indexed by the value itself: negative indices wrap, so no offset pass."""
    table = np.empty(len(lut), np.float32)
    table[np.arange(fin.min, fin.max + 1) % len(lut)] = lut

    def gelu(buf, x):
        idx = buf("idx", x.shape, np.intp)
        np.copyto(idx, x, casting="unsafe")
        return table[idx]
    return gelu


def softmax_table() -> np.ndarray:
    """2**t on the LUT's grid for every clamped exponent t in [-(MIN_SHIFT << E), 0], as K.softmax computes it."""
    e = spec.SOFTMAX_EXP_IN_FRAC
    t = np.arange(-(spec.SOFTMAX_MIN_SHIFT << e), 1, dtype=np.int64)
    q = t >> e
    return (spec.exp2_lut()[t - (q << e)] >> -q).astype(np.float64)


def max_axis_m2(buf, x: np.ndarray) -> np.ndarray:
    """x.max(-2, keepdims=True) by halving (NumPy's reduction over a short axis is ~4x slower); any length."""
    while x.shape[-2] > 1:
        h = x.shape[-2] // 2
        m = buf(f"max{h}", (*x.shape[:-2], h, x.shape[-1]), x.dtype)
        np.maximum(x[..., :h, :], x[..., h:2 * h, :], out=m)
        if x.shape[-2] % 2:
            np.maximum(m[..., :1, :], x[..., -1:, :], out=m[..., :1, :])
        x = m
    return x


def fast_attention(fq: IntFormat, fk: IntFormat, fv: IntFormat, heads: int, out: IntFormat,
                   bias=None, bias_frac: int = 0, mask=None):
    """K.attention on transposed scores s[b, head, key j, query i]: batched float32 matmuls, the max over keys
    by halving, 2**t by one table gather, sums over keys by matmuls with ones."""
    e_frac = spec.SOFTMAX_EXP_IN_FRAC
    table = softmax_table()
    t_min = -(spec.SOFTMAX_MIN_SHIFT << e_frac)
    lut_max = int(spec.exp2_lut().max())
    bias_t = None if bias is None else np.asarray(bias, np.int64).transpose(0, 2, 1)
    unmasked_t = None if mask is None else np.asarray(mask, bool).transpose(0, 2, 1)

    def attention(buf, q, k, v):
        b, n, dim = q.shape
        hd = dim // heads
        s_frac = fq.frac + fk.frac + spec.attention_score_shift(hd)
        s_bound = hd * amax(fq) * amax(fk)
        f = s_frac if bias is None else max(s_frac, bias_frac)
        if bias is not None:
            s_bound = (s_bound << (f - s_frac)) + (int(np.abs(bias).max(initial=0)) << (f - bias_frac))
        if 2 * s_bound >= F32_EXACT or n * lut_max >= F32_EXACT or n * PROB.max * amax(fv) >= F32_EXACT:
            return K.attention(*(t.astype(np.int64) for t in (q, k, v)), fq.frac, fk.frac, fv.frac, heads, out,
                               bias, bias_frac, mask).astype(np.float32)

        def heads_of(t, order):  # [b, n, dim] -> [b, heads, ...] views
            return t.astype(np.float32, copy=False).reshape(b, n, heads, hd).transpose(order)

        s = np.matmul(heads_of(k, (0, 2, 1, 3)), heads_of(q, (0, 2, 3, 1)), out=buf("s", (b, heads, n, n)))
        if bias is not None:  # scores and bias on their common grid
            if f != s_frac:
                s *= np.float32(2.0 ** (f - s_frac))
            s += (bias_t * 2.0 ** (f - bias_frac)).astype(np.float32)
        masked = None
        if mask is not None:
            masked = ~np.tile(unmasked_t, (b // len(unmasked_t), 1, 1))[:, None]
            np.copyto(s, np.float32(-2.0**60), where=masked)  # below every clamp: probability 0
        # t = floor((z - max z) onto 2**-E), clamped; e = 2**t from one table (float64: e * inv needs 33 bits)
        s -= max_axis_m2(buf, s)
        s *= np.float32(2.0 ** (e_frac - f))
        np.floor(s, out=s)
        np.maximum(s, t_min, out=s)
        s -= t_min
        idx = buf("idx", s.shape, np.intp)
        np.copyto(idx, s, casting="unsafe")
        e = table[idx]
        if masked is not None:
            np.copyto(e, 0.0, where=masked)
        total = np.ones((1, n)) @ e  # [b, heads, 1, i], exact integers
        inv = np.floor(np.float64(1 << spec.SOFTMAX_RECIP_BITS) / np.maximum(total, 1)) * (total > 0)
        e *= inv * 2.0 ** (PROB.frac - spec.SOFTMAX_RECIP_BITS)  # e * inv < 2**33: exact in float64
        np.floor(e, out=e)
        p = buf("p", s.shape)
        np.minimum(e, PROB.max, out=p, casting="same_kind")
        ctx = np.matmul(heads_of(v, (0, 2, 3, 1)), p, out=buf("ctx", (b, heads, hd, n)))  # [b, heads, d, i]
        ctx *= np.float32(2.0 ** (out.frac - PROB.frac - fv.frac))
        y = buf("out", (b, n, dim))
        np.copyto(y.reshape(b, n, heads, hd), requant_(ctx, out).transpose(0, 3, 1, 2))
        return y
    return attention


def fast_residual_add(fa: IntFormat, fb_frac: int, b_max: int, out: IntFormat, const=None):
    """a 2**(out-fa) + b 2**(out-fb): both multiples of 2**(out - max(fa, fb)), exact below 2**24 of those."""
    f = max(fa.frac, fb_frac)
    if exact_float((amax(fa) << (f - fa.frac)) + (b_max << (f - fb_frac))) is not np.float32:
        return None
    ca, cb = np.float32(2.0 ** (out.frac - fa.frac)), np.float32(2.0 ** (out.frac - fb_frac))
    cconst = None if const is None else (const * cb).astype(np.float32)[None]

    def residual_add(buf, x, y=None):
        acc = np.multiply(x, ca, out=buf("out", x.shape))
        if y is None:
            acc += cconst
        else:
            acc += np.multiply(y, cb, out=buf("tmp", y.shape))
        return requant_(acc, out)
    return residual_add


def fast_pool(fin: IntFormat, out: IntFormat, axes: tuple[int, ...]):
    def pool(buf, x):
        count = int(np.prod([x.shape[a] for a in axes]))
        n = spec.log2_exact(count, "pooled count")
        if count * amax(fin) >= F32_EXACT:
            return K.pool(x.astype(np.int64), fin.frac, out, axes).astype(np.float64)
        acc = x.sum(axis=axes, dtype=np.float32)
        acc *= np.float32(2.0 ** (out.frac - fin.frac - n))
        return requant_(acc, out)
    return pool
