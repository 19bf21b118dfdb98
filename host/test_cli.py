"""The vitflow CLI: results as JSON, and bad input as one line on stderr with exit code 2 (no traceback)."""

import json
import os
import subprocess
import sys
from pathlib import Path

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
    np.save(tmp_path / "bad.npy", np.zeros((3, 3), np.int32))
    code, _, err = run(capsys, "infer", str(tmp_path / "bad.npy"))
    assert code == 2 and "uint8, uint16, bool or float pixels" in err and err.count("\n") == 1


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


# ---- your own model: shape flags and config files on `vitflow train`, --model on every stage (issue 15) ----

def test_train_refuses_impossible_shapes_before_any_work(capsys, monkeypatch, tmp_path):
    import vitflow.model.train

    monkeypatch.setattr(vitflow.model.train, "train", lambda *a, **k: pytest.fail("trained an impossible shape"))
    bad = tmp_path / "bad.toml"
    bad.write_text("dim = 32\nheads = 3\n")
    (tmp_path / "latin1.toml").write_bytes("# größe\ndim = 32\n".encode("latin-1"))
    (tmp_path / "empty.toml").write_text("# nothing set\n")
    for argv, match in [(["--heads", "5"], "heads 5 does not divide dim 48: choose --heads among"),
                        (["--dim", "48", "--heads", "2"], "head_dim = dim / heads = 48 / 2 = 24"),
                        (["--patch", "3"], "patch 3 does not tile the 8x8 image"),
                        (["--arch", "swin", "--window", "3"], "window 3 does not divide the 4x4 token grid"),
                        (["--config", str(bad)], "heads 3 does not divide dim 32"),
                        (["--config", str(tmp_path / "none.toml")], "config file"),
                        (["--config", str(tmp_path / "latin1.toml")], "not a readable TOML file"),
                        (["--config", str(tmp_path / "empty.toml")], "sets nothing"),
                        (["--arch", "mobilevit", "--channels", "8,16"], "channels must be 4 positive integers")]:
        code, out, err = run(capsys, "train", "--out", str(tmp_path / "m"), *argv)
        assert code == 2 and err.count("\n") == 1 and match in err and "Traceback" not in err, argv
    assert not list(tmp_path.glob("m*"))


def test_train_refuses_bad_counts_and_flags_it_does_not_use(capsys, tmp_path):
    for argv, match in [(["--float-epochs", "0"], "expected an integer >= 1, got 0"),
                        (["--qat-epochs", "-3"], "expected an integer >= 1, got -3"),
                        (["--seed", "x"], "expected an integer, got 'x'"),
                        (["--model", "vit.npz"], "unrecognized arguments: --model")]:
        expect_usage_error(capsys, "train", "--out", str(tmp_path / "m"), *argv, match=match)
    assert not list(tmp_path.iterdir())


def test_train_output_names_keep_dots():
    from vitflow.host.training import output_paths

    assert output_paths("build/vit_v1.2") == (Path("build/vit_v1.2.pt"), Path("build/vit_v1.2.npz"))
    assert output_paths("m.npz") == output_paths("m.pt") == (Path("m.pt"), Path("m.npz"))


def test_importing_the_cli_leaves_threads_alone():
    """No process-wide setting at import: torch (train, bench) gets the machine's cores."""
    code = ("import os; before = dict(os.environ); import vitflow.host.cli, torch; "
            "print(dict(os.environ) == before, torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["True", str(len(os.sched_getaffinity(0)))]


def test_train_config_file_under_flags_on_mnist_idx(capsys, tmp_path):
    """A config file, a flag over it, generated MNIST IDX files: the chosen shape is trained (1 epoch each) and
    stored in the checkpoint and the model file."""
    from vitflow.model.test_datasets import make_mnist
    from vitflow.model.train import load_checkpoint

    make_mnist(tmp_path, n=(32, 4))
    cfg = tmp_path / "tiny.toml"
    cfg.write_text('arch = "vit"\ndim = 16\nheads = 4\ndepth = 1\nmlp_dim = 32\n')
    code, out, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--config", str(cfg),
                         "--heads", "2", "--float-epochs", "1", "--qat-epochs", "1", "--out", str(tmp_path / "tiny"),
                         "--quiet")
    r = json.loads(out)
    assert code == 0 and r["golden_vs_brevitas_mismatches"] == 0, err
    want = {"arch": "vit", "img_size": 32, "patch": 8, "dim": 16, "heads": 2, "depth": 1, "mlp_dim": 32}
    assert {k: r["config"][k] for k in want} == want
    assert IntModel.load(tmp_path / "tiny.npz").config == r["config"]
    assert load_checkpoint(tmp_path / "tiny.pt", quant=True)[0].to_json() == r["config"]


