"""`vitflow sweep`: the grid and its refusals, the trial cache and resume, Ray tasks equal to the local run, the
Pareto plots; one real trial with Yosys and the simulated top under the slow marker."""

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from vitflow.host import sweep
from vitflow.host.cli import main
from vitflow.host.sweep_plots import pareto, plot_all

# the tiny grid: two models (int8, int4 weights) of dim 16, one block, 1 + 1 epochs; budget 1 cycle per image is
# a point the generator refuses (a result, not a failure)
TINY_GRID = {"weight_bits": [8, 4], "dim": [16], "depth": [1], "heads": [2], "budget": [2000, 1]}
TINY = [a for k, v in TINY_GRID.items() for a in (f"--{k.replace('_', '-')}", ",".join(map(str, v)))]
TINY += ["--epochs", "1"]


def tiny_sweep(root, name: str = "tiny", **kwargs) -> dict:
    axes, settings = sweep.grid_axes({**TINY_GRID, "epochs": 1})
    return sweep.run(name, axes, replace(settings, synth=False), root, progress=False, **kwargs)


def exit_code(argv: list[str]) -> int:
    """main's exit code; argparse's own errors exit (SystemExit) with it."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def without_seconds(report: dict) -> list[dict]:
    return [{k: v for k, v in t.items() if k != "seconds"} for t in report["trials"]]


def test_grid_is_the_product_of_the_axes_and_refuses_what_validate_refuses():
    axes, settings = sweep.grid_axes({"dim": [16, 48], "heads": [2, 3, 2], "depth": 1, "budget": [2000, 4000],
                                      "epochs": 3, "qat_epochs": 2})
    assert axes == {"dim": [16, 48], "depth": [1], "heads": [2, 3], "budget": [2000, 4000]}
    assert (settings.float_epochs, settings.qat_epochs, settings.seed) == (3, 2, None)
    points, refused = sweep.grid_points(axes)
    assert [(p["config"]["dim"], p["config"]["heads"], p["budget"]) for p in points] == \
        [(16, 2, 2000), (16, 2, 4000), (48, 3, 2000), (48, 3, 4000)]
    assert all(p["config"]["mlp_dim"] == 96 and p["config"]["arch"] == "vit" for p in points)  # the arch's default
    assert len(refused) == 4
    assert "heads 3 does not divide dim 16" in refused[0]["reason"]
    assert "head_dim = dim / heads = 48 / 2 = 24" in refused[2]["reason"]


@pytest.mark.parametrize("values, match", [({"dim": [0]}, "dim: expected a positive integer"),
                                           ({"arch": ["vit", "resnet"]}, "unknown arch 'resnet'"),
                                           ({"budget": []}, "budget: an empty list"),
                                           ({"seed": -1}, "seed: expected a non-negative integer")])
def test_bad_grid_values(values, match):
    with pytest.raises(sweep.UserError, match=match):
        sweep.grid_axes(values)


def test_grid_file(tmp_path):
    f = tmp_path / "g.toml"
    f.write_text('arch = "vit"\nweight_bits = [8, 4]\ndim = 32\nheads = 2\nbudget = [2000, 4000]\nepochs = 2\n')
    axes, settings = sweep.grid_axes(sweep.read_grid_file(f))
    assert axes == {"arch": ["vit"], "weight_bits": [8, 4], "dim": [32], "heads": [2], "budget": [2000, 4000]}
    assert settings.float_epochs == settings.qat_epochs == 2
    f.write_text("dims = [32]\n")
    with pytest.raises(sweep.UserError, match="unknown key 'dims'"):
        sweep.read_grid_file(f)


@pytest.mark.parametrize("argv, match", [
    (["--dim", "16", "--heads", "3"], "no point of the grid is a model the flow can build: heads 3 does not divide"),
    (["--dim", "0"], "dim: expected a positive integer"),
    (["--config", "missing.toml"], "sweep file missing.toml not found"),
    (["--arch", "vit,cnn"], "unknown arch 'cnn'"),
    (["--workers", "0"], "argument --workers: expected an integer >= 1, got 0"),
    (["--budget", "2k"], "expected comma-separated integers"),
])
def test_bad_input_is_one_line_before_any_work(capsys, tmp_path, argv, match):
    assert exit_code(["sweep", "--out-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_pareto_front():
    # (LUT, -accuracy): both minimized
    pts = [(100, -0.9), (200, -0.95), (150, -0.85), (300, -0.95), (50, -0.5), (100, -0.9)]
    assert pareto(pts) == [0, 1, 4, 5]  # equal points are both kept; (150, .85) and (300, .95) are dominated


def record(bits: int, dim: int, lut: int, dsp: int, acc: float, cycles: int, fmax: float | None = None) -> dict:
    """A trial record in sweep.json's schema (a fixture for the plots, not a measurement)."""
    t = {"point": {"weight_bits": bits, "dim": dim}, "config": {"arch": "vit", "weight_bits": bits, "dim": dim},
         "budget": 2000, "training": {"golden_accuracy": acc}, "plan": {"cycles_per_image_estimate": cycles},
         "resources": {"LUT": lut, "FF": 2 * lut, "DSP": dsp, "BRAM36": 4.0}}
    if fmax:
        t.update(timing={"fmax_mhz": fmax}, images_per_s=round(fmax * 1e6 / cycles),
                 images_per_s_cycles="plan estimate")
    return t


