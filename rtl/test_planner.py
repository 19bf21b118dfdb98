"""The planner on models a user brings (untrained, the shapes of issue 22): the fastest plan that fits the
xc7z020 with FIT's margins, never faster than the kernels without an engine, and a one-line refusal of a model
that fits no plan. The estimates it steers by (rtl/cost.py) against Yosys' counts of the shipped tops."""

from dataclasses import replace

import pytest

from vitflow.host.backends import ModelPaths
from vitflow.host.test_own_model import untrained_model_file
from vitflow.quant.model_file import IntModel
from vitflow.rtl import cost
from vitflow.rtl.passes import build
from vitflow.rtl.plan import FIT, TOP_DSP, XC7Z020, Plan
from vitflow.rtl.planner import (
    ESTIMATE_ERROR,
    NoFit,
    capacity,
    fixed_cycles,
    over_fit,
    plan_dsp,
    top_plan,
    yosys_checked,
)

VIT_DIM64 = {"arch": "vit", "img_size": 8, "patch": 2, "dim": 64, "heads": 4, "depth": 2, "mlp_dim": 128}
VIT_PATCH1 = {"arch": "vit", "img_size": 8, "patch": 1, "dim": 16, "heads": 2, "depth": 2, "mlp_dim": 32}
VIT_HUGE = {"arch": "vit", "img_size": 8, "patch": 1, "dim": 256, "heads": 4, "depth": 8, "mlp_dim": 1024}
# Yosys (synth_xilinx xc7) of the shipped tops at the plans of commit 7b03efd: vit 1,792, mobilevit 2,048 and
# swin 1,904 cycles per image (make sim)
YOSYS = {("vit", 1792): {"LUT": 37529, "FF": 73000}, ("mobilevit", 2048): {"LUT": 37281, "FF": 83107},
         ("swin", 1904): {"LUT": 48493, "FF": 93014}}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planner")
    out = {}
    for name, shape in (("dim64", VIT_DIM64), ("patch1", VIT_PATCH1), ("huge", VIT_HUGE)):
        untrained_model_file(shape, folder / f"{name}.npz")
        out[name] = IntModel.load(folder / f"{name}.npz")
    return out


def test_a_wide_model_is_slowed_down_to_fit(models):
    m = models["dim64"]
    plan = top_plan(m)
    assert plan_dsp(m, Plan(cycles_per_image=2000)) > TOP_DSP  # the old default budget does not fit
    assert plan_dsp(m, plan) <= TOP_DSP and plan.cycles_per_image > 2000


def test_no_engine_faster_than_the_attention(models):
    m = models["patch1"]  # 64 tokens: the attention takes thousands of cycles per image
    plan = top_plan(m)
    assert plan.cycles_per_image == fixed_cycles(m) > 4000
    assert plan_dsp(m, plan) <= 139 // 3  # the engines once sized for 832 cycles took 139


def test_a_model_that_fits_nothing_is_refused_in_one_line(models):
    with pytest.raises(NoFit) as e:
        top_plan(models["huge"])
    assert "\n" not in str(e.value) and "the smallest device that holds it: xcvu9p" in str(e.value)


def test_capacity_is_the_device_with_its_margins():
    caps = capacity(Plan(dsp=TOP_DSP))
    assert caps == {"DSP": TOP_DSP, **{k: FIT[k] * XC7Z020[k] / ESTIMATE_ERROR for k in ("LUT", "FF")}}


@pytest.mark.parametrize("arch, cycles", list(YOSYS))
def test_estimates_within_ten_percent_of_yosys(arch, cycles, tmp_path):
    from vitflow.rtl.top import write_top

    m = IntModel.load(ModelPaths.resolve(arch, None).model_file)
    _, instances = write_top(m, tmp_path, Plan(cycles_per_image=cycles))
    est = cost.total(instances)
    for k, counted in YOSYS[(arch, cycles)].items():
        assert abs(est[k] / counted - 1) <= 0.10, (k, est[k], counted)


def test_vitflow_sim_refuses_it_before_any_generation(models, tmp_path, capsys):
    from vitflow.host.cli import main

    models["huge"].save(tmp_path / "huge.npz")
    code = main(["sim", "--model", str(tmp_path / "huge.npz"), "--build-dir", str(tmp_path / "sim")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err and "no plan fits the xc7z020" in err
    assert not (tmp_path / "sim").exists() or not any((tmp_path / "sim").rglob("*.v"))


def _count(m, tmp_path, lut_factor: float):
    """A stand-in for Yosys: the estimates, LUTs scaled by lut_factor (an estimate that falls short)."""
    def count(plan):
        est = cost.total(build(m, plan, tmp_path).report())
        return {"LUT": lut_factor * est["LUT"], "FF": est["FF"], "DSP": plan_dsp(m, plan), "BRAM36": 0}
    return count


def test_a_top_yosys_counts_over_the_margins_is_refitted_slower(models, tmp_path):
    m, plan = models["dim64"], top_plan(models["dim64"])
    est = cost.total(build(m, plan, tmp_path).report())
    factor = 1.25 * FIT["LUT"] * XC7Z020["LUT"] / est["LUT"]  # Yosys 25% over the LUT margin at the fitted plan
    count = _count(m, tmp_path, factor)
    lines = []
    checked = yosys_checked(m, plan, count, log=lines.append)
    assert checked.cycles_per_image > plan.cycles_per_image and checked.dsp == plan.dsp
    assert not over_fit(count(replace(checked, dsp=None)), "xc7z020")
    assert lines and "LUT" in lines[0] and "\n" not in lines[0]
    assert yosys_checked(m, plan, _count(m, tmp_path, 1.0), log=lines.append) == plan  # within: unchanged


def test_a_top_yosys_never_fits_is_refused_in_one_line(models, tmp_path):
    m = models["dim64"]
    with pytest.raises(NoFit) as e:
        yosys_checked(m, top_plan(m), lambda plan: {"LUT": 10**9, "FF": 0, "DSP": 0, "BRAM36": 0}, log=print)
    assert "\n" not in str(e.value) and "LUT" in str(e.value)
