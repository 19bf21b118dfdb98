"""`verilator --lint-only -Wall`: every kernel with the parameters of every distinct instance of each
architecture's top (and of a top with copies) and of its testbench case, and the generated tops themselves: 0
warnings (exceptions are `lint_off` lines with a reason)."""

import pytest

from vitflow.host.backends import ModelPaths
from vitflow.model.config import ARCHS
from vitflow.quant.model_file import IntModel
from vitflow.rtl.cases import CASES
from vitflow.rtl.lint import lint
from vitflow.rtl.plan import Plan
from vitflow.rtl.top import write_top


# the copies top (~40 s of lint) under the slow marker; its deal and gather run in make test (rtl_tests/axis_deal)
@pytest.fixture(scope="module", params=[*ARCHS, pytest.param("vit-copies", marks=pytest.mark.slow)])
def top(request, tmp_path_factory):
    """Each architecture's top, and vit's at the least budget `make scale` builds (kernels in copies)."""
    arch, _, copies = request.param.partition("-")
    m = IntModel.load(ModelPaths.resolve(arch, None).model_file)
    plan = Plan(cycles_per_image=176, max_copies=16) if copies else None
    return write_top(m, tmp_path_factory.mktemp("top"), plan)


def test_top_instances_lint_clean(top):
    _, instances = top
    # distinct up to ROM file names (string parameters): the contents do not change what lint sees
    distinct = {(i["module"], str(sorted((k, v) for k, v in i["params"].items() if not isinstance(v, str)))): i
                for i in instances.values()}
    warnings = {m: w for (m, _), i in distinct.items() if (w := lint(i["module"], i["params"]))}
    assert not warnings, "\n".join(f"{m}: {len(w)} warnings, first: {w[0]}" for m, w in warnings.items())


def test_generated_top_lint_clean(top):
    path, _ = top
    w = lint("vit_accel", None, [path])
    assert not w, f"{len(w)} warnings, first: {w[:3]}"


@pytest.mark.parametrize("module", sorted(CASES))
def test_testbench_cases_lint_clean(module, tmp_path):
    case = CASES[module]
    m = IntModel.load(ModelPaths.resolve(case.arch, None).model_file)
    assert lint(module, case.params(m, tmp_path)) == []
