"""model stage: the three tiny architectures (vit, mobilevit, swin) in float and quantized (QAT) form."""

from __future__ import annotations

from .config import ARCHS, DEFAULTS, ModelConfig, default_config

__all__ = ["ARCHS", "DEFAULTS", "ModelConfig", "build_model", "default_config"]


def build_model(cfg: ModelConfig, quant: bool):
    """The network of `cfg`; `quant` selects Brevitas QAT layers and the integer kernels."""
    from .layers import QuantConfig
    from .mobilevit import MobileViT
    from .swin import Swin
    from .vit import ViT

    q = QuantConfig(enabled=quant, weight_bits=cfg.weight_bits)
    return {"vit": ViT, "mobilevit": MobileViT, "swin": Swin}[cfg.arch](cfg, q)
