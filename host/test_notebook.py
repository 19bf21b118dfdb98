"""The board package's notebook (host/notebooks/vit_accel.ipynb), executed headless with nbclient: every cell as
it ships, with its parameters cell set to the rtlsim backend (the same driver against the simulated
accelerator) and a few test images; the test split's answers == golden's, and no cell raises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vitflow.host.backends import ModelPaths

NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "vit_accel.ipynb"


def test_notebook_runs_on_rtlsim(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("cocotb")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (params,) = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    model = ModelPaths.resolve("vit", None).model_file
    params.source += f'\nBACKEND = "rtlsim"\nMODEL = "{model}"\nIMAGES = 8\n'  # the test's values, after the shipped
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    outputs = {i: "".join(o.get("text", "") for o in c.get("outputs", [])) for i, c in enumerate(nb.cells)
               if c.cell_type == "code"}
    text = "\n".join(outputs.values())
    assert "8 test images: accuracy" in text and "cycles per image" in text and "on the rtlsim backend" in text
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the test images and the pictures, each shown with their answers
    from vitflow.host.accelerator import Accelerator
    from vitflow.model.datasets import digits

    golden = Accelerator(model).classify(digits().x_test[:8])[0]
    accuracy = float(text.split("accuracy ")[1].split("%")[0])
    assert np.isclose(accuracy, 100 * (golden == digits().y_test[:8]).mean())
