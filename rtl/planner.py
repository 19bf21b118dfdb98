"""The planner: the plan a top of a model is built with. By default the fastest that fits its device with the
margins rtl/plan.py FIT leaves for the board design: the smallest cycle budget per image, no faster than the
kernels that no plan speeds up, whose DSP (plan.Parallel.dsp, gen.kernel_dsp), LUT and FF (rtl/cost.py)
estimates stay within the device; a model that fits no budget is refused in one line (NoFit)."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from ..quant.model_file import IntModel
from . import cost
from .gen import engine_shape, kernel_cycles, kernel_dsp, kernel_params
from .passes import build, wire
from .plan import DEVICES, FIT, TOP_DSP, Plan, mul_split


def fixed_cycles(m: IntModel) -> int:
    """Cycles per image of the slowest stage that no plan speeds up (one instance each): the kernels without an
    engine (attention, layernorm, the token-per-cycle ones) and the convs' gathers. A plan whose engines are
    faster than this spends DSP slices for nothing."""
    worst = 0
    with tempfile.TemporaryDirectory() as rom_dir:  # attention's and gelu's parameters write their ROMs
        for op in m.ops:
            if (engine := engine_shape(m, op)) is not None:
                worst = max(worst, engine.tokens * engine.floor)
            else:
                worst = max(worst, kernel_cycles(m, op, kernel_params(m, op, Plan(), Path(rom_dir))))
    return worst


class NoFit(ValueError):
    """No plan of the model fits the device: the one-line reason names what would fit."""


MAX_BUDGET = 1 << 24  # cycles per image: past this a plan is not worth building


def parallels(m: IntModel, plan: Plan) -> dict:
    """Each engine op's (engine shape, lanes and SIMD) under `plan`."""
    return {op.name: (e, plan.lanes_for(op, e)) for op in m.ops if (e := engine_shape(m, op)) is not None}


def plan_dsp(m: IntModel, plan: Plan, engines: dict | None = None) -> int:
    """The top's DSP estimate under `plan`: the engines' (Parallel.dsp; `engines`: parallels(), if at hand) and
    the other kernels' (kernel_dsp)."""
    engines = parallels(m, plan) if engines is None else engines
    return sum(p.dsp(e, plan.packing) for e, p in engines.values()) + sum(kernel_dsp(m, op) for op in m.ops)


def device_dsp(device: str) -> int:
    """The DSP slices a top may take on `device`: FIT's share on a board's device, every multiplier of an ECP5."""
    share = 1.0 if DEVICES[device]["family"] == "ecp5" else FIT["DSP"]
    return int(share * DEVICES[device]["DSP"])


def _smallest_device(plan: Plan, need: dict) -> str:
    """The smallest device (by DSP slices) whose capacity holds `need` (the slowest plan's estimate)."""
    fits = sorted((v["DSP"], d) for d, v in DEVICES.items()
                  if all(need[k] <= cap for k, cap in capacity(replace(plan, device=d, dsp=device_dsp(d))).items()))
    return f"the smallest device that holds it: {fits[0][1]}" if fits else "no device in rtl/plan.py DEVICES holds it"


def _engine_estimates(plan: Plan, engines: dict, reference: dict) -> dict[str, float]:
    """LUT and FF of the engines (parallels() under `plan`): cost.estimate on each engine instance's reference
    parameters with this plan's lanes, SIMD and pair packing."""
    out = {"LUT": 0.0, "FF": 0.0}
    for name, (e, p) in engines.items():
        inst = reference[wire(name)]
        params = {**inst["params"], "LANES": p.lanes, "SIMD": p.simd,
                  "MUL_SPLIT": mul_split(p.lanes, p.simd, plan.packing, e.signed, e.depthwise)}
        est = cost.estimate(inst["module"], params)
        out = {k: out[k] + est[k] for k in out}
    return out


def _reference(m: IntModel, plan: Plan) -> tuple[dict, dict]:
    """The top at the slowest budget (one lane per engine), built once: its instances, and the LUT / FF estimate
    of everything but the engines (kernels without one, slices, FIFOs, control: no budget changes them)."""
    with tempfile.TemporaryDirectory() as tmp:
        instances = build(m, replace(plan, cycles_per_image=MAX_BUDGET, dsp=None), Path(tmp)).report()
    engines = {wire(op.name) for op in m.ops if engine_shape(m, op) is not None}
    return instances, cost.total({n: i for n, i in instances.items() if n not in engines})


ECP5_FILL = 0.90  # the share of an ECP5's cells a whole top may take: no board logic beside it, room to place
# the LUT / FF estimates are within 5% of Yosys on the shipped tops (rtl/test_planner.py), some under: the planner
# keeps this much more room, so that Yosys' count stays within FIT (swin at 3,584 cycles: 80.0% estimated,
# 82.2% counted)
ESTIMATE_ERROR = 1.05


