"""How a tensor of the golden model travels on an AXI-Stream: one token per beat, element 0 in the least
significant bits, one frame per image.

- channels-first tensors [C, H, W] (the image, conv / fold / concat outputs) travel channels-last: H*W tokens
  of C elements, raster order (h, w);
- token tensors [N, D] as N tokens; window- or patch-batched tensors [W, N, D] (golden runs them as a batch of
  W per image, see golden.tensor_shapes) as W*N tokens, window-major;
- a vector [D] as one token.
"""

from __future__ import annotations

import math

import numpy as np

from ..quant.model_file import IntModel
from ..quant.ops import named

CHANNELS_FIRST_OPS = named("feature_map")  # ops whose output is [C, H, W]
# kernels that read the image as the DMA writes it (C-order bytes, several pixels per beat), not as tokens
READS_PIXEL_BUS = ("patch_embed",)


def channels_first(m: IntModel) -> set[str]:
    """Names of the tensors held as [C, H, W]."""
    return {m.input_name} | {op.name for op in m.ops if op.op in CHANNELS_FIRST_OPS}


def elements(m: IntModel, name: str, shape: tuple[int, ...]) -> int:
    """Elements per token of tensor `name` of (one image's) shape `shape`."""
    return shape[0] if name in channels_first(m) else shape[-1]


def tokens(m: IntModel, name: str, shape: tuple[int, ...]) -> int:
    """Tokens (beats) per image of tensor `name` of (one image's) shape `shape`."""
    return math.prod(shape) // elements(m, name, shape)


def to_tokens(m: IntModel, name: str, x: np.ndarray) -> np.ndarray:
    """One image's tensor `name` (its tensor_shapes shape) -> [tokens, elements] in stream order."""
    x = np.asarray(x)
    if name in channels_first(m):
        return x.reshape(x.shape[0], -1).T
    return x.reshape(-1, x.shape[-1])


def from_tokens(m: IntModel, name: str, tokens: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of to_tokens: stream tokens -> one image's tensor `name` of shape `shape` (tensor_shapes)."""
    tokens = np.asarray(tokens)
    if name in channels_first(m):
        return tokens.T.reshape(shape)
    return tokens.reshape(shape)


def batched(m: IntModel, name: str, x: np.ndarray) -> np.ndarray:
    """One image's tensor as golden's batch of one: window-batched [W, N, D] tensors are already golden's
    [B*W, N, D] for B = 1; every other tensor gets a leading batch axis."""
    x = np.asarray(x)
    return x if x.ndim == 3 and name not in channels_first(m) else x[None]


def unbatched(m: IntModel, name: str, y: np.ndarray) -> np.ndarray:
    """Inverse of batched for a golden result of one image."""
    y = np.asarray(y)
    return y if y.ndim == 3 and name not in channels_first(m) else y[0]