def test_plots_are_pngs(tmp_path):
    trials = [record(8, 32, 30000, 120, 0.97, 1800), record(4, 32, 25000, 100, 0.95, 1800),
              record(8, 16, 12000, 40, 0.90, 1900)]
    plots = plot_all(trials, tmp_path)
    assert set(plots) == {"accuracy_vs_lut", "accuracy_vs_dsp", "cycles_vs_lut"}  # no Fmax: cycles, said so
    timed = plot_all([record(8, 32, 30000, 120, 0.97, 1800, 170.0), record(4, 16, 12000, 40, 0.9, 1900, 180.0)],
                     tmp_path / "timed")
    assert "images_per_s_vs_lut" in timed
    for folder, names in ((tmp_path, plots.values()), (tmp_path / "timed", timed.values())):
        for name in names:
            with Image.open(folder / name) as im:
                assert im.format == "PNG" and im.size[0] > 600
    assert "skipped" in plot_all([{k: v for k, v in trials[0].items() if k != "resources"}], tmp_path / "none")


def test_sweep_caches_resumes_and_ray_equals_local(capsys, tmp_path, monkeypatch):
    """The tiny grid (4 trials, 2 models) without Yosys: the CLI's run, a re-run entirely from the cache, a
    trial that broke re-run alone, and the same grid as Ray tasks on a local Ray cluster: identical records."""
    local = tmp_path / "local"
    code = main(["sweep", *TINY, "--no-synth", "--quiet", "--name", "tiny", "--out-dir", str(local)])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads((local / "tiny" / "sweep.json").read_text())
    assert [t["point"] for t in report["trials"]] == [{"weight_bits": w, "dim": 16, "depth": 1, "heads": 2, "budget": b}
                                                      for w in (8, 4) for b in (2000, 1)]
    ok = [t for t in report["trials"] if t["budget"] == 2000]
    assert all(t["training"]["golden_vs_brevitas_mismatches"] == 0 and t["training"]["n_test"] == 360 for t in ok)
    assert all(t["plan"]["cycles_per_image_estimate"] <= 2000 and "resources" not in t for t in ok)
    refused = [t for t in report["trials"] if t["budget"] == 1]
    assert all(t["error"].startswith("cannot generate hardware") for t in refused)
    assert (local / "tiny" / ok[0]["files"]["top"] / "top" / "vit_accel.v").is_file()
    assert len(list((local / "tiny" / "models").glob("*.npz"))) == 2
    assert "w4 d16 L1 h2 B1" in out and "no trial with Yosys resources" in report["plots"]["skipped"]

    def broken(*args):
        raise AssertionError("ran although cached")
    monkeypatch.setattr(sweep, "train_task", broken)
    monkeypatch.setattr(sweep, "hardware_task", broken)
    assert without_seconds(tiny_sweep(local)) == without_seconds(report)

    # one trial's record gone (as after an interrupted run): only it runs again, from its cached model
    (local / "tiny" / "trials" / f"{ok[1]['key']}.json").unlink()
    ran = []
    monkeypatch.setattr(sweep, "hardware_task", lambda *a: ran.append(a[1]) or HARDWARE_TASK(*a))
    assert without_seconds(tiny_sweep(local)) == without_seconds(report) and ran == [2000]

    # the hardware's sources changed (an RTL or generator edit): every trial is measured again, no model retrained
    ran.clear()
    monkeypatch.setattr(sweep, "hardware_sources", lambda: "edited")
    again = tiny_sweep(local)
    assert sorted(ran) == [1, 1, 2000, 2000] and again["hardware_sources"] == "edited"
    unkeyed = lambda r: [{k: v for k, v in t.items() if k != "key"} for t in without_seconds(r)]  # noqa: E731
    assert unkeyed(again) == unkeyed(report) and report["hardware_sources"] == HARDWARE_SOURCES()

    # another sweep under the same root: the models of the same keys are copied from this one, not trained again
    other = tiny_sweep(local, "other")
    assert without_seconds(other) == without_seconds(again) and len(list((local / "other" / "models").glob("*"))) == 6
    monkeypatch.undo()

    pytest.importorskip("ray")
    on_ray = tiny_sweep(tmp_path / "ray", ray_address="")
    assert on_ray["runner"] == "ray (local cluster)"
    assert without_seconds(on_ray) == without_seconds(report)


HARDWARE_TASK, HARDWARE_SOURCES = sweep.hardware_task, sweep.hardware_sources


@pytest.mark.slow
def test_trial_with_yosys_and_simulation(capsys, tmp_path):
    """One real trial: Yosys over every instance of its top, the top simulated on 2 test images + 3 edge images
    (0 mismatching) and its cycles per image measured, plots; then a re-run from the cache."""
    argv = ["sweep", "--dim", "16", "--depth", "1", "--heads", "2", "--epochs", "1", "--sim", "2", "--quiet",
            "--name", "one", "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    report = json.loads((tmp_path / "one" / "sweep.json").read_text())
    (t,) = report["trials"]
    assert t["sim"]["mismatches"] == 0 and t["sim"]["images"] == 5
    assert 0 < t["sim"]["cycles_per_image"] <= 2000 and t["plan"]["cycles_per_image_estimate"] <= 2000
    assert t["resources"]["LUT"] > 0 and t["resources"]["DSP"] > 0 and t["fits_xc7z020"]
    assert np.isclose(t["resources"]["fraction_of_xc7z020"]["LUT"], t["resources"]["LUT"] / 53200, atol=1e-4)
    assert set(report["plots"]) == {"accuracy_vs_lut", "accuracy_vs_dsp", "cycles_vs_lut"}
    assert (tmp_path / "one" / t["files"]["top"] / "resources.json").is_file()
    capsys.readouterr()
    assert main(argv) == 0
    again = json.loads((tmp_path / "one" / "sweep.json").read_text())
    assert without_seconds(again) == without_seconds(report)
