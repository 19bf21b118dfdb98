"""vitflow's integer kernels as hls4ml custom layers (Extension API): one generic layer class, one config
template and one function-call template serve every kernel; the C++ lives in hls/nnet_utils/vitflow_*.h.

A kernel layer carries: the C++ function name, its compile-time constants (from the model file and
quant.spec), its lookup tables (written by hls4ml as weight arrays) and its output shape. The output
precision comes from the HLS config like any stock layer's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hls4ml.backends import get_backend
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.model.layers import Layer, register_layer
from hls4ml.model.optimizer.optimizer import optimizer_map
from hls4ml.model.types import IntegerPrecisionType

SOURCES = Path(__file__).resolve().parent / "nnet_utils"
BACKENDS = ("Vitis", "Vivado")


class VitflowKernel(Layer):
    """A vitflow integer kernel: attributes kernel (str), consts (dict), tables (dict), out_shape (list)."""

    def initialize(self):
        self.add_output_variable(list(self.get_attr("out_shape")))
        for role, data in self.get_attr("tables").items():
            data = np.asarray(data, np.int64)
            bits = max(2, int(np.abs(data).max(initial=0)).bit_length() + 1)
            self.add_weights_variable(name=role, var_name=f"{role}{{index}}",
                                      precision=IntegerPrecisionType(width=bits, signed=True),
                                      data=data.astype(np.float64))


def _const_line(name: str, value) -> str:
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return f"    static const bool {name} = {'true' if value else 'false'};"
    value = int(value)
    ctype = "int" if -(2**31) <= value < 2**31 else "long long"
    return f"    static const {ctype} {name} = {value}{'LL' if ctype != 'int' else ''};"


class VitflowConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(VitflowKernel)

    def format(self, node):
        lines = [_const_line(k, v) for k, v in node.get_attr("consts").items()]
        lines.append(f"    static const unsigned reuse_factor = {node.get_attr('reuse_factor')};")
        lines += [f"    typedef {node.get_weights(role).type.name} {role}_t;" for role in node.get_attr("tables")]
        kernel = node.get_attr("kernel")
        base = {"residual_add_const": "residual_add"}.get(kernel, kernel)
        return f"struct config{node.index} : vitflow::{base}_config {{\n" + "\n".join(lines) + "\n};\n"


class VitflowFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(VitflowKernel, include_header=[f"nnet_utils/{p.name}" for p in sorted(SOURCES.glob("*.h"))])

    def format(self, node):
        ins = [node.get_input_variable(i) for i in node.inputs]
        out = node.get_output_variable()
        types = ", ".join([v.type.name for v in ins] + [out.type.name, f"config{node.index}"])
        tables = [node.get_weights(r).name for r in node.get_attr("tables")]
        args = ", ".join([v.name for v in ins] + [out.name] + tables)
        return f"vitflow::{node.get_attr('kernel')}<{types}>({args});"


def register() -> None:
    """Register the layer, templates and C++ sources with hls4ml's backends; safe to call again."""
    register_layer("VitflowKernel", VitflowKernel)
    for name in BACKENDS:
        backend = get_backend(name)
        for tmpl in (VitflowConfigTemplate, VitflowFunctionTemplate):
            if f"{backend.name.lower()}:{tmpl().get_name()}" not in optimizer_map:
                backend.register_template(tmpl)
        for src in sorted(SOURCES.glob("*.h")):
            backend.register_source(src)
