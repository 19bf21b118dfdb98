"""The integer model file: integer weights, formats, lookup tables and the op list of one trained model.

One .npz (no pickle): arrays by name plus a JSON header `__spec__`. Versioned and validated on load; written
atomically. Golden model, HLS, RTL and host read models only through `IntModel.load`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import spec
from .ops import OPS, named
from .spec import IntFormat

FORMAT = "vitflow-int-model"
VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be used; the message says what is wrong and what to do."""


WEIGHTED = named("weighted")  # weight and bias arrays, an accumulator bound to check


@dataclass
class Op:
    op: str
    name: str
    inputs: list[str]
    out: IntFormat
    arrays: dict[str, str] = field(default_factory=dict)  # role -> array key in IntModel.arrays
    attrs: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"op": self.op, "name": self.name, "inputs": self.inputs, "out": self.out.to_json(),
                "arrays": self.arrays, "attrs": self.attrs}


@dataclass
class IntModel:
    arch: str
    config: dict
    input_name: str
    input_shape: list[int]              # one image: [C, H, W]
    input_fmt: IntFormat
    ops: list[Op]
    output: str
    arrays: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)  # provenance: data set, accuracy, ...

    def array(self, op: Op, role: str) -> np.ndarray | None:
        key = op.arrays.get(role)
        return None if key is None else self.arrays[key]

    def formats(self) -> dict[str, IntFormat]:
        fmts = {self.input_name: self.input_fmt}
        fmts.update((op.name, op.out) for op in self.ops)
        return fmts

    def header(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "arch": self.arch, "config": self.config,
                "input": {"name": self.input_name, "shape": self.input_shape, "format": self.input_fmt.to_json()},
                "ops": [op.to_json() for op in self.ops], "output": self.output, "meta": self.meta}

    def identity(self) -> int:
        """32 bits that name what the model computes: a SHA-256 of the header without its provenance (meta) and
        of every integer array. The RTL generator writes it into the bitstream (MODEL_ID register); the driver
        refuses an accelerator that reports another."""
        h = hashlib.sha256(json.dumps({k: v for k, v in self.header().items() if k != "meta"},
                                      sort_keys=True).encode())
        for key in sorted(self.arrays):
            a = np.ascontiguousarray(self.arrays[key], np.int64)
            h.update(f"{key}{a.shape}".encode())
            h.update(a.tobytes())
        return int.from_bytes(h.digest()[:4], "big")

    def save(self, path: str | os.PathLike) -> None:
        validate(self)
        payload = dict(self.arrays)
        payload["__spec__"] = np.array(json.dumps(self.header()))
        write_atomic(Path(path), lambda f: np.savez_compressed(f, **payload))

    @classmethod
    def load(cls, path: str | os.PathLike) -> IntModel:
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {path} not found: train one with `vitflow train` or omit --model")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            header = json.loads(str(arrays.pop("__spec__")))
        except Exception as e:  # any unreadable content is one user-facing error
            raise ModelFileError(f"{path} is not a readable vitflow model file ({type(e).__name__}); "
                                 "re-export it with `vitflow export`") from None
        return from_header(header, arrays, path)


def from_header(h: dict, arrays: dict, path) -> IntModel:
    if h.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a vitflow model file (format {h.get('format')!r})")
    if h.get("version") != VERSION:
        raise ModelFileError(f"{path} has model file version {h.get('version')}, this vitflow reads version "
                             f"{VERSION}: re-export it with this vitflow (`vitflow export`)")
    try:
        ops = [Op(o["op"], o["name"], list(o["inputs"]), IntFormat.from_json(o["out"]), dict(o["arrays"]),
                  dict(o["attrs"])) for o in h["ops"]]
        m = IntModel(h["arch"], h["config"], h["input"]["name"], list(h["input"]["shape"]),
                     IntFormat.from_json(h["input"]["format"]), ops, h["output"], arrays, h.get("meta", {}))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: malformed model file header ({e}); re-export it with `vitflow export`") \
            from None
    validate(m, path)
    return m


