"""The one integer spec: number formats, rounding, saturation and the constants of the integer kernels.

Every stage (Brevitas QAT, the NumPy golden model, HLS, RTL, host) reads its numbers from here or from a
model file written from here; nothing restates them. NumPy only: the golden model must not need torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum

import numpy as np


class Rounding(str, Enum):
    """How a right shift drops bits. HALF_EVEN is Brevitas' torch.round and hls4ml's AP_RND_CONV."""

    HALF_EVEN = "half_even"
    FLOOR = "floor"


@dataclass(frozen=True)
class IntFormat:
    """A fixed-point number: `bits` wide, two's complement when `signed`, value = integer * 2**-frac."""

    bits: int
    signed: bool
    frac: int
    narrow: bool = False  # symmetric range (-127..127 for int8), as Brevitas' fixed-point weights

    def __post_init__(self):
        if not 1 <= self.bits <= 64:
            raise ValueError(f"bits must be in 1..64, got {self.bits}")

    @property
    def min(self) -> int:
        if not self.signed:
            return 0
        return -(1 << (self.bits - 1)) + (1 if self.narrow else 0)

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def scale(self) -> float:
        return 2.0**-self.frac

    @property
    def dtype(self) -> np.dtype:
        """Smallest NumPy integer dtype that holds every value of the format."""
        for width in (8, 16, 32, 64):
            if self.bits <= width:
                return np.dtype(f"{'' if self.signed else 'u'}int{width}")
        raise ValueError(f"no NumPy dtype for {self}")

    def hls_type(self, rounding: Rounding = Rounding.HALF_EVEN, saturate: bool = True) -> str:
        """The ap_fixed/ap_ufixed type string with the same grid, range, rounding and overflow."""
        base = "ap_fixed" if self.signed else "ap_ufixed"
        q = "AP_RND_CONV" if rounding is Rounding.HALF_EVEN else "AP_TRN"
        o = "AP_SAT" if saturate else "AP_WRAP"
        return f"{base}<{self.bits},{self.bits - self.frac},{q},{o}>"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> IntFormat:
        return cls(bits=int(d["bits"]), signed=bool(d["signed"]), frac=int(d["frac"]),
                   narrow=bool(d.get("narrow", False)))


# ---- formats and constants of the flow -------------------------------------------------------------------
ACT_BITS = 8                     # activations between kernels
WEIGHT_BITS_CHOICES = (8, 4)     # int8 default, int4 optional; narrow range (Brevitas fixed-point weights)
BIAS_BITS = 32                   # biases live on the accumulator grid (Brevitas Int32Bias)
ACC_BITS = 32                    # accumulators; spec.validate proves they cannot overflow
REQUANT_ROUNDING = Rounding.HALF_EVEN  # every requantization; kernels' internal divisions floor

PIXEL = IntFormat(8, signed=False, frac=8)          # input pixels: uint8, value p/256 in [0, 1)
PROB = IntFormat(8, signed=False, frac=8)           # softmax probabilities: uint8, 255 means 255/256

# Base-2 softmax (I-ViT "shiftmax" style): p_i = 2**(z_i - max z) / sum_j 2**(z_j - max z).
SOFTMAX_EXP_IN_FRAC = 4          # (z - max) is floored onto a 2**-4 grid before the exponent
SOFTMAX_EXP_LUT_FRAC = 15        # 2**(r/16) table entries carry 15 fractional bits (values < 2**16)
SOFTMAX_RECIP_BITS = 32          # 1/sum is taken as floor(2**32 / sum)
SOFTMAX_MIN_SHIFT = SOFTMAX_EXP_LUT_FRAC + 1  # below 2**-16 every exponent is 0: clamp there

LAYERNORM_MAX_FRAC = ACT_BITS - 1  # normalized outputs are int8; see layernorm_out_frac


def exp2_lut() -> np.ndarray:
    """lut[r] = round(2**(r / 2**E) * 2**P), r in [0, 2**E): the fractional part of the base-2 exponent."""
    r = np.arange(1 << SOFTMAX_EXP_IN_FRAC, dtype=np.float64)
    return np.round(np.exp2(r / (1 << SOFTMAX_EXP_IN_FRAC) + SOFTMAX_EXP_LUT_FRAC)).astype(np.int64)


def gelu_lut(fmt: IntFormat) -> np.ndarray:
    """GELU of every value of `fmt`, on the same grid, rounded half to even and saturated.

    Index i holds GELU((fmt.min + i) * 2**-frac); the result has the input's format (GELU(x) <= max(x, 0)).
    """
    x = np.arange(fmt.min, fmt.max + 1, dtype=np.float64) * fmt.scale
    erf = np.vectorize(math.erf)
    y = 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    return np.clip(np.round(y * 2.0**fmt.frac), fmt.min, fmt.max).astype(np.int64)


def layernorm_out_frac(dim: int) -> int:
    """Fractional bits of the normalized LayerNorm output: the largest that cannot overflow int8.

    |(x_i - mean) / std| <= sqrt(dim - 1) for any input, so frac = 7 - ceil(log2(sqrt(dim - 1))).
    """
    if dim < 2:
        raise ValueError("LayerNorm needs at least 2 features")
    return LAYERNORM_MAX_FRAC - math.ceil(math.log2(math.sqrt(dim - 1)))


def attention_score_shift(head_dim: int) -> int:
    """1/sqrt(head_dim) as a power of two: exact for head_dim = 4, 16, 64; nearest otherwise."""
    return round(math.log2(head_dim) / 2)


def log2_exact(n: int, what: str) -> int:
    """log2 of a power of two, or a ValueError naming `what`."""
    if n < 1 or n & (n - 1):
        raise ValueError(f"{what} must be a power of two, got {n}")
    return n.bit_length() - 1


def frac_from_scale(scale: float, what: str) -> int:
    """The fractional bits of a power-of-two scale; a ValueError if the scale is not one."""
    scale = float(scale)
    if not scale > 0:
        raise ValueError(f"{what}: scale {scale} is not positive")
    m, e = math.frexp(scale)
    if m != 0.5:
        raise ValueError(f"{what}: scale {scale} is not a power of two")
    return -(e - 1)


def accumulator_bits(max_abs_in: int, weight_abs_row_sums: np.ndarray, bias_abs: np.ndarray) -> int:
    """Bits a signed accumulator needs for sum_k x_k w_k + b with |x_k| <= max_abs_in: a worst-case bound."""
    bound = int(max_abs_in) * int(np.max(weight_abs_row_sums, initial=0)) + int(np.max(bias_abs, initial=0))
    return bound.bit_length() + 1
