"""The vitflow CLI: results as JSON, and bad input as one line on stderr with exit code 2 (no traceback)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vitflow.host.backends import ModelPaths
from vitflow.host.cli import main
from vitflow.quant.model_file import IntModel


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_json_with_check(capsys):
    code, out, _ = run(capsys, "eval", "--backend", "golden", "--check", "brevitas", "--limit", "40", "--json")
    r = json.loads(out)
    assert code == 0 and r["arch"] == "vit" and r["dataset"] == "digits" and r["n"] == 40
    assert r["mismatches"] == 0 and 0.9 <= r["accuracy"] <= 1.0


def test_eval_csim_backend_checked_against_golden(capsys):
    code, out, _ = run(capsys, "eval", "--backend", "csim", "--check", "golden", "--limit", "20", "--json")
    r = json.loads(out)
    assert code == 0 and r["backend"] == "csim" and r["n"] == 20 and r["mismatches"] == 0


def test_eval_text_each_arch(capsys):
    for arch in ("mobilevit", "swin"):
        code, out, _ = run(capsys, "eval", "--arch", arch, "--backend", "brevitas", "--limit", "10")
        assert code == 0 and out.startswith(f"{arch} brevitas on digits test (10 images): accuracy")


def expect_usage_error(capsys, *argv, match):
    with pytest.raises(SystemExit) as e:  # argparse errors
        main(list(argv))
    code = e.value.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and match in err and "Traceback" not in err


def test_unknown_arch_and_backend(capsys):
    expect_usage_error(capsys, "eval", "--arch", "resnet", match="invalid choice: 'resnet'")
    expect_usage_error(capsys, "eval", "--backend", "fpga", match="invalid choice: 'fpga'")
    expect_usage_error(capsys, "frobnicate", match="invalid choice")


@pytest.mark.parametrize("content,match", [(None, "not found"), (b"garbage", "not a readable vitflow model file")])
def test_missing_or_corrupt_model(capsys, tmp_path, content, match):
    p = tmp_path / "m.npz"
    if content is not None:
        p.write_bytes(content)
    code, _, err = run(capsys, "eval", "--model", str(p))
    assert code == 2 and match in err and err.count("\n") == 1


def test_model_of_other_version(capsys, tmp_path):
    m = IntModel.load(ModelPaths.resolve("vit", None).model_file)
    arrays = dict(m.arrays)
    h = m.header()
    h["version"] = 0
    arrays["__spec__"] = np.array(json.dumps(h))
    np.savez(tmp_path / "old.npz", **arrays)
    code, _, err = run(capsys, "eval", "--model", str(tmp_path / "old.npz"))
    assert code == 2 and "version 0" in err and "vitflow export" in err


def test_data_folder_without_files(capsys, tmp_path):
    code, _, err = run(capsys, "eval", "--dataset", "mnist", "--data-dir", str(tmp_path))
    assert code == 2 and "train-images-idx3-ubyte" in err
    code, _, err = run(capsys, "eval", "--dataset", "cifar10")
    assert code == 2 and "--data-dir" in err


def test_infer_npy_and_png(capsys, tmp_path):
    from vitflow.model.datasets import digits

    d = digits()
    np.save(tmp_path / "a.npy", d.x_test[0, 0])
    Image.fromarray(d.x_test[1, 0]).save(tmp_path / "b.png")
    code, out, _ = run(capsys, "infer", "--json", str(tmp_path / "a.npy"), str(tmp_path / "b.png"))
    r = json.loads(out)["results"]
    assert code == 0 and [x["class"] for x in r] == list(d.y_test[:2])
    np.save(tmp_path / "bad.npy", np.zeros((3, 3), np.float32))
    code, _, err = run(capsys, "infer", str(tmp_path / "bad.npy"))
    assert code == 2 and "expected a uint8 array" in err


def test_export_writes_model_file(capsys, tmp_path):
    out = tmp_path / "vit.npz"
    code, _, _ = run(capsys, "export", "--checkpoint", str(ModelPaths.resolve("vit", None).checkpoint),
                     "--out", str(out))
    assert code == 0 and IntModel.load(out).header()["ops"] == IntModel.load(
        ModelPaths.resolve("vit", None).model_file).header()["ops"]


def test_console_script_error_has_no_traceback(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "vitflow")
    r = subprocess.run([exe, "eval", "--model", str(tmp_path / "x.pt")], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("vitflow: error:") and "Traceback" not in r.stderr