def validate(m: IntModel, path="model") -> None:
    """Structure, ranges and worst-case accumulator widths; raises ModelFileError."""
    def bad(msg):
        raise ModelFileError(f"{path}: {msg}; re-export it with `vitflow export`")

    fmts = {m.input_name: m.input_fmt}
    wbits = int(m.config.get("weight_bits", 8))
    acc_max = 0
    for op in m.ops:
        s = OPS.get(op.op)
        if s is None:
            bad(f"unknown op '{op.op}' ({op.name})")
        if op.name in fmts:
            bad(f"tensor '{op.name}' defined twice")
        if len(op.inputs) not in s.inputs or any(i not in fmts for i in op.inputs):
            bad(f"op {op.name} has bad inputs {op.inputs}")
        for role in s.arrays + s.optional:
            key = op.arrays.get(role)
            if key is None:
                if role in s.arrays:
                    bad(f"op {op.name} lacks array '{role}'")
                continue
            if key not in m.arrays or m.arrays[key].dtype.kind not in "iu":
                bad(f"op {op.name}: array '{key}' missing or not integer")
        if missing := [a for a in s.attrs if a not in op.attrs]:
            bad(f"op {op.name} lacks attributes {missing}")
        in_fmt = fmts[op.inputs[0]]
        if op.op in WEIGHTED:
            w, b = m.array(op, "weight"), m.array(op, "bias")
            wf = IntFormat(wbits, True, int(op.attrs["w_frac"]), narrow=True)
            if w.min(initial=0) < wf.min or w.max(initial=0) > wf.max or b.shape != (w.shape[0],):
                bad(f"op {op.name}: weights outside int{wbits} or bias shape {b.shape} != ({w.shape[0]},)")
            bits = spec.accumulator_bits(max(-in_fmt.min, in_fmt.max),
                                         np.abs(w.reshape(w.shape[0], -1).astype(np.int64)).sum(1), np.abs(b))
            if bits > spec.ACC_BITS:
                bad(f"op {op.name}: accumulator may need {bits} bits > {spec.ACC_BITS}")
            acc_max = max(acc_max, bits)
        if op.op == "layernorm":
            if op.out.frac > spec.LAYERNORM_MAX_FRAC or op.out.bits != spec.ACT_BITS:
                bad(f"op {op.name}: LayerNorm output format {op.out} is not the spec's")
        if op.op == "gelu" and not np.array_equal(m.array(op, "lut"), spec.gelu_lut(in_fmt)):
            bad(f"op {op.name}: GELU table differs from the spec's table for {in_fmt}")
        if op.op == "concat" and fmts[op.inputs[1]] != in_fmt:
            bad(f"op {op.name}: concatenated inputs have different formats")
        fmts[op.name] = op.out
    if m.output not in fmts:
        bad(f"output '{m.output}' is not produced by any op")
    m.meta.setdefault("max_accumulator_bits", acc_max)


class GraphBuilder:
    """Collects ops while a quantized model exports itself (the `export` methods in model/)."""

    def __init__(self, input_name: str, input_shape: list[int], input_fmt: IntFormat):
        self.input = (input_name, list(input_shape), input_fmt)
        self.ops: list[Op] = []
        self.arrays: dict[str, np.ndarray] = {}
        self._fmts = {input_name: input_fmt}

    def fmt(self, tensor: str) -> IntFormat:
        return self._fmts[tensor]

    def add(self, op: str, name: str, inputs: list[str], out: IntFormat | None, arrays: dict | None = None,
            **attrs) -> str:
        keys = {}
        for role, a in (arrays or {}).items():
            keys[role] = f"{name}.{role}"
            self.arrays[keys[role]] = compact_int(a)
        if out is None:  # raw accumulator of a linear layer (the head)
            attrs["raw"] = True
            out = IntFormat(spec.ACC_BITS, True, self.fmt(inputs[0]).frac + int(attrs["w_frac"]))
        self.ops.append(Op(op, name, list(inputs), out, keys, attrs))
        self._fmts[name] = out
        return name

    def build(self, arch: str, config: dict, output: str, meta: dict | None = None) -> IntModel:
        name, shape, fmt = self.input
        m = IntModel(arch, config, name, shape, fmt, self.ops, output, self.arrays, dict(meta or {}))
        validate(m)
        return m


def compact_int(a) -> np.ndarray:
    """The integers of `a` in the narrowest signed dtype that holds them."""
    a = np.asarray(a).astype(np.int64)
    for dt in (np.int8, np.int16, np.int32):
        if np.iinfo(dt).min <= a.min(initial=0) and a.max(initial=0) <= np.iinfo(dt).max:
            return a.astype(dt)
    return a


def write_atomic(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """A text file written atomically (a generated netlist, a ROM image that a simulator may be reading)."""
    data = text.encode()
    write_atomic(path, lambda f: f.write(data))


def write_json_atomic(path: Path, data) -> None:
    """`data` as indented JSON, written atomically (a report, a cached result)."""
    text = json.dumps(data, indent=2).encode()
    write_atomic(path, lambda f: f.write(text))
