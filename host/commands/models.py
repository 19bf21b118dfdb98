"""`vitflow train / export / eval / infer / demo`: models and their accuracy."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ...model.config import ARCHS
from ..accelerator import MIN_PROBABILITY
from ..backends import BACKENDS, INTEGER_BACKENDS, ModelPaths, UserError, open_backend
from ..inputs import load_test_split
from .common import (
    add_json,
    add_model_args,
    add_shape_args,
    counting,
    min_probability,
    model_paths,
    picture_framing,
    picture_split,
    probability,
    reporting,
    shape_values,
)

PICTURES = {"pictures": 150, "outliers": 1500}  # `train --pictures` (the shipped models' setting)


def cmd_train(args) -> int:
    from ...model.datasets import load_dataset
    from ..training import train_model

    values = shape_values(args)  # a bad config file is refused before the data set loads
    data = load_dataset(args.dataset, args.data_dir)
    given = {"float_epochs": args.float_epochs, "qat_epochs": args.qat_epochs, "seed": args.seed,
             **(PICTURES if args.pictures else {})}
    report = train_model(values, data, Path(args.out) if args.out else None,
                         {k: v for k, v in given.items() if v is not None}, args.qonnx, progress=not args.quiet)
    print(json.dumps(report))
    return 1 if report["golden_vs_brevitas_mismatches"] else 0


def cmd_export(args) -> int:
    from ...model.train import load_checkpoint
    from ...quant.export import export_int_model, export_qonnx

    ck = Path(args.checkpoint)
    _, qmodel, meta = load_checkpoint(ck, quant=True)
    out = Path(args.out) if args.out else ck.with_suffix(".npz")
    with reporting(args) as emit:
        export_int_model(qmodel, meta).save(out)
        print(f"wrote {out}")
        qonnx = export_qonnx(qmodel, Path(args.qonnx)) if args.qonnx else None
        if qonnx:
            print(f"wrote {qonnx}")
        emit({"checkpoint": str(ck), "model_file": str(out), "qonnx": str(qonnx) if qonnx else None})
    return 0


def cmd_eval(args) -> int:
    from ...model.datasets import PICTURE_SETS
    from ..accelerator import logits_frac, verdicts

    paths = model_paths(args)
    backend = open_backend(args.backend, paths)
    if args.dataset in PICTURE_SETS:
        data, x, y, content = picture_split(args, paths, backend.input_shape)
    else:
        (data, x, y), content = load_test_split(args.dataset, args.data_dir, args.limit, backend.input_shape), None
    x = backend.check(x)
    t0 = time.perf_counter()
    logits = backend.logits(x)
    seconds = time.perf_counter() - t0
    threshold = min_probability(args, paths)
    rows = verdicts(logits, logits_frac(backend), content, threshold)
    result = {"arch": backend.arch, "dataset": data.name, "backend": backend.name,
              "seconds": round(seconds, 3), "min_probability": threshold, **answers(rows, y)}
    if content is None:  # a test split: the plain argmax accuracy, as every table of the project quotes it
        result["accuracy"] = float((logits.argmax(1) == y).mean())
    else:  # pictures: each variant on its own
        groups = data.variants[:len(y)]
        result["variants"] = {str(v): answers([r for r, g in zip(rows, groups) if g == v], y[groups == v])
                              for v in dict.fromkeys(groups)}
    if args.check:
        ref = open_backend(args.check, paths)
        if not (backend.integer and ref.integer):
            raise UserError("--check compares integer logits: use the integer backends "
                            f"({', '.join(INTEGER_BACKENDS)})")
        result["checked_against"] = ref.name
        result["mismatches"] = int((ref.logits(x) != logits).any(1).sum())
    print(json.dumps(result) if args.json else eval_text(result, args.check))
    return 1 if result.get("mismatches") else 0


def answers(rows: list[dict], y: np.ndarray) -> dict:
    """Accuracy of verdicts against labels (NOT_A_DIGIT: right when answered no content / not a digit) and
    the counts of each flag."""
    from ...model.wild import NOT_A_DIGIT

    said = np.array([-1 if r["class"] is None else r["class"] for r in rows])
    right = said == np.where(y == NOT_A_DIGIT, -1, y)
    return {"n": len(rows), "accuracy": float(right.mean()) if len(rows) else 0.0,
            "not_a_digit": sum(r["flag"] == "not a digit" for r in rows),
            "no_content": sum(r["flag"] == "no content" for r in rows)}


def eval_text(result: dict, check: str | None) -> str:
    lines = [f"{result['arch']} {result['backend']} on {result['dataset']} test ({result['n']} images): "
             f"accuracy {100 * result['accuracy']:.2f}%" + (f", {result['mismatches']} images differ from {check}"
                                                            if check else "")]
    for v, r in result.get("variants", {}).items():
        lines.append(f"  {v:<18} {r['n']:>5} pictures  accuracy {100 * r['accuracy']:6.2f}%  "
                     f"not a digit {r['not_a_digit']:>4}  no content {r['no_content']:>4}")
    lines.append(f"  answered 'not a digit' (probability under {result['min_probability']:.2f}) for "
                 f"{result['not_a_digit']}; no content found in {result['no_content']}")
    return "\n".join(lines)


def cmd_infer(args) -> int:
    from ..accelerator import logits_frac, verdicts
    from ..preprocess import read_inputs, steps_sheet

    if args.steps and args.raw:
        raise UserError("--steps shows the preprocessing: leave out --raw")
    paths = model_paths(args)
    backend = open_backend(args.backend, paths)
    names, images, prepared = read_inputs(args.images, backend.input_shape, picture_framing(paths), as_is=args.raw,
                                          keep_steps=bool(args.steps))
    logits = backend.logits(backend.check(images))
    content = None if args.raw else [p.content for p in prepared]
    threshold = min_probability(args, paths)
    rows = [{"image": name, **v, "logits": lg.tolist()} for name, v, lg in
            zip(names, verdicts(logits, logits_frac(backend), content, threshold), logits)]
    if not args.raw:
        for r, p in zip(rows, prepared):
            r["polarity"] = p.polarity
    if args.steps:
        print(f"wrote {steps_sheet([p.steps for p in prepared], Path(args.steps))}", file=sys.stderr)
    if args.json:
        print(json.dumps({"backend": backend.name, "preprocessed": not args.raw,
                          "min_probability": threshold, "results": rows}))
        return 0
    for r in rows:
        if r["flag"] == "no content":
            print(f"{r['image']}: no digit found (blank picture)")
        elif r["flag"]:
            print(f"{r['image']}: not a digit (best guess {r['guess']}, probability {r['probability']:.2f}, under "
                  f"{threshold:.2f})")
        else:
            print(f"{r['image']}: class {r['class']} (probability {r['probability']:.2f})")
    return 0


def cmd_demo(args) -> int:
    """Every shipped model on the digits test split: golden integer model vs Brevitas, accuracy and speed."""
    from ...model.datasets import digits

    data = digits()
    rows = []
    with reporting(args) as emit:
        print(f"digits test split: {len(data.y_test)} images, 8x8 grey\n")
        print(f"{'arch':<10} {'params':>7} {'float':>7} {'brevitas':>9} {'golden':>7} {'mismatches':>11} "
              f"{'golden s':>9}")
        for arch in ARCHS:
            r = demo_row(ModelPaths.resolve(arch, None), data)
            rows.append(r)
            print(f"{arch:<10} {r['params']:>7} {r['float']:>6.2f}% {r['brevitas']:>8.2f}% {r['golden']:>6.2f}% "
                  f"{r['mismatches']:>11} {r['golden_seconds']:>9.2f}")
        pred = open_backend("golden", ModelPaths.resolve("vit", None)).logits(data.x_test[:8]).argmax(1)
        print("\nfirst test images, golden vit prediction (label):")
        for row in range(8):
            print("  ".join("".join(" .:-=+*#%@"[min(9, int(v) // 26)] for v in data.x_test[i, 0, row])
                            for i in range(8)))
        print("  ".join(f"{p}({t})".ljust(8) for p, t in zip(pred, data.y_test[:8])))
        emit({"dataset": "digits", "images": int(len(data.y_test)), "models": rows})
    return 1 if any(r["mismatches"] for r in rows) else 0


def demo_row(paths: ModelPaths, data) -> dict:
    """One shipped model's accuracy (%) on float, Brevitas and golden, their mismatches and golden's time."""
    accs, ints = {}, {}
    for name in ("torch", "brevitas", "golden"):
        be = open_backend(name, paths)
        t0 = time.perf_counter()
        lg = be.logits(data.x_test)
        secs = time.perf_counter() - t0
        accs[name], ints[name] = round(100 * float((lg.argmax(1) == data.y_test).mean()), 2), lg
    params = sum(p.numel() for p in open_backend("torch", paths).model.parameters())
    return {"arch": paths.model_file.stem, "params": params, "float": accs["torch"], "brevitas": accs["brevitas"],
            "golden": accs["golden"], "mismatches": int((ints["golden"] != ints["brevitas"]).any(1).sum()),
            "golden_seconds": round(secs, 3)}


def add_parsers(sub) -> None:
    """The parsers of train, eval, export, infer, demo."""
    t = sub.add_parser("train", help="float training + Brevitas QAT; writes checkpoint and model file")
    add_model_args(t, model=False)
    add_shape_args(t)
    t.add_argument("--float-epochs", type=counting(1))
    t.add_argument("--qat-epochs", type=counting(1))
    t.add_argument("--seed", type=counting(0))
    t.add_argument("--pictures", action="store_true",
                   help="digits only: also train on rendered pictures through the preprocessing (photos, ruled "
                        "paper, thin pen, script, fonts) and on non-digits towards no class (host/synthetic.py)")
    t.add_argument("--out", help="output prefix (default build/models/ARCH): writes PREFIX.pt and PREFIX.npz")
    t.add_argument("--qonnx", action="store_true", help="also write PREFIX.onnx (QONNX, cleaned)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="accuracy of a backend on a test split")
    add_model_args(e, bitstream=True)
    e.add_argument("--backend", choices=BACKENDS, default="golden")
    e.add_argument("--check", choices=INTEGER_BACKENDS, help="count images whose integer logits differ")
    e.add_argument("--limit", type=counting(1), help="first N test images only")
    e.add_argument("--min-probability", type=probability,
                   help="answer 'not a digit' below this probability (default: the model's)")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=cmd_eval)

    x = sub.add_parser("export", help="checkpoint -> integer model file (and QONNX)")
    x.add_argument("--checkpoint", required=True)
    x.add_argument("--out", help="model file path (default: beside the checkpoint, .npz)")
    x.add_argument("--qonnx", help="also write a cleaned QONNX model here")
    add_json(x)
    x.set_defaults(func=cmd_export)

    i = sub.add_parser("infer", help="classify pictures (PNG/JPEG/... or .npy batches), preprocessed like the "
                                     "training data; each with its probability")
    add_model_args(i, data=False, bitstream=True)
    i.add_argument("--backend", choices=BACKENDS, default="golden")
    i.add_argument("--json", action="store_true")
    i.add_argument("--raw", action="store_true", help="no preprocessing: pictures of the model's input size, "
                                                      "pixels as they are")
    i.add_argument("--min-probability", type=probability,
                   help="answer 'not a digit' below this probability (default: the model's calibrated threshold, "
                        f"else {MIN_PROBABILITY})")
    i.add_argument("--steps", metavar="PNG", help="also write a picture of every preprocessing step of each image")
    i.add_argument("images", nargs="+")
    i.set_defaults(func=cmd_infer)

    d = sub.add_parser("demo", help="the shipped models on the digits test split")
    add_json(d)
    d.set_defaults(func=cmd_demo)
