"""What the board runs: the golden path with numpy + Pillow only (torch, brevitas, hls4ml, qonnx, scikit-learn,
onnx*, cocotb made unimportable in a subprocess), the shipped digits test split, `vitflow bench`, bad input."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from vitflow.host.backends import ModelPaths, open_backend
from vitflow.host.cli import main
from vitflow.model.datasets import DIGITS_TEST_FILE, digits, digits_test
from vitflow.quant import golden
from vitflow.quant.model_file import IntModel

BLOCKED = ("torch", "brevitas", "hls4ml", "qonnx", "sklearn", "onnx", "onnxruntime", "onnxoptimizer", "onnxscript",
           "onnx_ir", "cocotb", "cocotbext", "threadpoolctl")
SITECUSTOMIZE = f"""
import sys

BLOCKED = {BLOCKED!r}


class Blocker:
    \"\"\"A board without the extras: importing any of BLOCKED fails like a missing package.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, Blocker())
"""


def run_blocked(tmp_path, *args, code=None):
    """`python -m vitflow.host.cli ARGS` (or `python -c CODE`) where the blocked packages cannot be imported."""
    site = tmp_path / "blocked"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": str(site)}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "vitflow.host.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse's own errors (one line, exit code 2)
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_shipped_digits_test_split_equals_sklearn_split():
    pytest.importorskip("sklearn")
    x, y = digits_test()
    d = digits()
    assert x.dtype == np.uint8 and y.dtype == np.int64 and x.shape == (360, 1, 8, 8)
    assert np.array_equal(x, d.x_test) and np.array_equal(y, d.y_test)
    assert DIGITS_TEST_FILE.stat().st_size < 64_000


def test_golden_path_without_torch_sklearn_hls4ml_onnx_cocotb(tmp_path, capsys):
    d = digits()
    pngs = []
    for i in range(3):
        pngs.append(str(tmp_path / f"d{i}.png"))
        Image.fromarray(d.x_test[i, 0]).save(pngs[-1])
    np.save(tmp_path / "d3.npy", d.x_test[3, 0])
    pngs.append(str(tmp_path / "d3.npy"))

    r = run_blocked(tmp_path, "infer", "--backend", "golden", "--json", *pngs)
    assert r.returncode == 0, r.stderr
    _, out, _ = cli(capsys, "infer", "--backend", "golden", "--json", *pngs)
    assert json.loads(r.stdout) == json.loads(out)

    r = run_blocked(tmp_path, "eval", "--backend", "golden", "--json")
    assert r.returncode == 0, r.stderr
    _, out, _ = cli(capsys, "eval", "--backend", "golden", "--json")
    blocked, normal = json.loads(r.stdout), json.loads(out)
    assert blocked.pop("seconds") >= 0 and normal.pop("seconds") >= 0
    assert blocked == normal and blocked["n"] == 360

    code = textwrap.dedent("""
        import json, sys
        import numpy as np
        from vitflow.host.backends import ModelPaths, open_backend
        from vitflow.model.datasets import digits
        d = digits()
        assert len(d.x_train) == 0 and len(d.x_test) == 360  # the shipped split; training needs sklearn
        be = open_backend("golden", ModelPaths.resolve("vit", None))
        print(json.dumps(be(d.x_test).tolist()))
        assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED_NAMES], "a blocked module was imported"
    """).replace("BLOCKED_NAMES", repr(BLOCKED))
    r = run_blocked(tmp_path, code=code)
    assert r.returncode == 0, r.stderr
    ref = golden.run(IntModel.load(ModelPaths.resolve("vit", None).model_file), d.x_test, fast=False)
    assert np.array_equal(np.array(json.loads(r.stdout)), ref)


@pytest.mark.parametrize("backend,extra", [("brevitas", "train"), ("torch", "train"), ("csim", "hls"),
                                           ("onnxruntime", "train")])
def test_missing_extra_is_one_line(tmp_path, backend, extra):
    r = run_blocked(tmp_path, "eval", "--backend", backend, "--limit", "5")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert f"pip install 'vitflow[{extra}]'" in r.stderr and r.stderr.startswith("vitflow: error: backend")


def test_bench_lists_unavailable_backends_as_skipped(tmp_path):
    r = run_blocked(tmp_path, "bench", "--backends", "golden,torch,csim", "--images", "24", "--repeat", "1",
                    "--latency-images", "2", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert [b["backend"] for b in rep["backends"]] == ["golden"]
    skipped = {s["backend"]: s["reason"] for s in rep["skipped"]}
    assert "vitflow[train]" in skipped["torch"] and "vitflow[hls]" in skipped["csim"]
    r = run_blocked(tmp_path, "bench", "--backends", "torch")
    assert r.returncode == 2 and "no backend of --backends can run here" in r.stderr and "Traceback" not in r.stderr


def test_bench_golden_and_onnxruntime(capsys):
    pytest.importorskip("onnxruntime")
    code, out, _ = cli(capsys, "bench", "--backends", "golden,onnxruntime,brevitas", "--images", "40",
                       "--repeat", "2", "--latency-images", "2", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["images"] == 40 and not rep["skipped"]
    rows = {r["backend"]: r for r in rep["backends"]}
    assert rows["golden"]["images_per_s"] > 0 and rows["onnxruntime"]["latency_ms"] > 0
    assert rows["brevitas"]["mismatches"] == 0 and rows["brevitas"]["differs_from"] == "golden"
    assert rows["onnxruntime"]["accuracy"] >= 0.9 and not rows["onnxruntime"]["integer"]
    assert rep["golden_vs_onnxruntime"] > 0
    code, out, _ = cli(capsys, "bench", "--backends", "golden", "--images", "500", "--repeat", "1",
                       "--latency-images", "1")  # more images than the split: cycled; the table
    assert code == 0 and out.splitlines()[2].startswith("golden")


def test_onnxruntime_backend_matches_torch_float_model():
    pytest.importorskip("onnxruntime")
    paths = ModelPaths.resolve("vit", None)
    x = digits().x_test[:50]
    a, b = open_backend("onnxruntime", paths)(x), open_backend("torch", paths)(x)
    assert np.abs(a - b).max() < 1e-4


@pytest.mark.parametrize("argv,match", [
    (("bench", "--backends", "golden,fpga"), "unknown backend 'fpga'"),
    (("bench", "--images", "0"), "argument --images: expected an integer >= 1, got 0"),
    (("eval", "--limit", "0"), "argument --limit: expected an integer >= 1, got 0"),
])
def test_bad_bench_and_eval_arguments(capsys, argv, match):
    code, _, err = cli(capsys, *argv)
    assert code == 2 and match in err and err.count("\n") == 1


def test_backend_rejects_empty_and_misshapen_batches():
    be = open_backend("golden", ModelPaths.resolve("vit", None))
    with pytest.raises(ValueError, match="empty batch"):
        be(np.zeros((0, 1, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"takes images of shape \[1, 8, 8\]"):
        be(np.zeros((2, 1, 7, 8), np.uint8))
    with pytest.raises(ValueError, match="uint8 pixels"):
        be(np.full((1, 1, 8, 8), 300))
    assert be(np.zeros((1, 8, 8), np.int64)).shape == (1, 10)  # one image, integer pixels: fine


def test_infer_wrong_shape_npy_is_one_line(capsys, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 4, 4), np.uint8))
    code, _, err = cli(capsys, "infer", "--raw", str(tmp_path / "x.npy"))  # without --raw: preprocessed
    assert code == 2 and "--raw takes pictures of the model's size 8x8, got 4x4" in err and err.count("\n") == 1


@pytest.mark.parametrize("cmd,extra", [("train", "train"), ("demo", "train"), ("hls", "hls"), ("sim", "sim")])
def test_command_without_its_extra_is_one_line(tmp_path, cmd, extra):
    r = run_blocked(tmp_path, cmd)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert f"pip install 'vitflow[{extra}]'" in r.stderr and not r.stdout
