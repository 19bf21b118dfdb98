"""The driver's one API: a backend turns uint8 images [B, C, H, W] into logits.

Integer backends (golden: the NumPy integer model; brevitas: the quantized torch model on the same grid; csim:
the hls4ml C-simulation) return int64 logits that must agree bit for bit; float backends (torch, onnxruntime:
the float model of the checkpoint) return float32 logits. `BACKENDS` is the one table of them: what each needs
(Python modules and the pip extra that installs them) and how it opens; eval, infer and bench read it. A new
backend (rtlsim, board) is one `Backend` subclass and one row.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..build import build_dir
from .errors import UserError  # noqa: F401 (re-exported: the name every command catches)

PRETRAINED = Path(__file__).resolve().parent.parent / "model" / "pretrained"


@dataclass
class ModelPaths:
    checkpoint: Path   # .pt: config + float and quantized state dicts
    model_file: Path   # .npz: the integer model file
    bitstream: Path | None = None  # the board backend's overlay (.bit with its .hwh beside it)

    @classmethod
    def resolve(cls, arch: str, model: str | None) -> ModelPaths:
        """The shipped model of `arch`, or the pair beside a given .pt or .npz file."""
        base = PRETRAINED / arch if model is None else Path(model)
        if model is not None and base.suffix not in (".pt", ".npz"):
            raise UserError(f"--model {model}: expected a model file (.npz) or a checkpoint (.pt)")
        return cls(base.with_suffix(".pt"), base.with_suffix(".npz"))

    @property
    def shipped(self) -> bool:
        return self.model_file.resolve().parent == PRETRAINED.resolve()

    def build_name(self, identity: int) -> str:
        """The build folder name of this model (its IntModel.identity() given): a shipped model's file stem (its
        arch), any other model file's stem and identity, so that two models never share a build folder."""
        return self.model_file.stem if self.shipped else f"{self.model_file.stem}-{identity:08x}"


