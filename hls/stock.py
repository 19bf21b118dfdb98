"""hls4ml's own stock Softmax and LayerNormalization beside our integer kernels, on the same tensors of a model
(`vitflow hls --stock`, build/hls/stock.json).

Inputs: the attention scores and the LayerNorm inputs of a golden run on test images, taken where our kernels
take them (the golden attention op is run with its softmax recorded). Float reference (torch, float64): what our
kernels compute exactly in integers, i.e. the base-2 softmax 2**z / sum 2**z of the dequantized scores, which is
softmax(z ln 2): the stock natural-exponent Softmax is fed z ln 2; and LayerNorm without affine (folded into the
next linear) and without epsilon. Our kernels' outputs are golden's (= our HLS C-sim, bit-exact), dequantized.
Each stock layer is a one-layer hls4ml project (one row per sample, io_parallel), compiled once per
configuration and cached by content hash like hls/csim.py's projects.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import numpy as np

from ..quant import golden
from ..quant import golden_kernels as K
from ..quant.model_file import IntModel, write_json_atomic
from ..quant.spec import PROB
from .check import hls_build
from .csim import DEFAULT_PRECISION, Project

N_IMAGES = 20  # digits test images: 1,920 softmax rows and 1,600 LayerNorm rows of the shipped vit
KINDS = ("softmax", "layernorm")


@dataclass(frozen=True)
class Stock:
    """One configuration of a stock hls4ml layer: the input layer's precision (the float rows are quantized onto
    it) and the layer's hls4ml config (Precision of accum / result; table types as `*_t` keys, which hls4ml reads
    from the layer's config, not from Precision; attributes such as table_size)."""
    kind: str
    name: str
    input: str
    layer: dict = field(default_factory=dict)
    note: str = ""


SAT = "AP_RND,AP_SAT"
CONFIGS = (
    Stock("softmax", "default", DEFAULT_PRECISION, {},
          "hls4ml 1.3.0 defaults: implementation stable, table_size 1024, exp and 1/sum tables and the 1/sum "
          "table's index ap_fixed<18,8>; sum, input and output the model default ap_fixed<16,6>"),
    Stock("softmax", "tuned", "ap_fixed<18,6>",
          {"table_size": 4096, "exp_table_t": f"ap_ufixed<18,1,{SAT}>", "inv_table_t": f"ap_ufixed<18,1,{SAT}>",
           "inv_inp_t": f"ap_ufixed<18,5,{SAT}>", "Precision": {"accum": f"ap_ufixed<22,5,{SAT}>",
                                                              "result": f"ap_ufixed<16,1,{SAT}>"}},
          "stable, 4096-entry tables; exp and 1/sum in [0, 1] with 17 fractional bits, the sum's table index "
          "ap_ufixed<18,5> (range of a 16-term sum), input ap_fixed<18,6>, output ap_ufixed<16,1>"),
    Stock("layernorm", "default", DEFAULT_PRECISION, {},
          "hls4ml 1.3.0 defaults: 1/sqrt table of 4096 entries ap_ufixed<8,5> over variance [eps, 1); "
          "accumulator (sums of x and of squares), input and output the model default ap_fixed<16,6>, which "
          "wraps; eps 1e-5 (nn.LayerNorm's, as hls4ml's PyTorch converter sets it)"),
    Stock("layernorm", "tuned", DEFAULT_PRECISION,
          {"table_size": 16384, "table_t": f"ap_ufixed<18,8,{SAT}>",
           "Precision": {"accum": f"ap_fixed<32,12,{SAT}>", "result": f"ap_fixed<16,4,{SAT}>"}},
          "16384-entry table ap_ufixed<18,8>, accum ap_fixed<32,12> (no overflow of the sum of squares), output "
          "ap_fixed<16,4>; the table still spans variance [eps, 1): hls4ml's table_range_power2 is unsigned"),
)
EPSILON_POWER_OF_10 = 5  # nn.LayerNorm's eps 1e-5, what hls4ml's PyTorch converter writes for it


class NothingToCompare(ValueError):
    """The model has no op of a kind the comparison needs (attention, layernorm)."""


