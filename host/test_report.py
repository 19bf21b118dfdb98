"""`vitflow report`: REPORT.md and its plots from JSON reports in the project's own schemas (small files written
here as a testing fixture, not measurements), "not measured" lines for missing inputs, one-line errors."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vitflow.host.report as report
from vitflow.host.backends import ModelPaths
from vitflow.host.cli import main
from vitflow.quant.model_file import IntModel

VIT = ModelPaths.resolve("vit", None)


def fake_accuracy(targets, dataset, data_dir, build_dir):
    """measure_accuracy's schema, fixed numbers: the report's own measurement is tested on its own below."""
    models = {t.name: {"model_file": str(t.paths.model_file), "model_id": f"{t.identity:08x}", "dataset": dataset,
                       "n": 360, "float": {"backend": "torch", "n": 360, "accuracy": 0.9750},
                       "int8": {"backend": "golden", "n": 360, "accuracy": 0.9722},
                       "int4": {"not_measured": f"{build_dir}/int4/{t.arch}.npz is missing: make one with "
                                               f"`vitflow train --arch {t.arch} --weight-bits 4`"},
                       "brevitas": {"backend": "brevitas", "n": 360, "accuracy": 0.9722, "mismatches": 0}}
              for t in targets}
    return {"dataset": dataset, "made_by": "test fixture", "models": models}


def write(path, data) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return str(path)


def fake_build(root, model_id: str) -> list[str]:
    """The vit's reports of make hls / sim / timing and vitflow bench --out, small, in their real schemas."""
    sim = root / "sim" / "vit"
    frac = {"LUT": 0.5, "FF": 0.4, "DSP": 0.9, "BRAM36": 0.3}
    kernel = {"kernel": "layernorm", "layer": "blocks.0.ln1", "images": 23, "tokens": 368, "mismatches": 0,
              "cycles_with_pauses": 40000, "pause": 0.3, "first_image_cycles": 1500, "cycles_per_image": 962.4,
              "cycles_per_token": 60.15}
    top = {"kernel": "vit_accel", "layer": "whole vit", "arch": "vit", "model_id": model_id, "images": 23,
           "mismatches": 0, "pause": 0.3, "batch_sizes": [4, 8], "batch_mismatches": 0, "latency_cycles": 6663,
           "cycles_per_image": 1538.7, "macs_per_image": 642528, "mac_lanes": 456, "macs_per_cycle": 417.6,
           "mac_lane_utilization": 0.914, "resources": {"LUT": 26600, "FF": 42560, "DSP": 198, "BRAM36": 42.0,
                                                        "fraction_of_xc7z020": frac}}
    instances = {n: {"module": m, "layer": n, "fmax_mhz": f, "critical_path": None, "xc7_logic_levels": 3}
                 for n, m, f in [("head", "linear", 171.0), ("blocks_0_ln1", "layernorm", 207.2),
                                 ("blocks_0_attn_core", "attention", 186.7)]}
    bench_rows = [{"backend": "golden", "integer": True, "images": 360, "accuracy": 0.9722, "differs_from": "golden",
                   "mismatches": 0, "images_per_s": 8079.0, "latency_ms": 0.59, "rate_basis": "measured"},
                  {"backend": "torch", "integer": False, "images": 360, "accuracy": 0.975, "images_per_s": 12463.0,
                   "latency_ms": 0.67, "rate_basis": "measured"}]
    return [
        write(root / "hls" / "report.json", {
            "kernels": [{"arch": "vit", "name": "blocks.0.ln1", "kernel": "layernorm", "n_checked": 1004,
                         "mismatches": 0, "rebuilt": False, "seconds": 0.5}],
            "models": [{"arch": "vit", "n": 360, "accuracy": 0.9722, "mismatches": 0, "rebuilt": False,
                        "seconds": 3.0, "project": "build/hls/vit/model"}],
            "synthesis": {"vit": {"skipped": "vitis_hls not on PATH"}}}),
        write(root / "sim" / "report.json", {"testbench_exit_code": 0, "kernels": [kernel], "tops": {"vit": top}}),
        write(sim / "report.json", top),
        write(sim / "resources.json", {"device": "xc7z020 (PYNQ-Z2)", "capacity": {}, "tool": "Yosys",
                                       "vit_accel": top["resources"], "modules": {}, "instances": {}}),
        write(sim / "timing.json", {"device": {"family": "ECP5"}, "tool": "nextpnr", "target_mhz": 150.0,
                                    "top": {"clock_mhz": 171.0, "slowest_instance": "head",
                                            "instances_below_target": [], "xc7z020_clock_mhz": None,
                                            "cycles_per_image": 1538.7, "images_per_s": 111131,
                                            "cycles_from": str(sim / "report.json")},
                                    "instances": instances, "slowest": {}}),
        write(root / "bench" / "vit.json", {"arch": "vit", "dataset": "digits", "images": 360, "rounds": 5,
                                            "latency_images": 20, "backends": bench_rows, "skipped": []}),
    ]


