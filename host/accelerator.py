"""The driver's one API: `Accelerator(model, backend)` runs uint8 images [N, C, H, W] on any integer backend -
golden (NumPy), csim (hls4ml C-simulation), rtlsim (the board driver against the simulated vit_accel) or board
(vit_accel on a PYNQ board) - and gives the same integer logits on each.

    with Accelerator("vit.npz", backend="board", bitstream="vit_accel.bit") as acc:
        classes, confidence = acc.classify(images)          # model inputs uint8 [N, 1, 8, 8]
        verdicts = acc.classify_pictures(["scan.png", photo_array])  # any picture, preprocessed

A verdict is the class with its probability (softmax of the integer logits read on their fixed-point grid), or
a flag instead of a class (class None): "no content" (a blank picture) or "not a digit" (probability under the
model's min_probability; the best class is then its "guess"). The probability is a function of the integer
logits alone, so golden, C-sim, RTL and board give the same verdict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .backends import BACKENDS, ModelPaths, UserError, open_backend

DRIVER_BACKENDS = tuple(n for n in ("golden", "csim", "rtlsim", "board") if n in BACKENDS)
# Below: "not a digit", for models without a calibrated threshold. Models trained with non-digits (`train
# --pictures`) carry their own in the model file's meta: the probability that flags REJECT_DIGITS of the
# digits test split (host/training.py).
MIN_PROBABILITY = 0.5
REJECT_DIGITS = 0.015


def min_probability_of(meta: dict | None) -> float:
    """The threshold under which a model's answer is "not a digit": its calibrated one, else MIN_PROBABILITY."""
    return float((meta or {}).get("min_probability", MIN_PROBABILITY))


def logits_frac(backend) -> int:
    """Fractional bits of a backend's logits: the model file's output grid for integer backends, 0 for float."""
    if not backend.integer:
        return 0
    if hasattr(backend, "logits_frac"):
        return backend.logits_frac
    return backend.model.formats()[backend.model.output].frac


def probabilities(logits: np.ndarray, frac: int) -> np.ndarray:
    """Softmax of logits on the grid 2**-frac (float64)."""
    z = np.asarray(logits, np.float64) * 2.0**-frac
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def verdicts(logits: np.ndarray, frac: int, content: list[bool] | None = None,
             min_probability: float = MIN_PROBABILITY) -> list[dict]:
    """Per image: class, probability and flag (None, "no content", or "not a digit" with the class in
    "guess")."""
    p = probabilities(logits, frac)
    out = []
    for k, row in enumerate(p):
        if content is not None and not content[k]:
            out.append({"class": None, "probability": None, "flag": "no content"})
            continue
        best, cls = float(row.max()), int(row.argmax())
        if best < min_probability:
            out.append({"class": None, "probability": round(best, 4), "flag": "not a digit", "guess": cls})
        else:
            out.append({"class": cls, "probability": round(best, 4), "flag": None})
    return out


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
        return probabilities(logits, logits_frac(self.backend))

    def classify(self, images) -> tuple[np.ndarray, np.ndarray]:
        """The class of each model input and its probability."""
        p = self.probabilities(self.infer(images))
        return p.argmax(1), p.max(1)

    def classify_pictures(self, pictures, min_probability: float | None = None) -> list[dict]:
        """Pictures of any size - files, or arrays [H, W] (uint8, uint16, or float in [0, 1]) - preprocessed
        to the model's input (host/preprocess.py), then verdicts (class, probability, flag, polarity);
        `min_probability` default: the model's (min_probability_of)."""
        from .preprocess import decode, framing_for, picture_array, prepare

        framing = framing_for(self.model.meta)
        prepared = [prepare(decode(Path(p)) if isinstance(p, (str, Path)) else picture_array(p),
                            self.input_shape, framing) for p in pictures]
        logits = self.infer(np.stack([p.image for p in prepared]))
        threshold = min_probability_of(self.model.meta) if min_probability is None else min_probability
        rows = verdicts(logits, logits_frac(self.backend), [p.content for p in prepared], threshold)
        return [{**r, "polarity": p.polarity} for r, p in zip(rows, prepared)]

    def close(self) -> None:
        if board := getattr(self.backend, "board", None):
            board.close()

    def __enter__(self) -> Accelerator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
