"""The RTL generators without a simulator: the vit_accel netlist from the model file, its lanes plan, MAC
count, ROM files, and Yosys on the smallest kernel."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from vitflow.host.backends import ModelPaths
from vitflow.model.config import ARCHS
from vitflow.quant.model_file import IntModel
from vitflow.rtl.gen import engine_shape, hex_words, kernel_dsp, kernel_params, module_of, pack_lanes
from vitflow.rtl.plan import TOP_DSP, XC7Z020, Parallel
from vitflow.rtl.planner import fixed_cycles, top_plan
from vitflow.rtl.synth import synthesize
from vitflow.rtl.top import Plan, _wire, macs_per_image, write_top


def model(arch: str) -> IntModel:
    return IntModel.load(ModelPaths.resolve(arch, None).model_file)


@pytest.mark.parametrize("arch", ARCHS)
def test_top_instantiates_every_op(arch, tmp_path):
    m = model(arch)
    path, instances = write_top(m, tmp_path)
    text = path.read_text()
    for op in m.ops:
        name = _wire(op.name)
        assert f" {name} (" in text and instances[name]["module"] == module_of(m, op)
    # every ROM file the netlist reads was written (string parameters in quotes are file names)
    roms = [v.strip('"') for i in instances.values() for v in i["params"].values()
            if isinstance(v, str) and v.startswith('"')]
    assert roms and all(Path(rom).is_file() for rom in roms)
    assert instances["ctrl"]["params"]["MODEL_ID"] == f"32'h{m.identity():08x}"
    plan, engines = top_plan(m), 0
    assert plan.cycles_per_image >= fixed_cycles(m)  # no engine faster than the kernels without one
    dsp = sum(kernel_dsp(m, op) for op in m.ops)
    for inst in instances.values():  # every MAC engine meets the top plan's cycle budget; its DSPs fit
        p = inst["params"]
        if inst["module"] not in ("linear", "conv", "patch_embed"):
            continue
        engine = engine_shape(m, next(o for o in m.ops if o.name == inst["layer"]))
        par = Parallel(p["LANES"], p.get("SIMD", 1))
        assert par.cycles_per_token(engine.n_in, engine.n_out) * engine.tokens <= plan.cycles_per_image
        dsp += par.dsp(engine, plan.packing)
        engines += 1
    assert engines and dsp <= TOP_DSP <= 0.95 * XC7Z020["DSP"]


def test_macs_per_image():
    # vit: 16 tokens, patch 2x2 -> 48, two blocks of q,k,v,proj 48x48 + MLP 48->96->48, attention 2*N*N*D, head
    per_block = 16 * (4 * 48 * 48 + 2 * 48 * 96) + 2 * 16 * 16 * 48
    assert macs_per_image(model("vit")) == 16 * 4 * 48 + 2 * per_block + 48 * 10


def test_op_without_rtl_kernel_is_named(tmp_path):
    m = model("vit")
    gelu = next(op for op in m.ops if op.op == "gelu")
    with pytest.raises(ValueError, match=f"{gelu.name}: no RTL kernel for op 'softsign'"):
        kernel_params(m, dataclasses.replace(gelu, op="softsign"), Plan(), tmp_path)


def test_macs_per_image_counts_convolutions():
    # mobilevit: per conv, output pixels x weights (stem 3x3 1->16 on 8x8, expand 1x1 16->32 on 8x8, dw 3x3
    # depthwise 32 stride 2 -> 4x4, project 32->24, local 3x3 24->24, to_tokens 24->32, from_tokens 32->24,
    # fuse 3x3 48->24, final 24->64); two blocks of 16 tokens (q, k, v, proj 32x32, MLP 32->64->32) with
    # attention over 4 windows of 4 tokens (2 * 16 queries * 4 keys * 32); head 64->10
    convs = 64 * (16 * 9 + 32 * 16) + 16 * (32 * 9 + 24 * 32 + 24 * 24 * 9 + 32 * 24 + 24 * 32 + 24 * 48 * 9
                                             + 64 * 24)
    blocks = 2 * (16 * (4 * 32 * 32 + 2 * 32 * 64) + 2 * 16 * 4 * 32)
    assert macs_per_image(model("mobilevit")) == convs + blocks + 64 * 10


def test_rom_words():
    assert hex_words(np.array([-1, 5]), 8) == ["ff", "05"]
    assert pack_lanes(np.array([[1, -2]]), 8) == ["fe01"]


def test_yosys_counts_a_kernel():
    r = synthesize("requant", {"IN_BITS": 19, "OUT_BITS": 8, "SHIFT": 9, "OUT_MIN": -128, "OUT_MAX": 127})
    assert 0 < r["LUT"] < 100 and r["DSP"] == 0


@pytest.mark.parametrize("arch", ARCHS)
def test_copies_meet_a_budget_below_one_instance(arch, tmp_path):
    """A budget under what one attention / layernorm / engine instance does: those kernels come in copies
    (dealt an image each, gathered in order), every kernel's share within the budget."""
    from vitflow.rtl.gen import kernel_cycles
    from vitflow.rtl.plan import copy_counts, gather_levels

    m = model(arch)
    plan = Plan(cycles_per_image=400, max_copies=16)
    _, instances = write_top(m, tmp_path, plan)
    ops = {op.name: op for op in m.ops}
    copied = {i["layer"]: i for i in instances.values() if i.get("copies", 1) > 1}
    assert copied and any(i["module"] == "attention" for i in copied.values())
    assert instances["ctrl"]["params"]["IMAGE_BYTES"] == np.prod(m.input_shape)
    for layer, inst in copied.items():
        k = inst["copies"]
        name = _wire(layer)
        assert [f"{name}_copy{c}" in instances for c in range(k + 1)] == [True] * k + [False]
        ways, groups = gather_levels(k)  # one gather, or `groups` of `ways` ways and one joining them
        firsts = [f"{name}_gather{g}" for g in range(groups)] if groups > 1 else [f"{name}_gather"]
        assert [instances[g]["params"]["WAYS"] for g in firsts] == [ways] * groups
        assert instances[f"{name}_gather"]["params"]["WAYS"] == (groups if groups > 1 else k)
        assert kernel_cycles(m, ops[layer], inst["params"]) <= k * plan.cycles_per_image
        fewer = max(c for c in copy_counts(plan.max_copies) if c < k)  # the fewest that gathers can join
        assert kernel_cycles(m, ops[layer], inst["params"]) > fewer * plan.cycles_per_image
    for op in m.ops:  # a single instance within the budget too, where the kernel would allow a copy
        name = _wire(op.name)
        if name in instances and instances[name]["module"] == module_of(m, op):
            assert kernel_cycles(m, op, instances[name]["params"]) <= plan.cycles_per_image or \
                op.op == "patch_embed"
    with pytest.raises(ValueError, match="dsp=None"):
        top_plan(m, Plan(dsp=220, max_copies=2))


