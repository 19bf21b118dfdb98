"""`vitflow infer` / `vitflow eval` on pictures, and the driver's classify_pictures: preprocessing, a
probability with every answer, blank pages and answers under the threshold flagged, --raw."""

import json

import numpy as np
from PIL import Image

from vitflow.host.accelerator import Accelerator, probabilities, verdicts
from vitflow.host.backends import ModelPaths
from vitflow.host.cli import main
from vitflow.model.datasets import digits
from vitflow.quant.model_file import IntModel


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def scan(k: int) -> np.ndarray:
    """Test image k as a scan: dark ink on light paper, 6x larger, off-centre in a 96x128 frame (uint8)."""
    big = np.asarray(Image.fromarray(digits().x_test[k, 0]).resize((48, 48), Image.BILINEAR)) / 255.0
    frame = np.full((96, 128), 0.9)
    frame[30:78, 60:108] = 0.9 - 0.8 * big
    return np.round(frame * 255).astype(np.uint8)


def test_infer_pictures_json(capsys, tmp_path):
    files = []
    for k in range(4):
        files.append(str(tmp_path / f"scan{k}.png"))
        Image.fromarray(scan(k)).save(files[-1])
    files.append(str(tmp_path / "blank.png"))
    Image.new("L", (64, 48), 250).save(files[-1])
    code, out, _ = run(capsys, "infer", "--json", *files)
    r = json.loads(out)
    threshold = IntModel.load(ModelPaths.resolve("vit", None).model_file).meta["min_probability"]
    assert code == 0 and r["preprocessed"] and r["min_probability"] == threshold  # the shipped vit's own
    rows = r["results"]
    assert [x["class"] for x in rows[:4]] == list(digits().y_test[:4])
    assert all(threshold <= x["probability"] <= 1 and x["flag"] is None and x["polarity"] == "dark-on-light"
               for x in rows[:4])
    assert rows[4]["class"] is None and rows[4]["probability"] is None and rows[4]["flag"] == "no content"


def test_infer_text_flags(capsys, tmp_path):
    Image.fromarray(scan(0)).save(tmp_path / "a.png")
    Image.new("L", (30, 30), 0).save(tmp_path / "black.png")
    code, out, _ = run(capsys, "infer", str(tmp_path / "a.png"), str(tmp_path / "black.png"))
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(f"{tmp_path / 'a.png'}: class {digits().y_test[0]} (probability 0.")
    assert lines[1].endswith("no digit found (blank picture)")
    code, out, _ = run(capsys, "infer", "--min-probability", "1.0", str(tmp_path / "a.png"))
    assert code == 0 and "not a digit (best guess" in out


def test_infer_raw(capsys, tmp_path):
    d = digits()
    np.save(tmp_path / "batch.npy", d.x_test[:5, 0])
    code, out, _ = run(capsys, "infer", "--raw", "--json", str(tmp_path / "batch.npy"))
    r = json.loads(out)
    assert code == 0 and not r["preprocessed"] and [x["image"] for x in r["results"]][1].endswith("batch.npy[1]")
    assert [x["class"] for x in r["results"]] == list(d.y_test[:5]) and "polarity" not in r["results"][0]
    Image.fromarray(scan(0)).save(tmp_path / "a.png")
    code, _, err = run(capsys, "infer", "--raw", str(tmp_path / "a.png"))
    assert code == 2 and "--raw takes pictures of the model's size 8x8" in err and err.count("\n") == 1


def test_eval_strokes_reports_each_variant(capsys):
    code, out, _ = run(capsys, "eval", "--dataset", "strokes", "--limit", "30", "--json")
    r = json.loads(out)
    assert code == 0 and r["dataset"] == "strokes" and r["n"] == 30 and r["no_content"] == 0
    assert list(r["variants"]) == ["light-centred"] and r["variants"]["light-centred"]["n"] == 30


def test_classify_pictures_and_probabilities(tmp_path):
    Image.fromarray(scan(1)).save(tmp_path / "b.png")
    acc = Accelerator(backend="golden")
    got = acc.classify_pictures([scan(0), tmp_path / "b.png", np.zeros((20, 20), np.uint8)])
    assert [g["class"] for g in got] == [*digits().y_test[:2], None] and got[2]["flag"] == "no content"
    assert got[0]["polarity"] == "dark-on-light"
    lg = np.array([[0, 0], [256, 0]])  # logits on a grid of 2**-8: 0 and 1.0
    assert np.allclose(probabilities(lg, 8), [[0.5, 0.5], [np.e / (1 + np.e), 1 / (1 + np.e)]])
    got = verdicts(lg, 8, min_probability=0.6)
    assert got[0] == {"class": None, "probability": 0.5, "flag": "not a digit", "guess": 0}
    assert got[1]["class"] == 0 and got[1]["flag"] is None


def test_the_models_own_threshold(capsys, tmp_path):
    """A model file with a calibrated min_probability: infer and eval use it unless --min-probability says."""
    from vitflow.host.accelerator import min_probability_of

    m = IntModel.load(ModelPaths.resolve("vit", None).model_file)
    m.meta["min_probability"] = 0.999
    m.save(tmp_path / "strict.npz")
    assert min_probability_of(m.meta) == 0.999 and min_probability_of({}) == 0.5
    Image.fromarray(scan(0)).save(tmp_path / "a.png")
    r = json.loads(run(capsys, "infer", "--json", "--model", str(tmp_path / "strict.npz"), str(tmp_path / "a.png"))[1])
    assert r["min_probability"] == 0.999 and r["results"][0]["flag"] == "not a digit"
    r = json.loads(run(capsys, "infer", "--json", "--min-probability", "0.2", "--model", str(tmp_path / "strict.npz"),
                       str(tmp_path / "a.png"))[1])
    assert r["results"][0]["flag"] is None


def test_infer_steps_picture(capsys, tmp_path):
    Image.fromarray(scan(0)).save(tmp_path / "a.png")
    code, _, err = run(capsys, "infer", "--steps", str(tmp_path / "steps.png"), str(tmp_path / "a.png"))
    assert code == 0 and (tmp_path / "steps.png").is_file() and "wrote" in err
    code, _, err = run(capsys, "infer", "--raw", "--steps", str(tmp_path / "s.png"), str(tmp_path / "a.png"))
    assert code == 2 and len(err.strip().splitlines()) == 1