@dataclass
class Rows:
    """The rows one kind of kernel normalizes: float inputs (softmax: base-2 scores), our kernel's dequantized
    outputs, the model layer of each row and the float64 reference."""
    x: np.ndarray
    ours: np.ndarray
    layer: np.ndarray
    ref: np.ndarray


# ---- inputs, reference, metrics (pure) ---------------------------------------------------------------------
def recorded_softmax(m: IntModel, op, env: dict) -> tuple:
    """(z, z_frac, mask, p): our softmax's integer scores, their grid, mask and probabilities inside one golden
    attention op, recorded as golden_kernels.attention calls it."""
    seen = []

    def record(z, z_frac, mask=None):
        p = softmax(z, z_frac, mask)
        seen.append((z, z_frac, mask, p))
        return p

    softmax = K.softmax
    with mock.patch.object(K, "softmax", record):
        golden.run_op(m, op, [env[i] for i in op.inputs], m.formats())
    return seen[0]


def softmax_rows(m: IntModel, env: dict) -> Rows:
    """Every softmax row of every attention op (rows with masked entries left out: the stock layer has no mask)."""
    xs, ours, names = [], [], []
    for op in (o for o in m.ops if o.op == "attention"):
        z, z_frac, mask, p = recorded_softmax(m, op, env)
        keep = np.ones(z.shape[:-1], bool) if mask is None else np.broadcast_to(mask, z.shape).all(-1)
        xs.append(z[keep] * 2.0**-z_frac)
        ours.append(p[keep] * 2.0**-PROB.frac)
        names += [op.name] * int(keep.sum())
    if not xs:
        raise NothingToCompare("the model has no attention op: no softmax to compare")
    x = np.concatenate(xs)
    return Rows(x, np.concatenate(ours), np.array(names), float_softmax(x))


