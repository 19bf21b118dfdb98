"""Architecture configurations: one frozen dataclass, defaults per arch sized for a small FPGA (<= 50k params)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

ARCHS = ("vit", "mobilevit", "swin")


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "vit"
    in_chans: int = 1          # from the data set
    img_size: int = 8          # square images, from the data set
    num_classes: int = 10
    patch: int = 2             # vit/swin: patch embedding kernel = stride; mobilevit: unfold patch
    dim: int = 48              # token width
    depth: int = 2             # transformer blocks
    heads: int = 3             # head_dim = dim / heads; 16 makes 1/sqrt(head_dim) an exact shift
    mlp_dim: int = 96
    window: int = 2            # swin: window side in tokens (shift = window // 2 on odd blocks)
    channels: tuple[int, ...] = (16, 32, 24, 64)  # mobilevit: stem, expand, block, final conv
    weight_bits: int = 8       # 8 or 4

    def to_json(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_json(cls, d: dict) -> ModelConfig:
        d = dict(d)
        d["channels"] = tuple(d.get("channels", cls.channels))
        return cls(**d)


DEFAULTS = {
    "vit": ModelConfig(arch="vit", dim=48, depth=2, heads=3, mlp_dim=96),
    "mobilevit": ModelConfig(arch="mobilevit", dim=32, depth=2, heads=2, mlp_dim=64),
    "swin": ModelConfig(arch="swin", dim=32, depth=4, heads=2, mlp_dim=64, window=2),
}


def default_config(arch: str, **overrides) -> ModelConfig:
    if arch not in DEFAULTS:
        raise ValueError(f"unknown arch '{arch}' (choose from {', '.join(ARCHS)})")
    return replace(DEFAULTS[arch], **overrides)
