"""`vitflow bench`: throughput (images/s, whole batch) and latency (batch of 1) of each backend on the same
images. Backends are timed round-robin (round r runs every backend once), so a busy machine slows all alike;
each figure is the median over rounds. A backend that cannot run here is listed as skipped, with the reason."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .backends import BACKENDS, missing, open_backend
from .errors import UserError, user_errors

PAUSE_S = 0.25  # before each backend's turn: the previous one's thread pools (torch, onnxruntime) spin idle


def open_backends(names: list[str], paths) -> tuple[dict, list[dict]]:
    """The backends of `names` that can run here (name -> backend), and the others with the reason."""
    if unknown := [b for b in names if b not in BACKENDS]:
        raise UserError(f"unknown backend '{unknown[0]}' (choose from {', '.join(BACKENDS)})")
    opened, skipped = {}, []
    for name in dict.fromkeys(names):
        why = missing(name)
        if why is None:
            try:
                opened[name] = open_backend(name, paths)
            except Exception as e:
                if not isinstance(e, user_errors()):
                    raise
                why = str(e)
        if why:
            skipped.append({"backend": name, "reason": why})
    if not opened:
        raise UserError("no backend of --backends can run here: " + "; ".join(s["reason"] for s in skipped))
    return opened, skipped


def agreement(opened: dict, x: np.ndarray, y: np.ndarray) -> dict[str, dict]:
    """Per backend, a warm-up run: its accuracy and, for integer backends, the images whose logits differ from
    the first integer backend's."""
    first, ref, results = next(iter(opened.values())), None, {}
    for name, be in opened.items():
        if list(be.input_shape) != list(first.input_shape):
            raise UserError(f"backends {first.name} and {name} take different images: one model for all")
        xb = be.check(x[:be.bench_images])
        lg = be.logits(xb)
        results[name] = {"backend": name, "integer": be.integer, "images": int(len(xb)),
                         "accuracy": float((lg.argmax(1) == y[:len(xb)]).mean())}
        if be.integer:
            ref = ref or (name, lg)
            n = min(len(lg), len(ref[1]))
            results[name].update(differs_from=ref[0], mismatches=int((lg[:n] != ref[1][:n]).any(1).sum()))
    return results


def timed_rounds(opened: dict, results: dict, x: np.ndarray, repeat: int, singles: list) -> None:
    """Median seconds of a whole batch and of a batch of 1 per backend into its result: images_per_s and
    latency_ms (a simulator's from its cycle counts: rate_basis says which)."""
    times = {name: ([], []) for name in opened}
    for _ in range(repeat):
        for name, be in opened.items():
            if be.rate_basis != "measured":  # a simulator: its rates are cycle counts, not this machine's time
                continue
            time.sleep(PAUSE_S)
            t0 = time.perf_counter()
            be.logits(x[:results[name]["images"]])
            times[name][0].append(time.perf_counter() - t0)
            for one in singles:
                t0 = time.perf_counter()
                be.logits(one)
                times[name][1].append(time.perf_counter() - t0)
    for name, be in opened.items():
        batch_s, single_s = (float(np.median(t)) if t else None for t in times[name])
        results[name].update(images_per_s=round(be.images_per_s(results[name]["images"], batch_s), 1),
                             latency_ms=round(1e3 * be.latency_s(single_s), 3), rate_basis=be.rate_basis)


def run(names: list[str], paths, images: Callable, repeat: int, latency_images: int, dataset: str) -> dict:
    """The bench report of the backends `names` on `images(input_shape)` -> (x, y)."""
    opened, skipped = open_backends(names, paths)
    first = next(iter(opened.values()))
    x, y = images(first.input_shape)
    results = agreement(opened, x, y)
    singles = [x[i:i + 1] for i in range(min(latency_images, len(x)))]
    timed_rounds(opened, results, x, repeat, singles)
    rows = list(results.values())
    report = {"arch": first.arch, "dataset": dataset, "images": int(len(x)), "rounds": repeat,
              "latency_images": len(singles), "backends": rows, "skipped": skipped}
    rate = {r["backend"]: r["images_per_s"] for r in rows}
    if "golden" in rate and "onnxruntime" in rate:
        report["golden_vs_onnxruntime"] = round(rate["golden"] / rate["onnxruntime"], 3)
    return report


def lines(report: dict) -> list[str]:
    """The report as a table."""
    out = [f"{report['arch']} on {report['dataset']} test images: {report['images']} per batch, latency on batches "
           f"of 1 ({report['latency_images']} images), median of {report['rounds']} rounds",
           f"{'backend':<12} {'images/s':>10} {'latency ms':>11} {'accuracy':>9}  logits"]
    for r in report["backends"]:
        agree = (f"{r['mismatches']} images differ from {r['differs_from']}" if r["differs_from"] != r["backend"]
                 else "integer (reference)") if r["integer"] else "float"
        basis = "" if r["rate_basis"] == "measured" else f"  [{r['rate_basis']}]"
        out.append(f"{r['backend']:<12} {r['images_per_s']:>10,.0f} {r['latency_ms']:>11.3f} "
                   f"{100 * r['accuracy']:>8.2f}%  {agree}{basis}")
    out += [f"{s['backend']:<12} {'skipped':>10}  {s['reason']}" for s in report["skipped"]]
    if "golden_vs_onnxruntime" in report:
        out.append(f"golden / onnxruntime throughput: {report['golden_vs_onnxruntime']:.2f}x")
    return out
