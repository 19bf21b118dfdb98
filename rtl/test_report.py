"""`vitflow sim`'s collection (rtl/report.py): a run for one model touches only that model's folder, and two
runs at once each read their own testbench results."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

from vitflow.host.backends import ModelPaths
from vitflow.quant.model_file import IntModel
from vitflow.rtl import report
from vitflow.rtl.planner import top_plan


def test_two_models_at_once_keep_to_their_own_folders(tmp_path, monkeypatch):
    barrier = threading.Barrier(2)

    def testbenches(results: Path, model_files: dict, full: bool, kernels: bool = True, cycles=None) -> int:
        barrier.wait()  # both runs' testbenches "running" at the same time
        name, = model_files
        (results / f"{name}-only.json").write_text(json.dumps({"kernel": "k", "layer": name}))
        barrier.wait()
        return 0

    monkeypatch.setattr(report, "run_testbenches", testbenches)
    reports = {}

    def one(arch):
        reports[arch] = report.run({arch: ModelPaths.resolve(arch, None).model_file}, tmp_path, synth=False,
                                   kernels=False, log=lambda _: None)

    threads = [threading.Thread(target=one, args=(a,)) for a in ("vit", "swin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for arch in ("vit", "swin"):
        assert [k["layer"] for k in reports[arch]["kernels"]] == [arch]  # its own results only
        assert (tmp_path / arch / "report.json").is_file()
    assert not (tmp_path / "report.json").exists()  # the whole run's report is `vitflow sim` without --model
    assert not list(tmp_path.glob("results*"))


def test_a_plan_yosys_refits_is_the_plan_the_testbenches_run(tmp_path, monkeypatch):
    """The Yosys check (planner.yosys_checked) makes the vit's plan slower: the top testbench gets that budget
    for that model file (VITFLOW_TOP_CYCLES), and the counted top is the one written."""
    seen = {}

    def testbenches(results: Path, model_files: dict, full: bool, kernels: bool = True, cycles=None) -> int:
        seen.update(cycles or {})
        return 0

    def slower(m, plan, count, log=print):
        log("refitting")
        return replace(plan, cycles_per_image=plan.cycles_per_image + 1000)

    monkeypatch.setattr(report, "run_testbenches", testbenches)
    monkeypatch.setattr(report, "yosys_checked", slower)
    monkeypatch.setattr(report, "synthesize_instances", lambda inst, cache: {"total": {}, "instances": {}})
    monkeypatch.setattr(report, "_resources", lambda synthesized, instances: None)
    lines = []
    report.run({"vit": ModelPaths.resolve("vit", None).model_file}, tmp_path, kernels=False, log=lines.append)
    default = top_plan(IntModel.load(ModelPaths.resolve("vit", None).model_file)).cycles_per_image
    assert seen == {"vit": default + 1000} and "refitting" in lines
    written = json.loads((tmp_path / "vit" / "synth" / "vit_accel.model.json").read_text())
    assert written["plan"]["cycles_per_image"] == default + 1000


def test_testbenches_get_each_models_budget_by_its_file(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(report.subprocess, "call", lambda args, env, **kw: calls.append(env) or 0)
    files = {"vit": tmp_path / "vit.npz", "swin": tmp_path / "swin.npz"}
    report.run_testbenches(tmp_path, files, False, False, {"vit": 3000})
    budgets = json.loads(calls[0]["VITFLOW_TOP_CYCLES"])  # as rtl_tests/vit_accel's run_top reads them
    assert budgets == {str(files["vit"].resolve()): 3000} and budgets.get(str(files["swin"].resolve())) is None
