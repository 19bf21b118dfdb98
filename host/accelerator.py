"""The driver's one API: `Accelerator(model, backend)` runs uint8 images [N, C, H, W] on any integer backend -
golden (NumPy), csim (hls4ml C-simulation), rtlsim (the board driver against the simulated vit_accel) or board
(vit_accel on a PYNQ board) - and gives the same integer logits on each.

    with Accelerator("vit.npz", backend="board", bitstream="vit_accel.bit") as acc:
        classes, confidence = acc.classify(images)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .backends import BACKENDS, ModelPaths, UserError, open_backend

DRIVER_BACKENDS = tuple(n for n in ("golden", "csim", "rtlsim", "board") if n in BACKENDS)


class Accelerator:
    """One model on one integer backend. `model`: a model file (.npz) or checkpoint (.pt), default the shipped
    model of `arch`; `bitstream`: the overlay (.bit with its .hwh) for the board backend."""

    def __init__(self, model: str | Path | None = None, backend: str = "golden", arch: str = "vit",
                 bitstream: str | Path | None = None):
        if backend not in DRIVER_BACKENDS:
            raise UserError(f"unknown backend '{backend}' (choose from {', '.join(DRIVER_BACKENDS)})")
        paths = ModelPaths.resolve(arch, None if model is None else str(model))
        paths.bitstream = None if bitstream is None else Path(bitstream)
        self.backend = open_backend(backend, paths)
        self.model = self.backend.model
        self.input_shape = list(self.backend.input_shape)

    @property
    def stats(self) -> dict:
        """The accelerator's counters after the last batch (rtlsim, board): cycles per image, LATENCY, ..."""
        return dict(getattr(self.backend, "counters", {}))

    def infer(self, images) -> np.ndarray:
        """int64 logits [N, classes] on the model's output grid, identical on every integer backend."""
        return np.asarray(self.backend(images), np.int64)

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
        if board := getattr(self.backend, "board", None):
            board.close()

    def __enter__(self) -> Accelerator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
