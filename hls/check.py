"""`make hls` / `vitflow hls`: one hls4ml project per kernel and one per model, C-simulated and compared with
the golden model; results in build/hls/report.json. C synthesis runs only where vitis_hls is on PATH."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from ..build import build_dir
from ..quant import golden
from ..quant.golden import windowed
from ..quant.model_file import IntModel, Op, write_json_atomic
from .csim import Project, kernel_project, model_project
from .graph import to_golden

N_RANDOM = 1000



def hls_build(*parts: str) -> Path:
    """Where the HLS projects and reports go: <build>/hls (vitflow.build)."""
    return build_dir("hls", *parts)

def kernel_variants(m: IntModel) -> list[Op]:
    """One op per distinct kernel variant of the model (e.g. the head's raw-accumulator linear separately)."""
    seen, ops = set(), []
    for op in m.ops:
        key = (op.op, len(op.inputs), bool(op.attrs.get("raw")), tuple(sorted(op.arrays)),
               *(op.attrs.get(a) for a in ("shift", "stride", "padding", "groups")))
        if key not in seen:
            seen.add(key)
            ops.append(op)
    return ops


def kernel_vectors(m: IntModel, op: Op, shapes: dict, n: int, seed: int = 0) -> list[np.ndarray]:
    """Per input: all-zero, all-max, all-min, random extremes, then n uniform random vectors of its format."""
    rng = np.random.default_rng(seed)
    fmts = m.formats()
    xs = []
    for t in dict.fromkeys(op.inputs):
        f, shape = fmts[t], shapes[t]
        edges = [np.zeros(shape), np.full(shape, f.max), np.full(shape, f.min),
                 rng.choice([f.min, f.max], shape)]
        xs.append(np.concatenate([np.stack(edges), rng.integers(f.min, f.max + 1, (n, *shape))]).astype(np.int64))
    return xs


def check_kernel(m: IntModel, op: Op, build_dir: Path, n: int = N_RANDOM) -> dict:
    t0 = time.perf_counter()
    proj = kernel_project(m, op, build_dir)
    xs = kernel_vectors(m, op, proj.shapes, n)
    env = {t: to_golden(x, windowed(m, t)) for t, x in zip(dict.fromkeys(op.inputs), xs)}
    ref = golden.run_op(m, op, [env[i] for i in op.inputs], m.formats()).reshape(len(xs[0]), -1)
    got = proj.run(xs)
    return {"name": op.name, "kernel": op.op, "n_checked": len(xs[0]), "mismatches": int((got != ref).any(1).sum()),
            "rebuilt": proj.rebuilt, "seconds": round(time.perf_counter() - t0, 2)}


def csim_logits(proj: Project, images: np.ndarray, batch: int = 256) -> np.ndarray:
    return np.concatenate([proj.run([images[i:i + batch]]) for i in range(0, len(images), batch)])


def check_model(m: IntModel, build_dir: Path, images: np.ndarray, labels: np.ndarray) -> dict:
    t0 = time.perf_counter()
    proj = model_project(m, build_dir)
    got = csim_logits(proj, images)
    ref = golden.run(m, images)
    return {"arch": m.arch, "n": len(images), "accuracy": float((got.argmax(1) == labels).mean()),
            "mismatches": int((got != ref).any(1).sum()), "rebuilt": proj.rebuilt,
            "seconds": round(time.perf_counter() - t0, 2), "project": str(proj.outdir)}


def synthesize(proj: Project) -> dict:
    """C synthesis with vitis_hls when it is installed; otherwise say so."""
    if shutil.which("vitis_hls") is None:
        return {"skipped": "vitis_hls not on PATH: C synthesis skipped (C-simulation still checked)"}
    report = proj.graph.build(csim=False, synth=True, vsynth=False)
    return {"report": json.loads(json.dumps(report, default=str))}


def run(models: dict[str, IntModel], images, labels, build_root: Path | None = None, n_random: int = N_RANDOM,
        log=print) -> dict:
    """Every kernel variant and the whole model of each arch; writes build_root/report.json (default <build>/hls)."""
    build_root = Path(build_root) if build_root else hls_build()
    report = {"kernels": [], "models": [], "synthesis": {}}
    for arch, m in models.items():
        build_dir = Path(build_root) / arch
        for op in kernel_variants(m):
            r = {"arch": arch, **check_kernel(m, op, build_dir / "kernels", n_random)}
            report["kernels"].append(r)
            log(f"{arch:<10} {r['kernel']:<17} {r['name']:<28} {r['n_checked']:>6} {r['mismatches']:>10} "
                f"{r['seconds']:>7.1f}s")
        r = check_model(m, build_dir, images, labels)
        report["models"].append(r)
        log(f"{arch:<10} {'whole model':<17} {r['project']:<28} {r['n']:>6} {r['mismatches']:>10} "
            f"{r['seconds']:>7.1f}s  accuracy {100 * r['accuracy']:.2f}%")
        report["synthesis"][arch] = synthesize(model_project(m, build_dir))
    write_json_atomic(Path(build_root) / "report.json", report)
    return report
