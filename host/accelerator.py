"""The driver's one API: `Accelerator(model, backend)` runs uint8 images [N, C, H, W] on any integer backend -
golden (NumPy), csim (hls4ml C-simulation), rtlsim (the board driver against the simulated vit_accel) or board
(vit_accel on a PYNQ board) - and gives the same integer logits on each.

    with Accelerator("model/pretrained/vit.npz", backend="board", bitstream="vit_accel.bit") as acc:
        classes, confidence = acc.classify(images)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .backends import ModelPaths, UserError

INTEGER_BACKENDS = ("golden", "csim", "rtlsim", "board")


class Accelerator:
    """One model on one integer backend. `model`: a model file (.npz) or checkpoint (.pt), default the shipped
    model of `arch`; `bitstream`: the overlay (.bit with its .hwh) for the board backend."""

    def __init__(self, model: str | Path | None = None, backend: str = "golden", arch: str = "vit",
                 bitstream: str | Path | None = None, timeout_s: float = 2.0):
        from ..quant.model_file import IntModel

        if backend not in INTEGER_BACKENDS:
            raise UserError(f"unknown backend '{backend}' (choose from {', '.join(INTEGER_BACKENDS)})")
        self.paths = ModelPaths.resolve(arch, None if model is None else str(model))
        self.model = IntModel.load(self.paths.model_file)
        self.backend, self.stats = backend, {}
        self.input_shape = list(self.model.input_shape)
        self._board = None
        if backend == "board":
            from .board import Board

            if bitstream is None:
                raise UserError("the board backend needs --bitstream FILE.bit (with its .hwh beside it)")
            self._board = Board(self.model, bitstream, timeout_s=timeout_s)
        elif backend in ("golden", "csim"):
            from .backends import open_backend

            self._backend = open_backend(backend, self.paths)

    def check(self, images) -> np.ndarray:
        """uint8 images [N, C, H, W] (one [C, H, W] image is a batch of one), or a one-line error."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or list(images.shape[1:]) != self.input_shape:
            shape = ", ".join(map(str, self.input_shape))
            raise UserError(f"images of shape {list(images.shape)}: the model takes [N, {shape}]")
        if len(images) == 0:
            raise UserError("an empty batch: give at least one image")
        if images.dtype != np.uint8:
            if not np.issubdtype(images.dtype, np.integer) or images.min() < 0 or images.max() > 255:
                raise UserError(f"images must be uint8 pixels 0..255, got {images.dtype}")
            images = images.astype(np.uint8)
        return images

    def infer(self, images) -> np.ndarray:
        """int64 logits [N, classes] on the model's output grid, identical on every integer backend."""
        images = self.check(images)
        if self._board is not None:
            logits = self._board.run(images)
            self.stats = {"cycles_per_image": self._board.cycles_per_image()}
        elif self.backend == "rtlsim":
            from ..rtl.rtlsim import logits as rtlsim_logits

            logits, counters = rtlsim_logits(self.paths.model_file, images)
            self.stats = counters
        else:
            logits = self._backend.logits(images)
        return np.asarray(logits, np.int64)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Softmax of integer logits, read on their fixed-point grid (float64)."""
        z = logits.astype(np.float64) * 2.0 ** -self.model.formats()[self.model.output].frac
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def classify(self, images) -> tuple[np.ndarray, np.ndarray]:
        """The class of each image and its probability."""
        p = self.probabilities(self.infer(images))
        return p.argmax(1), p.max(1)

    def close(self) -> None:
        if self._board is not None:
            self._board.close()

    def __enter__(self) -> Accelerator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
