"""Train, export and check one model, as `vitflow train` and the sweep do: the float model, QAT, the integer
model file, golden == Brevitas on the test split; the checkpoint and model file written beside `out`."""

from __future__ import annotations

import time
from pathlib import Path

from ..build import build_dir
from .errors import UserError


def output_paths(out: Path) -> tuple[Path, Path]:
    """The checkpoint (.pt) and model file (.npz) of `--out`: its name with the suffix added (`vit_v1.2` ->
    `vit_v1.2.pt`, not `vit_v1.pt`); an `--out` that names one of them gives the pair."""
    out = Path(out)
    base = out.with_suffix("") if out.suffix in (".pt", ".npz") else out
    return Path(f"{base}.pt"), Path(f"{base}.npz")


def with_pictures(data, tc):
    """(data set with tc.pictures rendered pictures per digit added to its training split, rendered
    non-digits or None): host/synthetic.py, framed as the trained model's pictures will be."""
    if not (tc.pictures or tc.outliers):
        return data, None
    if data.name != "digits":
        raise UserError("--pictures renders digits pictures for the digits data set; "
                        f"{data.name} is trained without them")
    from dataclasses import replace

    import numpy as np

    from .preprocess import framing_for
    from .synthetic import digit_pictures, outlier_pictures

    shape = list(data.x_train.shape[1:])
    framing = framing_for({"dataset": data.name, "train_config": tc.__dict__})
    if tc.pictures:
        x, y = digit_pictures(tc.pictures, shape, framing)
        data = replace(data, x_train=np.concatenate([data.x_train, x]), y_train=np.concatenate([data.y_train, y]))
    return data, outlier_pictures(tc.outliers, shape, framing) if tc.outliers else None


def rejection_threshold(logits, frac: int) -> float:
    """The top probability under which REJECT_DIGITS of the test split's digits would be "not a digit"."""
    import numpy as np

    from .accelerator import REJECT_DIGITS, probabilities

    return round(float(np.quantile(probabilities(logits, frac).max(1), REJECT_DIGITS)), 4)


def train_model(values: dict, data, out: Path | None, train_config: dict | None = None, qonnx: bool = False,
                progress: bool = True) -> dict:
    """Train the model of `values` (model fields over the arch's and the data set's defaults) on `data`, write
    its checkpoint and model file (output_paths(out); default <build>/models/ARCH) and, with `qonnx`, its QONNX
    file; returns the report `vitflow train` prints (config, accuracies, golden vs Brevitas mismatches, files)."""
    from ..model.config import config_for_data
    from ..model.train import TrainConfig, save_checkpoint, train
    from ..quant import golden
    from ..quant.export import brevitas_int_logits, export_int_model, export_qonnx

    # the arch's defaults, the data set's image (and patch), then the values: refused here, before training,
    # with one line saying what to change, when the flow cannot build the shape
    cfg = config_for_data(values, data.in_chans, data.img_size, data.num_classes, data.patch)
    tc = TrainConfig(**(train_config or {}))
    t0 = time.perf_counter()
    data, outliers = with_pictures(data, tc)
    try:
        fmodel, qmodel, metrics = train(cfg, data, tc, progress=progress, outliers=outliers)
    except ValueError as e:  # a shape config.validate let through: still one line
        raise UserError(f"cannot build {cfg.arch} for {data.name}: {e}") from None
    im = export_int_model(qmodel)
    g = golden.run(im, data.x_test)
    b = brevitas_int_logits(qmodel, data.x_test, im.formats()[im.output].frac)
    meta = {"dataset": data.name, "train_seconds": round(time.perf_counter() - t0, 1), **metrics,
            "golden_accuracy": float((g.argmax(1) == data.y_test).mean()),
            "golden_vs_brevitas_mismatches": int((g != b).any(1).sum()), "n_test": int(len(data.y_test)),
            "train_config": tc.__dict__}
    if tc.outliers:  # trained to answer no class on non-digits: its own threshold for "not a digit"
        meta["min_probability"] = rejection_threshold(g, im.formats()[im.output].frac)
    im.meta.update(meta)
    checkpoint, model_file = output_paths(out or build_dir("models", cfg.arch))
    save_checkpoint(checkpoint, cfg, fmodel, qmodel, meta)
    im.save(model_file)
    if qonnx:
        export_qonnx(qmodel, model_file.with_suffix(".onnx"))
    return {"arch": cfg.arch, "config": cfg.to_json(), **{k: v for k, v in meta.items() if k != "train_config"},
            "checkpoint": str(checkpoint), "model_file": str(model_file)}
