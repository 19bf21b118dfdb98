"""The driver's one API: a backend turns uint8 images [B, C, H, W] into logits.

golden (NumPy integer model), brevitas (the quantized torch model, integer logits on the same grid) and
torch (the float model). Integer backends return int64 logits that must agree bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

BACKENDS = ("torch", "brevitas", "golden", "csim")
HLS_BUILD = Path("build/hls")
PRETRAINED = Path(__file__).resolve().parent.parent / "model" / "pretrained"


class UserError(ValueError):
    """Bad input from the user: reported as one line, exit code 2."""


@dataclass
class ModelPaths:
    checkpoint: Path   # .pt: config + float and quantized state dicts
    model_file: Path   # .npz: the integer model file

    @classmethod
    def resolve(cls, arch: str, model: str | None) -> ModelPaths:
        """The shipped model of `arch`, or the pair beside a given .pt or .npz file."""
        base = PRETRAINED / arch if model is None else Path(model)
        if model is not None and base.suffix not in (".pt", ".npz"):
            raise UserError(f"--model {model}: expected a model file (.npz) or a checkpoint (.pt)")
        return cls(base.with_suffix(".pt"), base.with_suffix(".npz"))


class Backend:
    name: str
    arch: str
    integer: bool = True
    input_shape: list[int]

    def logits(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class GoldenBackend(Backend):
    name = "golden"

    def __init__(self, paths: ModelPaths):
        from ..quant.model_file import IntModel

        self.model = IntModel.load(paths.model_file)
        self.arch = self.model.arch
        self.input_shape = self.model.input_shape

    def logits(self, images):
        from ..quant import golden

        return golden.run(self.model, images)


class CsimBackend(GoldenBackend):
    """The whole model's hls4ml C-simulation (built under build/hls/ARCH, reused when unchanged)."""

    name = "csim"

    def __init__(self, paths: ModelPaths):
        super().__init__(paths)
        from ..hls.csim import model_project

        self.project = model_project(self.model, HLS_BUILD / self.arch)

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


def open_backend(name: str, paths: ModelPaths) -> Backend:
    if name == "golden":
        return GoldenBackend(paths)
    if name == "csim":
        return CsimBackend(paths)
    if name in ("torch", "brevitas"):
        return TorchBackend(paths, quant=name == "brevitas")
    raise UserError(f"unknown backend '{name}' (choose from {', '.join(BACKENDS)})")