def capacity(plan: Plan) -> dict[str, float]:
    """What a top of `plan` may take by the estimate (xc7 cells): plan.dsp slices, and FIT's share of the
    device's LUTs and FFs; on an ECP5 (where the whole top is placed to measure its clock) ECP5_FILL of its
    cells, in xc7 cells (cost.ECP5_CELLS)."""
    device = DEVICES[plan.device]
    if device["family"] == "ecp5":
        return {"DSP": plan.dsp, **{k: ECP5_FILL * device[k] / cost.ECP5_CELLS[k] for k in ("LUT", "FF")}}
    return {"DSP": plan.dsp, **{k: FIT[k] * device[k] / ESTIMATE_ERROR for k in ("LUT", "FF")}}


def fit_plan(m: IntModel, plan: Plan, under: dict[str, float] | None = None) -> Plan:
    """The fastest plan that fits: `plan` with the smallest cycle budget per image, no smaller than fixed_cycles
    (what the kernels without an engine take), whose estimates stay within capacity(plan): DSP (plan_dsp), LUT
    and FF (rtl/cost.py), each divided by `under`'s factor where given (how far the estimate fell short of
    Yosys: yosys_checked). The plan unchanged when plan.dsp is None (its own budget, as given). NoFit when no
    budget fits."""
    if plan.dsp is None:
        return plan
    if plan.max_copies > 1:
        raise ValueError("a plan with copies of kernels is sized by its cycle budget alone (dsp=None)")
    caps = {k: cap / (under or {}).get(k, 1.0) for k, cap in capacity(plan).items()}
    reference, fixed = _reference(m, plan)

    def usage(budget: int) -> dict | None:
        """The estimates at this budget (None when an engine cannot meet it)."""
        trial = replace(plan, cycles_per_image=budget)
        try:
            engines = parallels(m, trial)
        except ValueError:
            return None
        cells = _engine_estimates(trial, engines, reference)
        return {"DSP": plan_dsp(m, trial, engines), **{k: fixed[k] + v for k, v in cells.items()}}

    def over(budget: int) -> list[str]:
        """The resources the estimate puts over capacity at this budget ('budget' when an engine cannot meet it)."""
        used = usage(budget)
        return ["budget"] if used is None else [k for k, cap in caps.items() if used[k] > cap]
    if slowest := over(MAX_BUDGET):  # even one lane per engine
        need = usage(MAX_BUDGET)
        raise NoFit(f"{m.arch} model: no plan fits the {plan.device} (over its {', '.join(slowest)} by the estimate, "
                    f"with one lane per engine); {_smallest_device(plan, need)}, or fewer or narrower layers")
    lo = hi = max(fixed_cycles(m), 1)
    while over(hi):
        lo, hi = hi + 1, min(2 * hi, MAX_BUDGET)
    while lo < hi:  # a larger budget never needs more of anything
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if not over(mid) else (mid + 1, hi)
    return replace(plan, cycles_per_image=hi)


def over_fit(counts: dict[str, float], device: str) -> dict[str, float]:
    """The resources whose count (Yosys') exceeds FIT's share of `device`: resource -> count / allowed."""
    return {k: counts[k] / (FIT[k] * DEVICES[device][k]) for k in FIT
            if k in counts and counts[k] > FIT[k] * DEVICES[device][k]}


def yosys_checked(m: IntModel, plan: Plan, count, tries: int = 4, log=print) -> Plan:
    """`plan` (fitted by the estimates) checked by Yosys: `count(p)` gives the counts of the top of plan `p`, a
    budget as given (rtl/synth.py synthesize_instances' total); while one exceeds FIT, the estimate's capacity
    for it shrinks by that ratio (compounded, plus a percent) and the plan is fitted again: a slower, smaller top.
    NoFit when `tries` refits do not bring it within FIT. A plan with its own budget (dsp None) is kept."""
    under: dict[str, float] = {}
    for _ in range(tries):
        over = over_fit(count(replace(plan, dsp=None)), plan.device)
        if not over or plan.dsp is None:
            return plan
        log(f"{m.arch}: Yosys counts the {plan.cycles_per_image}-cycle top over the {plan.device}'s margins ("
            + ", ".join(f"{k} {r:.0%} of its share" for k, r in over.items()) + "): refitting slower")
        for k, r in over.items():
            under[k] = under.get(k, 1.0) * r * 1.01
        plan = fit_plan(m, plan, under)
    if over := over_fit(count(replace(plan, dsp=None)), plan.device):
        raise NoFit(f"{m.arch} model: Yosys still counts {', '.join(over)} over the {plan.device}'s margins after "
                    f"{tries} refits ({plan.cycles_per_image} cycles per image); give --cycles or a smaller model")
    return plan


_FITTED: dict[tuple[int, str], Plan] = {}  # (model identity, plan) -> fitted plan: a search takes seconds


def top_plan_of(cycles: int | None) -> Plan | None:
    """The plan of `--cycles N` (a budget taken as given), or None: top_plan's fastest plan that fits."""
    return Plan(cycles_per_image=cycles) if cycles else None


def top_plan(m: IntModel, plan: Plan | None = None) -> Plan:
    """The plan a top of `m` is built with: `plan`, or by default the fastest that fits the xc7z020 with the
    margins FIT leaves (TOP_DSP slices), fitted (fit_plan; remembered for the process)."""
    plan = plan or Plan(dsp=TOP_DSP)
    key = (m.identity(), repr(plan))
    if key not in _FITTED:
        _FITTED[key] = fit_plan(m, plan)
    return replace(_FITTED[key])
