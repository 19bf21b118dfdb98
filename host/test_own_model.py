"""Your own model through the whole flow (issue 15): small models of shapes unlike the shipped ones, built in
the test, on every rung of the ladder (Brevitas == golden == HLS C-sim == RTL top, 0 mismatching images),
reached the way a user reaches them (`--model FILE`: the csim and rtlsim backends, `vitflow hls / sim`)."""

import json
from pathlib import Path

import numpy as np
import pytest

from vitflow.host.backends import ModelPaths, open_backend
from vitflow.host.cli import main
from vitflow.quant.model_file import IntModel

# shapes unlike the shipped ones (8x8 images, 16 tokens, D = 48 or 32, windows of 2)
VIT_64_TOKENS = {"arch": "vit", "img_size": 32, "patch": 4, "dim": 32, "heads": 2, "depth": 1, "mlp_dim": 64}
SWIN_WINDOW_4 = {"arch": "swin", "img_size": 16, "patch": 2, "dim": 32, "heads": 2, "depth": 2, "mlp_dim": 64,
                 "window": 4}
MOBILEVIT_CHANNELS = {"arch": "mobilevit", "img_size": 16, "patch": 2, "dim": 16, "heads": 1, "depth": 1,
                      "mlp_dim": 32, "channels": (8, 16, 12, 32)}


def untrained_model_file(shape: dict, path: Path, seed: int = 0):
    """The quantized network of `shape` with its seeded random initial weights (no training), exported to a
    model file by the flow's own writer; returns the quantized torch model too. Deterministic: the same file
    (and identity, so the same cached HLS and Verilator builds) on every run."""
    import torch

    from vitflow.model import build_model
    from vitflow.model.config import default_config, validate
    from vitflow.quant.export import export_int_model

    cfg = default_config(**shape)
    validate(cfg)
    torch.manual_seed(seed)
    qmodel = build_model(cfg, quant=True).eval()
    export_int_model(qmodel).save(path)
    return qmodel


def sample_images(shape: list[int], n_random: int = 4) -> np.ndarray:
    """All-zero (= all-min for pixels), all-max, a min/max checkerboard, then uniform random images."""
    board = (np.indices(shape).sum(0) % 2 * 255).astype(np.uint8)
    edge = np.stack([np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8), board])
    rand = np.random.default_rng(0).integers(0, 256, (n_random, *shape), dtype=np.uint8)
    return np.concatenate([edge, rand])