def tampered_vit(tmp_path, **config) -> str:
    """The shipped vit's model file with its stored config changed (integers untouched)."""
    m = IntModel.load(ModelPaths.resolve("vit", None).model_file)
    arrays = dict(m.arrays)
    h = m.header()
    h["config"].update(config)
    arrays["__spec__"] = np.array(json.dumps(h))
    np.savez(tmp_path / "tampered.npz", **arrays)
    return str(tmp_path / "tampered.npz")


@pytest.mark.parametrize("stage", [["eval"], ["infer", "x.png"], ["bench"], ["hls"], ["sim"], ["timing"],
                                   ["bitstream"]])
def test_every_stage_checks_the_model_files_shape(capsys, tmp_path, stage):
    code, _, err = run(capsys, *stage[:1], "--model", tampered_vit(tmp_path, heads=5), *stage[1:])
    assert code == 2 and err.count("\n") == 1 and "tampered.npz: heads 5 does not divide dim 48" in err


def test_stages_key_build_folders_by_model(capsys, tmp_path):
    import shutil

    shipped = ModelPaths.resolve("vit", None)
    m = IntModel.load(shipped.model_file)
    assert shipped.build_name(m.identity()) == "vit"  # make sim / hls / timing folders of the shipped models
    copy = tmp_path / "vit.npz"
    shutil.copy(shipped.model_file, copy)
    name = ModelPaths.resolve("vit", str(copy)).build_name(m.identity())
    assert name == f"vit-{m.identity():08x}"  # same stem, another file: its own folders
    out = tmp_path / "board"
    code, stdout, _ = run(capsys, "bitstream", "--model", str(copy), "--out", str(out))
    assert code == 0 and (out / "vit_accel.tcl").is_file()
    from vitflow.host.test_own_model import VIT_64_TOKENS, untrained_model_file

    untrained_model_file(VIT_64_TOKENS, tmp_path / "big.npz")
    code, _, err = run(capsys, "hls", "--model", str(tmp_path / "big.npz"))  # 32x32 images, digits are 8x8
    assert code == 2 and "takes images of shape [1, 32, 32], data set digits has [1, 8, 8]" in err
    ck = tmp_path / "only.pt"
    ck.write_bytes(b"")
    code, _, err = run(capsys, "timing", "--model", str(ck))
    assert code == 2 and "vitflow export --checkpoint" in err


def test_build_dir_holds_every_output_of_a_command(capsys, tmp_path, monkeypatch):
    """--build-dir (or $VITFLOW_BUILD) is the one root: `bitstream` writes BUILD/board/ there, and the setting
    ends with the command."""
    monkeypatch.delenv("VITFLOW_BUILD", raising=False)
    code, out, _ = run(capsys, "bitstream", "--build-dir", str(tmp_path / "b"))
    assert code == 0 and (tmp_path / "b" / "board" / "vit_accel.tcl").is_file() and str(tmp_path / "b") in out
    assert "VITFLOW_BUILD" not in os.environ
    monkeypatch.setenv("VITFLOW_BUILD", str(tmp_path / "env"))
    code, out, _ = run(capsys, "bitstream")
    assert code == 0 and (tmp_path / "env" / "board" / "vit_accel.tcl").is_file()


def test_every_reporting_command_has_json(capsys, tmp_path):
    """--json on every command but train (which prints one JSON object always); with it, stdout is the JSON
    object alone (the text lines go to stderr)."""
    import argparse

    from vitflow.host.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [name for name, p in sub.choices.items()
               if name != "train" and not any("--json" in a.option_strings for a in p._actions)]
    assert missing == []
    code, out, err = run(capsys, "bitstream", "--json", "--build-dir", str(tmp_path))
    assert code == 0 and json.loads(out)["tcl"].endswith("vit_accel.tcl") and "vivado is not on PATH" in err
