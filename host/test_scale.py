"""`vitflow scale`: the top at a budget below one instance per kernel (kernels in copies), counted against a large
device and simulated against golden; bad input is one line."""

import json

import pytest

from vitflow.host import scale
from vitflow.host.cli import main
from vitflow.host.test_sweep import exit_code


@pytest.mark.parametrize("argv, match", [
    (["--cycles", "0"], "argument --cycles: expected an integer >= 1, got 0"),
    (["--sim", "-1"], "argument --sim: expected an integer >= 0, got -1"),
    (["--target-mhz", "0"], "--target-mhz must be above 0"),
    (["--device", "xc7a35t"], "invalid choice: 'xc7a35t'"),
    (["--model", "missing.npz"], "missing.npz"),
])
def test_bad_input_is_one_line(capsys, tmp_path, argv, match):
    assert exit_code(["scale", "--out-dir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_a_budget_no_kernel_meets_is_a_result(tmp_path):
    # patch_embed cannot run as copies (it drops malformed frames whole): 16 cycles per image is out of reach
    path, report = scale.run(scale_model(), "vit", 16, "xcvu9p", sim_images=0, timing=False, root=tmp_path)
    assert "no lanes x SIMD meets 16 cycles per image" in report["error"] and scale.bad(report)
    assert json.loads(path.read_text())["error"] == report["error"]


def scale_model():
    from vitflow.host.backends import ModelPaths

    return ModelPaths.resolve("vit", None).model_file


@pytest.mark.slow
def test_copies_top_is_bit_exact_and_counted_for_the_device(capsys, tmp_path):
    """The shipped vit at 600 cycles per image (attention and layernorm in copies): Yosys against an xczu7ev,
    2 test images + 3 edge images through the simulated top, 0 mismatching, within the budget."""
    argv = ["scale", "--cycles", "600", "--device", "xczu7ev", "--sim", "2", "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    (found,) = tmp_path.glob("*/report.json")
    r = json.loads(found.read_text())
    assert r["sim"]["mismatches"] == 0 and r["sim"]["images"] == 5
    assert r["sim"]["cycles_per_image"] <= 600 < 1200  # one attention instance takes 1,200
    assert r["plan"]["copies"]["blocks.0.attn.core"] == 2 and r["fits_xczu7ev"]
    assert r["resources"]["DSP"] > 0 and "xczu7ev" in capsys.readouterr().out