def test_copies_are_joined_by_gathers_of_at_most_gather_ways():
    """Copy counts: one gather up to GATHER_WAYS; above, two levels (ways x groups, each <= GATHER_WAYS); a count
    with no such split (a prime above GATHER_WAYS) is never planned, the next one that has is."""
    from vitflow.rtl.plan import GATHER_WAYS, copy_counts, fewest_copies, gather_levels

    for k in range(1, GATHER_WAYS ** 2 + 2):
        levels = gather_levels(k)
        if k <= GATHER_WAYS:
            assert levels == (k, 1)
        elif levels is not None:
            ways, groups = levels
            assert ways * groups == k and max(ways, groups) <= GATHER_WAYS
        else:
            assert all(k % w or k // w > GATHER_WAYS for w in range(2, GATHER_WAYS + 1))
    assert gather_levels(7) is None and gather_levels(9) == (3, 3)
    assert fewest_copies(7, 16) == 8 and fewest_copies(7, 7) == 6 and 7 not in copy_counts(16)


def test_default_tops_have_no_copies(tmp_path):
    _, instances = write_top(model("vit"), tmp_path)
    assert not any(i["module"] in ("axis_deal", "axis_gather") or "copies" in i for i in instances.values())


def test_yosys_counts_for_an_ultrascale_device():
    r = synthesize("requant", {"IN_BITS": 19, "OUT_BITS": 8, "SHIFT": 9, "OUT_MIN": -128, "OUT_MAX": 127}, "xcvu9p")
    assert 0 < r["LUT"] < 100 and r["fraction_of_xcvu9p"]["LUT"] < 1e-4
