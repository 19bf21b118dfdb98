"""The RTL kernel instances that rtl_tests checks one by one and `vitflow sim --kernel` measures: each a layer of a
shipped model, with the parameters the shipped top gives it (its lanes pinned where the test says)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..quant.model_file import IntModel
from .gen import image_tokens_params, kernel_params
from .planner import top_plan


@dataclass(frozen=True)
class KernelCase:
    """One RTL kernel instance checked by rtl_tests and measured by `vitflow sim`: a layer of a shipped model."""

    module: str
    arch: str
    layer: str
    lanes: int = 0  # linear only: parallel MAC lanes
    simd: int = 0   # linear only: input elements per lane per cycle (with lanes; 0: 1)

    def params(self, m: IntModel, rom_dir: Path) -> dict:
        if self.module == "image_tokens":  # the pixel input of a conv-first model, not an op
            return image_tokens_params(m)
        op = next(o for o in m.ops if o.name == self.layer)
        plan = replace(top_plan(m), lanes={op.name: self.lanes} if self.lanes else {},
                       simd={op.name: self.simd} if self.simd else {})
        return kernel_params(m, op, plan, rom_dir)


CASES = {c.module: c for c in (KernelCase("linear", "vit", "blocks.0.mlp.fc1", lanes=16),
                               KernelCase("patch_embed", "vit", "patch_embed", lanes=8),
                               KernelCase("gelu", "vit", "blocks.0.mlp.gelu"),
                               KernelCase("residual_add", "vit", "blocks.0.add1"),
                               KernelCase("pool", "vit", "pool"),
                               KernelCase("layernorm", "vit", "blocks.0.ln1"),
                               KernelCase("attention", "vit", "blocks.0.attn.core"),
                               KernelCase("reorder", "swin", "blocks.1.partition"),  # shifted windows
                               KernelCase("concat", "mobilevit", "concat"),
                               KernelCase("conv", "mobilevit", "fuse"),  # 3x3 over 48 channels: SIMD > 1
                               KernelCase("image_tokens", "mobilevit", "image"))}