def layernorm_rows(m: IntModel, env: dict) -> Rows:
    """Every token row of every layernorm op, dequantized."""
    fmts = m.formats()
    ops = [o for o in m.ops if o.op == "layernorm"]
    if not ops:
        raise NothingToCompare("the model has no layernorm op: no LayerNorm to compare")
    dim = env[ops[0].name].shape[-1]
    x = np.concatenate([env[o.inputs[0]].reshape(-1, dim) * 2.0**-fmts[o.inputs[0]].frac for o in ops])
    ours = np.concatenate([env[o.name].reshape(-1, dim) * 2.0**-o.out.frac for o in ops])
    names = np.repeat([o.name for o in ops], [env[o.name].size // dim for o in ops])
    return Rows(x, ours, names, float_layernorm(x))


def float_softmax(z: np.ndarray) -> np.ndarray:
    """2**z / sum 2**z over the last axis (float64): our kernel's function."""
    import torch

    return torch.softmax(torch.from_numpy(np.asarray(z, np.float64)) * math.log(2), -1).numpy()


def float_layernorm(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std over the last axis (float64, no epsilon, no affine); all-equal rows give 0, as ours."""
    import torch

    y = torch.nn.functional.layer_norm(torch.from_numpy(np.asarray(x, np.float64)), (x.shape[-1],), eps=0.0)
    return np.nan_to_num(y.numpy(), nan=0.0)


def errors(got: np.ndarray, ref: np.ndarray, argmax: bool = False) -> dict:
    """Max and mean absolute error against the reference; argmax: the fraction of rows whose largest output is
    at the reference's largest (np.argmax: the first of tied outputs)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    err = np.abs(got - ref)
    r = {"rows": int(len(ref)), "max_abs_error": float(err.max()), "mean_abs_error": float(err.mean())}
    if argmax:
        r["argmax_agreement"] = float((got.argmax(-1) == ref.argmax(-1)).mean())
    return r


def metrics(kind: str, got: np.ndarray, rows: Rows) -> dict:
    """errors() of all rows, per model layer (max), and for LayerNorm also on the rows whose variance lies
    inside the stock 1/sqrt table ([eps, 1): beyond it the stock layer saturates its table index)."""
    r = errors(got, rows.ref, argmax=kind == "softmax")
    r["max_abs_error_per_layer"] = {n: float(np.abs(got[rows.layer == n] - rows.ref[rows.layer == n]).max())
                                    for n in dict.fromkeys(rows.layer.tolist())}
    if kind == "layernorm":
        inside = rows.x.var(-1) < 1.0
        r["variance_below_1"] = errors(got[inside], rows.ref[inside]) if inside.any() else {"rows": 0}
    return r


# ---- the stock hls4ml projects -----------------------------------------------------------------------------
def stock_layer(kind: str, width: int) -> dict:
    """The layer dict hls4ml's PyTorch converter makes of nn.Softmax(dim=-1) / nn.LayerNorm(width) (weights 1, 0)."""
    if kind == "softmax":
        return {"class_name": "Softmax", "activation": "softmax", "axis": -1}
    return {"class_name": "LayerNormalization", "n_in": width, "n_out": width, "seq_len": 1, "axis": 2,
            "gamma_data": np.ones(width), "beta_data": np.zeros(width), "epsilon_power_of_10": EPSILON_POWER_OF_10}


class StockProject(Project):
    """One stock layer fed by one Input of `width` features; compiled once per content hash (csim.Project's
    cache check and library loading)."""

    def __init__(self, cfg: Stock, width: int, outdir: Path):
        self.outdir = Path(outdir)
        layers = [{"class_name": "Input", "name": "x", "input_shape": [width]},
                  {**stock_layer(cfg.kind, width), "name": cfg.kind, "inputs": ["x"]}]
        layer_cfg = {"x": {"Precision": {"result": cfg.input}}, cfg.kind: cfg.layer}
        self._build(f"stock_{cfg.kind}", layers, layer_cfg, ["x"], ["x"])

    def run(self, rows: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(rows, dtype=np.float64)
        return np.asarray(self.graph.predict(x), np.float64).reshape(x.shape)


def stock_input(kind: str, rows: Rows) -> np.ndarray:
    """What the stock layer is fed: softmax in natural-log units (z ln 2), LayerNorm the dequantized inputs."""
    return rows.x * math.log(2) if kind == "softmax" else rows.x


def run(m: IntModel, images: np.ndarray, build_root: Path | None = None, log=print, out: Path | None = None) -> dict:
    """Our kernels and every stock configuration on the same rows; projects under build_root/stock/, the report
    to `out` (default build_root/stock.json); build_root by default <build>/hls."""
    build_root = Path(build_root) if build_root else hls_build()
    import hls4ml

    env = golden.run(m, images, keep=True)
    report = {"arch": m.arch, "model_id": f"{m.identity():08x}", "images": int(len(images)),
              "hls4ml": hls4ml.__version__, "kernels": {}}
    for kind, rows in (("softmax", softmax_rows(m, env)), ("layernorm", layernorm_rows(m, env))):
        results = [{"config": "ours", "note": "our integer kernel (golden = our HLS C-sim, bit-exact), dequantized",
                    **metrics(kind, rows.ours, rows)}]
        for cfg in (c for c in CONFIGS if c.kind == kind):
            t0 = time.perf_counter()
            proj = StockProject(cfg, rows.x.shape[-1], Path(build_root) / "stock" / f"{kind}_{cfg.name}")
            got = proj.run(stock_input(kind, rows))
            results.append({"config": f"hls4ml {cfg.name}", "note": cfg.note, "input_precision": cfg.input,
                            "layer_config": cfg.layer, **metrics(kind, got, rows), "rebuilt": proj.rebuilt,
                            "seconds": round(time.perf_counter() - t0, 2)})
        report["kernels"][kind] = {"rows": int(len(rows.x)), "width": int(rows.x.shape[-1]),
                                   "layers": list(dict.fromkeys(rows.layer.tolist())), "results": results}
        for r in results:
            log(f"{kind:<10} {r['config']:<15} {r['rows']:>6} {r['max_abs_error']:>12.5f} {r['mean_abs_error']:>12.6f}"
                + (f" {100 * r['argmax_agreement']:>8.2f}%" if "argmax_agreement" in r else ""))
    write_json_atomic(Path(out or Path(build_root) / "stock.json"), report)
    return report