class Backend:
    name: str
    arch: str
    integer: bool = True
    input_shape: list[int]
    bench_images: int | None = None  # at most this many images per batch in `vitflow bench` (None: all)
    rate_basis = "measured"          # how images_per_s is obtained; a simulator may report modeled hardware

    def logits(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def images_per_s(self, n: int, seconds: float) -> float:
        """Throughput of a batch of n images that took `seconds` (wall clock) here; rtlsim overrides it with
        cycles at the clock of the placed-and-routed design."""
        return n / seconds

    def latency_s(self, seconds: float) -> float:
        """Latency of one image that took `seconds` here."""
        return seconds

    def check(self, images) -> np.ndarray:
        """uint8 images [B, C, H, W] of this model, at least one; else a UserError."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or list(images.shape[1:]) != list(self.input_shape):
            raise UserError(f"the {self.arch} model takes images of shape {self.input_shape} (batches "
                            f"[N, {', '.join(map(str, self.input_shape))}]), got {list(images.shape)}")
        if len(images) == 0:
            raise UserError("an empty batch: give at least one image")
        if images.dtype != np.uint8:
            if not np.issubdtype(images.dtype, np.integer) or images.min() < 0 or images.max() > 255:
                raise UserError(f"images must be uint8 pixels 0..255, got {images.dtype}")
            images = images.astype(np.uint8)
        return images

    def __call__(self, images) -> np.ndarray:
        """Logits of checked images: the entry point for callers outside the CLI."""
        return self.logits(self.check(images))


class ModelFileBackend(Backend):
    """A backend that runs the integer model file."""

    def __init__(self, paths: ModelPaths):
        from ..quant.model_file import IntModel

        self.model = IntModel.load(paths.model_file)
        self.arch = self.model.arch
        self.input_shape = self.model.input_shape


class GoldenBackend(ModelFileBackend):
    name = "golden"

    def __init__(self, paths: ModelPaths):
        from ..quant import golden

        super().__init__(paths)
        self.fast = golden.compile_fast(self.model)  # float weight matrices, once

    def logits(self, images):
        return self.fast.run(images)


class CsimBackend(GoldenBackend):
    """The whole model's hls4ml C-simulation (built under build/hls/ARCH, reused when unchanged)."""

    name = "csim"

    def __init__(self, paths: ModelPaths):
        super().__init__(paths)
        from ..hls.csim import model_project

        # where `vitflow hls` builds it (its project is reused): build/hls/ARCH, or build/hls/NAME/ARCH
        root = build_dir("hls") if paths.shipped else build_dir("hls", paths.build_name(self.model.identity()))
        self.project = model_project(self.model, root / self.arch)

    def logits(self, images):
        from ..hls.check import csim_logits

        return csim_logits(self.project, images)


class TorchBackend(Backend):
    """The quantized (Brevitas) or float model from the checkpoint."""

    def __init__(self, paths: ModelPaths, quant: bool):
        from ..model.train import load_checkpoint

        self.name, self.integer = ("brevitas", True) if quant else ("torch", False)
        cfg, self.model, _ = load_checkpoint(paths.checkpoint, quant)
        self.arch, self.input_shape = cfg.arch, [cfg.in_chans, cfg.img_size, cfg.img_size]
        if quant:
            from ..quant.export import export_int_model

            im = export_int_model(self.model)
            self.logits_frac = im.formats()[im.output].frac

    def logits(self, images):
        from ..model.train import to_float
        from ..quant.export import brevitas_int_logits

        if self.integer:
            return brevitas_int_logits(self.model, images, self.logits_frac)
        import torch

        with torch.no_grad():
            return self.model(to_float(images)).numpy()


class OnnxBackend(Backend):
    """The float model of the checkpoint in onnxruntime. Exported once (torch) to build/onnx/, keyed by the
    checkpoint's content; a later run needs only onnxruntime."""

    name, integer = "onnxruntime", False

    def __init__(self, paths: ModelPaths, build: Path | None = None):
        import hashlib
        import json

        import onnxruntime as ort

        if not paths.checkpoint.is_file():
            raise UserError(f"checkpoint {paths.checkpoint} not found: the float model comes from a checkpoint")
        digest = hashlib.sha256(paths.checkpoint.read_bytes()).hexdigest()[:16]
        path = Path(build or build_dir("onnx")) / f"{paths.checkpoint.stem}-{digest}.onnx"
        info = path.with_suffix(".json")
        if not (path.is_file() and info.is_file()):
            require("onnxruntime", ("torch",), "to export the float model to ONNX once")
            self._export(paths, path, info)
        meta = json.loads(info.read_text())
        self.arch, self.input_shape = meta["arch"], meta["input_shape"]
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    @staticmethod
    def _export(paths: ModelPaths, path: Path, info: Path) -> None:
        import json
        import warnings

        import torch

        from ..model.train import load_checkpoint, to_float
        from ..quant.model_file import write_atomic

        cfg, model, _ = load_checkpoint(paths.checkpoint, quant=False)
        shape = [cfg.in_chans, cfg.img_size, cfg.img_size]
        tmp = path.with_suffix(".tmp.onnx")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (to_float(np.zeros((2, *shape), np.uint8)),), str(tmp), input_names=["x"],
                              output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
                              dynamo=False, opset_version=17)
        tmp.replace(path)
        write_atomic(info, lambda f: f.write(json.dumps({"arch": cfg.arch, "input_shape": shape}).encode()))

    def logits(self, images):
        from ..quant.spec import PIXEL

        x = images.astype(np.float32) * np.float32(PIXEL.scale)
        return self.session.run(None, {self.input: x})[0]


class RtlsimBackend(ModelFileBackend):
    """The board driver (host/board.py) against vit_accel simulated by Verilator (rtl/rtlsim.py). Its
    throughput and latency are the accelerator's own cycle counts (Board.cycles_per_image, LATENCY) at the
    clock that place and route measured for this model's top (build/sim/<ModelPaths.build_name>/timing.json,
    `make timing`); no clock, no images/s."""

    name, bench_images = "rtlsim", 24

    def __init__(self, paths: ModelPaths, timing: Path | None = None):
        import json

        super().__init__(paths)
        timing = timing or build_dir("sim", paths.build_name(self.model.identity()), "timing.json")
        self.paths, self.counters = paths, {}
        top = json.loads(timing.read_text())["top"] if timing.is_file() else {}
        self.clock_mhz = top.get("xc7z020_clock_mhz") or top.get("clock_mhz")
        where = "xc7z020, Vivado" if top.get("xc7z020_clock_mhz") else "ECP5 nextpnr"
        self.rate_basis = (f"cycles at {self.clock_mhz} MHz ({where}, {timing})" if self.clock_mhz else
                           "cycles only: no clock measured (make timing)")

    def logits(self, images):
        from ..rtl.rtlsim import logits

        try:
            lg, self.counters = logits(self.paths.model_file, images)
        except RuntimeError as e:  # the simulation itself failed: its log is named in the message
            raise UserError(str(e)) from None
        return lg

    def images_per_s(self, n: int, seconds: float | None) -> float:
        cycles = self.counters.get("cycles_per_image")
        return self.clock_mhz * 1e6 / cycles if self.clock_mhz and cycles else float("nan")

    def latency_s(self, seconds: float | None) -> float:
        cycles = self.counters.get("LATENCY")
        return cycles / (self.clock_mhz * 1e6) if self.clock_mhz and cycles else float("nan")


