"""`vitflow sim`'s collection (rtl/report.py): a run for one model touches only that model's folder, and two
runs at once each read their own testbench results."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from vitflow.host.backends import ModelPaths
from vitflow.rtl import report


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
