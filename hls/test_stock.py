"""hls4ml's stock Softmax / LayerNorm beside our kernels: the metrics, the float references, the rows taken from a
golden run (our kernels' own inputs and outputs), the report section; the C-simulated comparison under `slow`."""

import json

import numpy as np
import pytest

from vitflow.hls import stock
from vitflow.hls.check import hls_build
from vitflow.host.backends import ModelPaths
from vitflow.model.datasets import digits
from vitflow.quant import golden
from vitflow.quant import golden_kernels as K
from vitflow.quant.model_file import IntModel
from vitflow.quant.spec import PROB

torch = pytest.importorskip("torch")  # the float reference


def shipped(arch):
    return IntModel.load(ModelPaths.resolve(arch, None).model_file)


def golden_env(arch, n=2):
    m = shipped(arch)
    return m, golden.run(m, digits().x_test[:n], keep=True)


def test_errors():
    ref = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    got = np.array([[0.1, 0.6, 0.2], [0.2, 0.5, 0.3]])
    r = stock.errors(got, ref, argmax=True)
    assert r["rows"] == 2 and r["max_abs_error"] == pytest.approx(0.3)
    assert r["mean_abs_error"] == pytest.approx(0.7 / 6) and r["argmax_agreement"] == 0.5
    assert "argmax_agreement" not in stock.errors(got, ref)


def test_float_references():
    assert np.allclose(stock.float_softmax(np.array([[0.0, 1.0]])), [[1 / 3, 2 / 3]])  # base 2
    y = stock.float_layernorm(np.array([[1.0, 2.0, 3.0, 6.0], [2.0, 2.0, 2.0, 2.0]]))
    assert np.allclose(y[0].mean(), 0) and np.allclose(y[0].var(), 1) and np.array_equal(y[1], np.zeros(4))


def test_softmax_rows_are_our_kernels_inputs_and_outputs():
    m, env = golden_env("vit")
    rows = stock.softmax_rows(m, env)
    heads, n = m.config["heads"], 16
    assert rows.x.shape == (2 * m.config["depth"] * heads * n, n) and rows.ours.shape == rows.x.shape
    op = next(o for o in m.ops if o.op == "attention")
    z, z_frac, _, p = stock.recorded_softmax(m, op, env)
    # recording does not change the op, and the recorded pair is our softmax's
    assert np.array_equal(golden.run_op(m, op, [env[i] for i in op.inputs], m.formats()), env[op.name])
    assert np.array_equal(K.softmax(z, z_frac), p)
    assert np.array_equal(rows.x[:len(z.reshape(-1, n))], z.reshape(-1, n) * 2.0**-z_frac)
    r = stock.metrics("softmax", rows.ours, rows)  # ours against float on its own inputs: a few output LSBs
    assert r["max_abs_error"] < 4 * 2.0**-PROB.frac and r["argmax_agreement"] > 0.95
    assert set(r["max_abs_error_per_layer"]) == {o.name for o in m.ops if o.op == "attention"}


def test_softmax_rows_leave_out_masked_rows():
    m, env = golden_env("swin")
    rows = stock.softmax_rows(m, env)
    total = sum(env[o.inputs[0]].shape[0] * o.attrs["heads"] * env[o.inputs[0]].shape[1]
                for o in m.ops if o.op == "attention")
    assert 0 < len(rows.x) < total  # the shifted windows' masked rows are not comparable with an unmasked softmax
    assert stock.errors(rows.ours, rows.ref)["max_abs_error"] < 4 * 2.0**-PROB.frac


def test_layernorm_rows_are_our_kernels_inputs_and_outputs():
    m, env = golden_env("vit")
    rows = stock.layernorm_rows(m, env)
    ops = [o for o in m.ops if o.op == "layernorm"]
    assert rows.x.shape == (2 * len(ops) * 16, m.config["dim"])
    first = ops[0]
    ours = K.layernorm(env[first.inputs[0]]).reshape(-1, rows.x.shape[1]) * 2.0**-first.out.frac
    assert np.array_equal(rows.ours[:len(ours)], ours)
    r = stock.metrics("layernorm", rows.ours, rows)
    assert r["max_abs_error"] < 1.01 * 2.0**-first.out.frac  # floored onto the int8 grid: within one LSB
    assert r["variance_below_1"]["rows"] == int((rows.x.var(-1) < 1).sum())