def fake_scale(root, model_id: str) -> str:
    """A report of `vitflow scale` (host/scale.py's schema)."""
    frac = {"LUT": 0.3255, "FF": 0.3185, "DSP": 0.3494, "BRAM36": 0.2405}
    return write(root / "scale" / "vit-176-xcvu9p" / "report.json", {
        "arch": "vit", "model_id": model_id, "budget": 176, "device": "xcvu9p", "max_copies": 16,
        "plan": {"cycles_per_image_estimate": 176, "slowest_kernel": "patch_embed", "lanes": {},
                 "copies": {"blocks.0.attn.core": 7}},
        "resources": {"LUT": 384845, "FF": 753100, "DSP": 2390, "BRAM36": 519.5, "LUTRAM": 1179,
                      "fraction_of_xcvu9p": frac}, "fits_xcvu9p": True,
        "sim": {"images": 23, "mismatches": 0, "pause": 0.3, "cycles_per_image": 181.5, "latency_cycles": 9000},
        "timing": {"fmax_mhz": 175.3, "slowest_instance": "patch_embed", "target_mhz": 150.0, "device": "ECP5"},
        "images_per_s": 965840, "images_per_s_cycles": "simulation"})


@pytest.fixture
def fixed_accuracy(monkeypatch):
    monkeypatch.setattr(report, "measure_accuracy", fake_accuracy)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_names_every_source_and_draws_its_plots(capsys, tmp_path, fixed_accuracy):
    identity = IntModel.load(VIT.model_file).identity()
    sources = fake_build(tmp_path / "build", f"{identity:08x}")
    scale = fake_scale(tmp_path / "build", f"{identity:08x}")
    out = tmp_path / "report"
    code, stdout, _ = run(capsys, "report", "--arch", "vit", "--build-dir", str(tmp_path / "build"),
                          "--out", str(out), "--json")
    summary = json.loads(stdout)
    md = (out / "REPORT.md").read_text()
    assert code == 0 and summary["report"] == str(out / "REPORT.md")
    for path in sources + [str(out / "accuracy.json")]:
        assert path in md and summary["sources"][path] == "read", path
    for cmd in ("make hls", "make sim", "make timing", "vitflow bench --arch vit --out build/bench/vit.json"):
        assert f"`{cmd}`" in md
    # numbers read from those files, as written there
    for number in ("97.50%", "97.22%", "1,538.7", "111,131", "171.0", "26,600 (50%)", "8,079", "1,004"):
        assert number in md, number
    for number in ("384,845 LUT (33%)", "2,390 DSP (35%)", "0 / 23", "181.5", "175.3 (patch_embed)", "965,840"):
        assert number in md, number  # the scale report's row
    assert scale in md and "`make scale`" in md
    assert summary["models"]["vit"]["images_per_s"] == 111131 and summary["stale"] == []
    assert all(r["mismatches"] == 0 for r in summary["models"]["vit"]["ladder"])
    names = {p.split("/")[-1] for p in summary["plots"]}
    assert names == {"accuracy.png", "ladder.png", "images_per_s.png", "fmax_vit.png", "cycles.png",
                     "resources.png", "host_throughput.png"}
    for p in summary["plots"]:
        with Image.open(p) as im:
            im.verify()
        with Image.open(p) as im:
            assert im.format == "PNG" and im.width >= 500 and im.height >= 300
        assert f"]({p.split('/')[-1]})" in md
    for work in report.load_published():  # the published figures, each with its source
        assert work["name"] in md and work["url"] in md
    assert "int4 weights (golden): " in md and "not measured" in md  # the fixture's missing int4 model
    assert not list(out.glob(".*.tmp"))  # written atomically: no temporary file left


def test_missing_inputs_are_not_measured_lines_and_exit_0(capsys, tmp_path, fixed_accuracy):
    out = tmp_path / "report"
    code, stdout, _ = run(capsys, "report", "--arch", "vit", "--build-dir", str(tmp_path / "empty"),
                          "--out", str(out))
    md = (out / "REPORT.md").read_text()
    assert code == 0 and stdout.startswith(f"wrote {out / 'REPORT.md'}")
    summary = json.loads((out / "summary.json").read_text())
    for cmd in ("make hls", "make sim", "make timing", "vitflow bench --arch vit --out build/bench/vit.json",
                "make scale"):
        assert any(f"make it with `{cmd}`" in line for line in summary["not_measured"]), cmd
        assert f"make it with `{cmd}`" in md
    assert md.count("- not measured: ") == len(summary["not_measured"])
    assert {p.split("/")[-1] for p in summary["plots"]} == {"accuracy.png", "ladder.png"}