class BoardBackend(ModelFileBackend):
    """vit_accel on a PYNQ board through the AXI DMA (host/board.py); the overlay must hold this model."""

    name = "board"

    def __init__(self, paths: ModelPaths, timeout_s: float = 2.0):
        from .board import Board

        if paths.bitstream is None:
            raise UserError("the board backend needs --bitstream FILE.bit (with its .hwh beside it)")
        super().__init__(paths)
        self.board = Board(self.model, paths.bitstream, timeout_s=timeout_s)
        self.counters = {}

    def logits(self, images):
        lg = self.board.run(images)
        self.counters = {**self.board.counters(), "cycles_per_image": self.board.cycles_per_image()}
        return lg


@dataclass(frozen=True)
class BackendSpec:
    name: str
    open: Callable[[ModelPaths], Backend]
    modules: tuple[str, ...]   # importable Python modules it needs
    extra: str                 # the pip extra that installs them
    summary: str
    tools: tuple[str, ...] = ()  # programs it needs on PATH


BACKENDS: dict[str, BackendSpec] = {s.name: s for s in (
    BackendSpec("golden", GoldenBackend, (), "", "NumPy integer model (the spec), bit-exact"),
    BackendSpec("csim", CsimBackend, ("hls4ml",), "hls", "hls4ml C-simulation of the whole model", ("g++",)),
    BackendSpec("brevitas", lambda p: TorchBackend(p, quant=True), ("torch", "brevitas"), "train",
                "Brevitas quantized torch model, integer logits"),
    BackendSpec("torch", lambda p: TorchBackend(p, quant=False), ("torch",), "train", "float torch model"),
    BackendSpec("onnxruntime", OnnxBackend, ("onnxruntime",), "train", "float model exported to ONNX"),
    BackendSpec("rtlsim", RtlsimBackend, ("cocotb", "cocotbext.axi", "verilator"), "sim",
                "the board driver against the simulated accelerator (Verilator)"),
    BackendSpec("board", BoardBackend, ("pynq",), "", "vit_accel on a PYNQ board (AXI DMA)"),
)}
INTEGER_BACKENDS = ("golden", "brevitas", "csim", "rtlsim", "board")


def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(name: str) -> str | None:
    """Why backend `name` cannot run on this machine (one line), or None."""
    s = BACKENDS[name]
    if mods := [m for m in s.modules if not importable(m)]:
        if not s.extra:  # pynq: not from PyPI, it is the board's own
            return (f"backend {name} runs on a PYNQ board: {', '.join(mods)} is not importable here "
                    "(--backend rtlsim runs the same driver against the simulated accelerator)")
        return f"backend {name} needs {', '.join(mods)}: pip install 'vitflow[{s.extra}]'"
    if tools := [t for t in s.tools if shutil.which(t) is None]:
        return f"backend {name} needs {', '.join(tools)} on PATH (a C++ compiler)"
    return None


def require(name: str, modules: tuple[str, ...], why: str) -> None:
    if mods := [m for m in modules if not importable(m)]:
        raise UserError(f"backend {name} needs {', '.join(mods)} {why}: pip install 'vitflow[{BACKENDS[name].extra}]'")


def open_backend(name: str, paths: ModelPaths) -> Backend:
    if name not in BACKENDS:
        raise UserError(f"unknown backend '{name}' (choose from {', '.join(BACKENDS)})")
    if why := missing(name):
        raise UserError(why)
    return BACKENDS[name].open(paths)