def test_model_without_attention_is_one_line(capsys):
    from vitflow.host.cli import main

    assert main(["hls", "--stock", "--arch", "all"]) == 2
    assert "--stock compares one model" in capsys.readouterr().err
    m = shipped("vit")
    m.ops = [o for o in m.ops if o.op != "attention"]
    with pytest.raises(stock.NothingToCompare, match="no attention op"):
        stock.softmax_rows(m, {})


def test_stock_layers_mirror_hls4mls_pytorch_converter():
    ln = stock.stock_layer("layernorm", 48)
    assert ln["class_name"] == "LayerNormalization" and ln["n_in"] == 48 and ln["seq_len"] == 1
    assert np.array_equal(ln["gamma_data"], np.ones(48)) and np.array_equal(ln["beta_data"], np.zeros(48))
    assert stock.stock_layer("softmax", 16) == {"class_name": "Softmax", "activation": "softmax", "axis": -1}
    assert {(c.kind, c.name) for c in stock.CONFIGS} == {(k, n) for k in stock.KINDS for n in ("default", "tuned")}


def test_report_section(tmp_path):
    pytest.importorskip("matplotlib")
    from vitflow.host import report

    result = {"rows": 3, "max_abs_error": 0.2, "mean_abs_error": 0.01, "max_abs_error_per_layer": {"a": 0.2}}
    data = {"arch": "vit", "model_id": "d142ede2", "images": 1, "hls4ml": "1.3.0", "kernels": {
        "softmax": {"rows": 3, "width": 16, "layers": ["a"], "results": [
            {"config": "ours", "note": "ours", **result, "argmax_agreement": 1.0},
            {"config": "hls4ml default", "note": "defaults", **result, "argmax_agreement": 0.5}]},
        "layernorm": {"rows": 3, "width": 48, "layers": ["a"], "results": [
            {"config": "ours", "note": "ours", **result, "variance_below_1": {"rows": 2, "max_abs_error": 0.1,
                                                                             "mean_abs_error": 0.01}}]}}}
    (tmp_path / "stock.json").write_text(json.dumps(data))
    doc = report.Doc(tmp_path / "out")
    report.stock_section(doc, report.read_source(tmp_path / "stock.json", "vitflow hls --stock"))
    text = "\n".join(doc.lines)
    assert "| softmax | hls4ml default | 3 | 0.2 | 0.01 | 50.00% | - |" in text
    assert "| layernorm | ours | 3 | 0.2 | 0.01 | - | 0.1 |" in text
    assert (tmp_path / "out" / "stock_kernels.png").is_file()
    assert doc.summary["stock_kernels"]["softmax"]["hls4ml default"]["argmax_agreement"] == 0.5
    missing = report.Doc(tmp_path / "out2")
    report.stock_section(missing, report.read_source(tmp_path / "none.json", "vitflow hls --stock"))
    assert any("make it with `vitflow hls --stock`" in line for line in missing.summary["not_measured"])


@pytest.mark.slow
def test_stock_kernels_csim(tmp_path):
    """The four stock projects (cached under build/hls/stock like `vitflow hls --stock`'s) on 4 test images."""
    torch.set_num_threads(1)
    m = shipped("vit")
    r = stock.run(m, digits().x_test[:4], hls_build(), log=lambda _: None, out=tmp_path / "stock.json")
    assert json.loads((tmp_path / "stock.json").read_text()) == json.loads(json.dumps(r))
    for k in r["kernels"].values():
        by = {x["config"]: x for x in k["results"]}
        assert set(by) == {"ours", "hls4ml default", "hls4ml tuned"}
        assert by["hls4ml tuned"]["mean_abs_error"] < by["hls4ml default"]["mean_abs_error"]
    sm = {x["config"]: x for x in r["kernels"]["softmax"]["results"]}
    assert sm["hls4ml tuned"]["max_abs_error"] < 0.02 and sm["ours"]["argmax_agreement"] > 0.95
    again = stock.run(m, digits().x_test[:4], hls_build(), log=lambda _: None, out=tmp_path / "stock.json")
    assert not any(x.get("rebuilt") for k in again["kernels"].values() for x in k["results"])  # cached