def test_stale_reports_are_flagged(capsys, tmp_path, fixed_accuracy):
    fake_build(tmp_path / "build", "0badc0de")  # a sim report of another model
    code, _, _ = run(capsys, "report", "--arch", "vit", "--build-dir", str(tmp_path / "build"),
                     "--out", str(tmp_path / "report"))
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert code == 0 and any("made for model 0badc0de" in s for s in summary["stale"])


@pytest.mark.parametrize("argv,match", [(["--model", "none.npz"], "not found"),
                                        (["--model", "model.txt"], "expected a model file"),
                                        (["--model", "garbage.npz"], "not a readable vitflow model file"),
                                        (["--model", "garbage.npz", "--arch", "swin"], "omit --arch")])
def test_bad_model_is_one_line_exit_2(capsys, tmp_path, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.npz").write_bytes(b"garbage")
    code, _, err = run(capsys, "report", *argv, "--out", str(tmp_path / "report"))
    assert code == 2 and err.count("\n") == 1 and match in err and "Traceback" not in err
    assert not (tmp_path / "report").exists()


def test_measure_accuracy_runs_eval_and_says_what_it_cannot_run(tmp_path, monkeypatch):
    """The real measurement (golden on the digits split; torch and Brevitas reported as missing here, so the
    test needs no torch) and an int4 model that is not there."""
    monkeypatch.setattr(report, "missing", lambda b: None if b == "golden" else f"backend {b} needs torch")
    [t] = report.targets_for("vit", None)
    acc = report.measure_accuracy([t], "digits", None, tmp_path)["models"]["vit"]
    meta = IntModel.load(VIT.model_file).meta
    assert acc["n"] == 360 and acc["int8"]["accuracy"] == pytest.approx(meta["golden_accuracy"])
    assert acc["float"] == {"not_measured": "backend torch needs torch"}
    assert "brevitas" in acc["brevitas"]["not_measured"] and "--weight-bits 4" in acc["int4"]["not_measured"]


def test_bench_out_writes_what_it_prints(capsys, tmp_path):
    out = tmp_path / "bench" / "vit.json"
    code, stdout, _ = run(capsys, "bench", "--backends", "golden", "--images", "16", "--repeat", "1",
                          "--latency-images", "1", "--json", "--out", str(out))
    assert code == 0 and json.loads(out.read_text()) == json.loads(stdout)


def test_clock_prefers_timing_and_names_both_sources_otherwise():
    timing = report.Source("t.json", "make timing", {"target_mhz": 150.0, "top": {
        "clock_mhz": 200.0, "slowest_instance": "x", "instances_below_target": [], "cycles_per_image": 2000.0,
        "images_per_s": 100000}})
    same = report.clock({"timing": timing, "sim": report.Source("s.json", "make sim", {"cycles_per_image": 2000.0})})
    newer = report.clock({"timing": timing, "sim": report.Source("s.json", "make sim", {"cycles_per_image": 1000.0})})
    assert same["images_per_s"] == 100000 and same["note"] is None
    assert newer["images_per_s"] == round(200.0 * 1e6 / 1000.0) and "`s.json`" in newer["note"]
    assert np.isclose(newer["cycles_per_image"], 1000.0)


def test_sweep_section_has_a_row_per_trial_its_command_and_its_plots(tmp_path):
    from vitflow.host.test_sweep import record

    trials = [record(8, 32, 30000, 120, 0.97, 1800, 170.0), record(4, 16, 12000, 40, 0.9, 1900, 180.0)]
    for t in trials:
        t["timing"]["slowest_instance"] = "head"
        t["sim"] = {"images": 5, "mismatches": 0, "cycles_per_image": t["plan"]["cycles_per_image_estimate"]}
    path = write(tmp_path / "build" / "sweep" / "grid" / "sweep.json", {
        "name": "grid", "axes": {"weight_bits": [8, 4], "dim": [32, 16]}, "runner": "local (1 worker)",
        "hardware": {"synth": True, "sim_images": 2, "timing": True}, "seconds": 12.5, "refused": [], "failed": [],
        "trials": trials})
    doc = report.Doc(tmp_path / "out")
    report.sweep_section(doc, [report.read_source(Path(path), "make sweep")])
    md = "\n".join(doc.lines)
    assert "`vitflow sweep --name grid --weight-bits 8,4 --dim 32,16 --sim 2 --timing`" in md and path in md
    for number in ("97.00%", "30,000", "0 / 5", "1,800", "170.0 (head)", "94,444", "180.0 (head)"):
        assert number in md, number
    assert {Path(p).name for p in doc.summary["plots"]} == {"accuracy_vs_lut.png", "accuracy_vs_dsp.png",
                                                            "images_per_s_vs_lut.png"}
    assert all(Path(p).is_file() and f"](sweep-grid/{Path(p).name})" in md for p in doc.summary["plots"])
    empty = report.Doc(tmp_path / "none")
    report.sweep_section(empty, [])
    assert "`make sweep`" in empty.summary["not_measured"][0]
