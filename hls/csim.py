"""hls4ml projects from a model file: write, compile (C-simulation library), run, compare with golden.

Projects are cached: a hash of the project's layers, precisions, C++ sources and the hls4ml version is kept
beside the compiled library; when it matches, the library is loaded instead of rebuilt.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from ..build import locked
from ..quant.golden import tensor_shapes
from ..quant.model_file import IntModel, Op
from . import kernels
from .graph import cname, hls_layers, is_map

DEFAULT_PRECISION = "ap_fixed<16,6>"  # only for hls4ml internals that no layer of ours leaves unset


class Project:
    """One compiled hls4ml C-simulation of `ops` (inputs: the tensors that feed them)."""

    def __init__(self, m: IntModel, ops: list[Op], inputs: list[str], outdir: Path, name: str):
        kernels.register()
        self.m, self.ops, self.inputs, self.outdir = m, ops, inputs, Path(outdir)
        self.shapes = tensor_shapes(m)
        layers, layer_cfg = hls_layers(m, ops, inputs, self.shapes)
        self._build(name, layers, layer_cfg, inputs, [cname(t) for t in inputs])

    def _build(self, name: str, layers: list[dict], layer_cfg: dict, inputs: list[str], input_names: list[str]):
        """The hls4ml graph of `layers` in self.outdir, compiled unless its content hash matches the cached
        build (then its library is loaded)."""
        import hls4ml
        from hls4ml.model.graph import ModelGraph

        config = hls4ml.utils.config.create_config(output_dir=str(self.outdir), project_name=name, backend="Vitis",
                                                   io_type="io_parallel")
        config["HLSConfig"] = {"Model": {"Precision": {"default": DEFAULT_PRECISION}, "ReuseFactor": 1,
                                         "Strategy": "Latency"}, "LayerName": layer_cfg}
        self.digest = _digest(layers, layer_cfg, inputs, hls4ml.__version__)
        with locked(self.outdir):  # another process may be building this project
            self.graph = ModelGraph.from_layer_list(config, layers, inputs=input_names)
            self.rebuilt = not self._load_cached()
            if self.rebuilt:
                shutil.rmtree(self.outdir, ignore_errors=True)
                self.graph.compile()
                (self.outdir / "vitflow.hash").write_text(self.digest)

    def _load_cached(self) -> bool:
        stamp = self.outdir / "vitflow.hash"
        libs = sorted((self.outdir / "firmware").glob("*.so"), key=lambda p: p.stat().st_mtime)
        if not (stamp.is_file() and stamp.read_text() == self.digest and libs):
            return False
        self.graph._top_function_lib = ctypes.cdll.LoadLibrary(str(libs[-1]))
        return True

    def run(self, xs: list[np.ndarray]) -> np.ndarray:
        """Integer inputs (golden layout, batch first) -> integer outputs of the last op."""
        fmts = self.m.formats()
        feeds = []
        for t, x in zip(self.inputs, xs):
            x = np.asarray(x)
            if is_map(self.m, t):  # [B, C, H, W] -> channels-last
                x = x.transpose(0, 2, 3, 1)
            feeds.append(np.ascontiguousarray(x.reshape(len(x), -1) * 2.0 ** -fmts[t].frac, dtype=np.float64))
        y = self.graph.predict(feeds if len(feeds) > 1 else feeds[0])
        last = self.ops[-1]
        y = np.rint(np.asarray(y, np.float64).reshape(len(xs[0]), -1) * 2.0**last.out.frac).astype(np.int64)
        if is_map(self.m, last.name):  # back to the golden layout
            c, h, w = self.shapes[last.name]
            y = y.reshape(-1, h, w, c).transpose(0, 3, 1, 2).reshape(len(y), -1)
        return y


def _digest(layers, layer_cfg, inputs, version: str) -> str:
    h = hashlib.sha256(json.dumps([version, list(inputs)]).encode())
    for layer in layers:
        for k in sorted(layer):
            v = layer[k]
            if isinstance(v, dict):
                v = {kk: (np.asarray(vv).tolist() if isinstance(vv, np.ndarray) else vv) for kk, vv in v.items()}
            h.update(k.encode() + (np.asarray(v).tobytes() if isinstance(v, np.ndarray) else
                                   json.dumps(v, sort_keys=True, default=str).encode()))
    h.update(json.dumps(layer_cfg, sort_keys=True).encode())
    for src in sorted(kernels.SOURCES.glob("*.h")):
        h.update(src.read_bytes())
    return h.hexdigest()


def model_project(m: IntModel, build_dir: Path) -> Project:
    """The whole model as one hls4ml project."""
    return Project(m, m.ops, [m.input_name], Path(build_dir) / "model", f"{m.arch}_model")


def kernel_project(m: IntModel, op: Op, build_dir: Path) -> Project:
    """One op of the model as its own hls4ml project, fed directly by its inputs."""
    return Project(m, [op], list(dict.fromkeys(op.inputs)), Path(build_dir) / cname(op.name), cname(op.name))