def mismatching(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int((a != b).any(1).sum())


def check_ladder(shape: dict, tmp_path: Path, name: str, rtl: bool = True) -> None:
    """Brevitas == golden == HLS C-sim (== RTL top) on edge and random images."""
    from vitflow.quant.export import brevitas_int_logits

    path = tmp_path / f"{name}.npz"
    qmodel = untrained_model_file(shape, path)
    m = IntModel.load(path)
    x = sample_images(m.input_shape)
    paths = ModelPaths.resolve(m.arch, str(path))
    golden = open_backend("golden", paths).logits(x)
    assert len(np.unique(golden, axis=0)) > 1  # the images tell apart: not a constant model
    assert mismatching(brevitas_int_logits(qmodel, x, m.formats()[m.output].frac), golden) == 0
    assert mismatching(open_backend("csim", paths).logits(x), golden) == 0
    if rtl:
        assert mismatching(open_backend("rtlsim", paths).logits(x), golden) == 0


def test_vit_64_tokens_through_every_rung(tmp_path):
    """32x32 images, patch 4 (64 tokens), dim 32 with 2 heads, depth 1."""
    check_ladder(VIT_64_TOKENS, tmp_path, "own_vit")


@pytest.mark.slow
def test_swin_window_4_through_every_rung(tmp_path):
    """16x16 images, patch 2: an 8x8 grid of 4x4 windows (16 tokens each), the second block shifted by 2."""
    check_ladder(SWIN_WINDOW_4, tmp_path, "own_swin")


@pytest.mark.slow
def test_mobilevit_other_channels_through_every_rung(tmp_path):
    """16x16 images, conv widths 8/16/12/32, dim 16 with 1 head: 16 tokens per attention, 4 patch positions."""
    check_ladder(MOBILEVIT_CHANNELS, tmp_path, "own_mobilevit")


@pytest.mark.slow
def test_mnist_model_through_train_hls_and_sim(capsys, tmp_path):
    """A user's model: `vitflow train` on (generated) MNIST IDX files with the shape on the command line, then
    `vitflow hls --model` and `vitflow sim --model` on the model file it wrote."""
    from vitflow.model.test_datasets import make_mnist

    make_mnist(tmp_path, n=(64, 8))
    data = ["--dataset", "mnist", "--data-dir", str(tmp_path)]
    out = tmp_path / "mnist_vit"

    def vitflow(*argv):
        code = main(list(argv))
        stdout, err = capsys.readouterr()
        assert code == 0, err
        return stdout

    r = json.loads(vitflow("train", *data, "--patch", "4", "--dim", "32", "--heads", "2", "--depth", "1",
                           "--mlp-dim", "64", "--float-epochs", "1", "--qat-epochs", "1", "--out", str(out), "--quiet"))
    assert r["golden_vs_brevitas_mismatches"] == 0 and r["config"]["patch"] == 4
    model = str(out.with_suffix(".npz"))
    name = ModelPaths.resolve("vit", model).build_name(IntModel.load(model).identity())
    vitflow("hls", "--model", model, *data, "--random", "20")
    report = json.loads((Path("build/hls") / name / "report.json").read_text())
    assert report["models"][0]["n"] == 8 and all(r["mismatches"] == 0 for r in report["kernels"] + report["models"])
    vitflow("sim", "--model", model, "--no-synth")
    top = json.loads((Path("build/sim") / name / "report.json").read_text())
    assert top["mismatches"] == 0 and top["images"] >= 3


def test_one_window_per_image_keeps_its_axis(tmp_path):
    """Swin with window = token grid (and so one window per image): its windowed tensors keep the window axis
    (W = 1), and the attention kernel's C-simulation == golden on that layout (was a traceback in `vitflow hls`)."""
    from vitflow.hls.check import check_kernel
    from vitflow.quant.golden import tensor_shapes

    untrained_model_file({"arch": "swin", "window": 4}, tmp_path / "one_window.npz")
    m = IntModel.load(tmp_path / "one_window.npz")
    assert tensor_shapes(m)["blocks.0.attn.q"] == (1, 16, m.config["dim"])
    attention = next(op for op in m.ops if op.op == "attention")
    assert check_kernel(m, attention, tmp_path / "hls", n=20)["mismatches"] == 0


def test_a_slower_smaller_plan_on_request(capsys, tmp_path):
    """`--cycles N`: a user's model simulated and put into the board project at a budget of their choosing (the
    top's own cycle model and the simulation within it, 0 mismatching), beside its default plan's outputs."""
    path = tmp_path / "tiny_vit.npz"
    untrained_model_file({"arch": "vit", "dim": 16, "heads": 2, "depth": 1, "mlp_dim": 32}, path)
    assert main(["sim", "--model", str(path), "--cycles", "3000", "--no-synth", "--json"]) == 0
    (name, top), = json.loads(capsys.readouterr().out)["tops"].items()
    assert name.endswith("-c3000") and top["mismatches"] == 0 and top["images"] == 23
    assert 2000 < top["cycles_per_image"] <= 3000
    assert main(["bitstream", "--model", str(path), "--cycles", "3000", "--build-dir", str(tmp_path), "--json"]) == 0
    tcl = Path(json.loads(capsys.readouterr().out)["tcl"])
    assert json.loads((tcl.parent / "rtl" / "vit_accel.model.json").read_text())["plan"]["cycles_per_image"] == 3000
