"""The driver API on every integer backend this machine has: golden == rtlsim (the board driver against the
simulated vit_accel) on test and edge images; classify; bad input as one-line errors."""

import numpy as np
import pytest

from vitflow.host.accelerator import Accelerator
from vitflow.host.backends import UserError
from vitflow.model.datasets import digits


def images(n: int) -> np.ndarray:
    x = digits().x_test[:n]
    edge = np.stack([np.zeros_like(x[0]), np.full_like(x[0], 255)])
    return np.concatenate([edge, x])


def test_rtlsim_equals_golden():
    x = images(20)
    with Accelerator(backend="golden") as gold, Accelerator(backend="rtlsim") as rtl:
        want, got = gold.infer(x), rtl.infer(x)
        assert got.dtype == np.int64 and got.shape == want.shape
        assert int((got != want).any(1).sum()) == 0
        assert rtl.stats["FRAMES_OUT"] == len(x) and rtl.stats["cycles_per_image"] > 0
        classes, confidence = rtl.classify(x[:4])
        assert (classes == want[:4].argmax(1)).all() and ((confidence > 0) & (confidence <= 1)).all()


def test_bad_input_is_one_line():
    acc = Accelerator(backend="golden")
    with pytest.raises(UserError, match="empty batch"):
        acc.infer(np.zeros((0, 1, 8, 8), np.uint8))
    with pytest.raises(UserError, match="shape"):
        acc.infer(np.zeros((2, 1, 9, 8), np.uint8))
    with pytest.raises(UserError, match="uint8"):
        acc.infer(np.full((1, 1, 8, 8), 300))
    with pytest.raises(UserError, match="unknown backend"):
        Accelerator(backend="fpga")


def test_board_backend_needs_a_board(tmp_path):
    from vitflow.host.board import Board

    bit = tmp_path / "vit_accel.bit"
    bit.write_bytes(b"")
    try:
        import pynq  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match="runs on a PYNQ board"):
            Accelerator(backend="board", bitstream=bit)
    model = Accelerator(backend="golden").model
    with pytest.raises(UserError, match="not found"):
        Board(model, tmp_path / "missing.bit", pynq=object())
    with pytest.raises(UserError, match=r"\.hwh"):
        Board(model, bit, pynq=object())


def test_cli_infer_rtlsim_equals_golden(tmp_path, capsys):
    import json

    from vitflow.host.cli import main

    files = []
    for k, img in enumerate(images(3)):
        files.append(str(tmp_path / f"img{k}.npy"))
        np.save(files[-1], img)
    out = {}
    for backend in ("golden", "rtlsim"):
        assert main(["infer", "--backend", backend, "--json", *files]) == 0
        out[backend] = json.loads(capsys.readouterr().out)["results"]
    assert out["rtlsim"] == out["golden"]
