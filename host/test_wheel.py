"""The package as a user installs it: the built wheel in a fresh venv (its dependencies borrowed from this
environment, the checkout nowhere on the path), run from another folder: `vitflow sim --kernel residual_add`
runs that kernel's cocotb testbench shipped in the wheel, and `vitflow infer --backend rtlsim` == golden."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv's bin folder, with the wheel of this checkout installed (no dependencies: they come from this
    environment's site-packages through a .pth file; the editable install's finder there is not loaded)."""
    pytest.importorskip("cocotb")
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp), str(ROOT)], check=True)
    venv = tmp / "venv"
    base = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True)
    wheel = next(tmp.glob("vitflow-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", str(wheel)], check=True)
    packages = subprocess.run([str(venv / "bin" / "python"), "-c", "import site; print(site.getsitepackages()[0])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    Path(packages, "dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    return venv / "bin"


def vitflow(bin_dir: Path, cwd: Path, *argv: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VITFLOW_BUILD", "PYTHONPATH")}
    r = subprocess.run([str(bin_dir / "vitflow"), *argv, "--json"], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def test_wheel_runs_a_kernel_testbench_and_rtlsim_outside_the_checkout(installed, tmp_path):
    where = subprocess.run([str(installed / "python"), "-c", "import vitflow; print(vitflow.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(ROOT) not in where  # the wheel's copy, not the checkout
    report = vitflow(installed, tmp_path, "sim", "--kernel", "residual_add", "--no-synth")
    assert report["testbench_exit_code"] == 0 and [k["kernel"] for k in report["kernels"]] == ["residual_add"]
    assert report["kernels"][0]["mismatches"] == 0 and (tmp_path / "build" / "sim" / "residual_add").is_dir()
    from vitflow.model.datasets import digits

    np.save(tmp_path / "two.npy", digits().x_test[:2])
    got = {b: [r["logits"] for r in vitflow(installed, tmp_path, "infer", "--backend", b, "--raw",
                                            "two.npy")["results"]] for b in ("golden", "rtlsim")}
    assert got["rtlsim"] == got["golden"]
