"""The PNG plots of `vitflow report`: one function per plot, each drawing only the numbers it is given (read from
the project's JSON reports by host/report.py) and writing its file atomically."""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a build machine or in CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from ..quant.model_file import write_atomic  # noqa: E402

OK, BAD, NONE = "#3a7d44", "#c0392b", "#9e9e9e"  # no mismatch / mismatches / not measured
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
plt.rcParams.update({"font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold", "figure.dpi": 110})


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, lambda f: f.write(buf.getvalue()))
    return path


def _group_offsets(n: int, width: float) -> list[float]:
    return [(i - (n - 1) / 2) * width for i in range(n)]


def accuracy(rows: dict[str, dict[str, float | None]], columns: dict[str, str], path: Path) -> Path:
    """Grouped bars: per arch, one bar per column (float / int8 / int4 weights), percent; missing: a grey note."""
    archs = list(rows)
    values = [v for r in rows.values() for v in r.values() if v is not None]
    floor = max(0.0, math.floor(min(values, default=90.0)) - 4)  # the differences are tenths of a percent
    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * len(archs)), 4.2))
    width = 0.8 / len(columns)
    for k, (key, dx) in enumerate(zip(columns, _group_offsets(len(columns), width))):
        for i, arch in enumerate(archs):
            v = rows[arch].get(key)
            if v is None:
                ax.text(i + dx, floor + 0.3, "not\nmeasured", ha="center", va="bottom", fontsize=7, color=NONE)
                continue
            ax.bar(i + dx, v - floor, width, bottom=floor, color=PALETTE[k])
            ax.text(i + dx, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(archs)), archs)
    ax.set_ylim(floor, 102)  # room for the legend above 100%
    ax.set_yticks([t for t in ax.get_yticks() if floor <= t <= 100])
    ax.set_ylabel(f"test accuracy, % (axis from {floor:.0f}%)")
    ax.set_title("Accuracy: float vs integer weights")
    ax.legend([plt.Rectangle((0, 0), 1, 1, color=PALETTE[k]) for k in range(len(columns))], list(columns.values()),
              loc="upper center", ncol=len(columns), fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def ladder(rungs: dict[str, list[dict]], path: Path) -> Path:
    """Per arch, one bar per rung: images (or vectors) checked, log scale; the label says how many differ (green:
    none, red: some); a rung without a result is marked "not measured"."""
    archs = list(rungs)
    names = list(dict.fromkeys(r["rung"] for rs in rungs.values() for r in rs))
    fig, ax = plt.subplots(figsize=(max(7.5, 2.8 * len(archs)), 4.8))
    width = 0.8 / max(len(names), 1)
    for k, (name, dx) in enumerate(zip(names, _group_offsets(len(names), width))):
        for i, arch in enumerate(archs):
            r = next((r for r in rungs[arch] if r["rung"] == name), None)
            if r is None or not r.get("checked"):
                ax.text(i + dx, 1.2, "not measured", ha="center", va="bottom", fontsize=7, color=NONE, rotation=90)
                continue
            ax.bar(i + dx, r["checked"], width, color=PALETTE[k % len(PALETTE)])
            bad = r.get("mismatches") or 0
            ax.text(i + dx, r["checked"] * 1.15, f"{r['checked']:,}\n{bad} differ", ha="center", va="bottom",
                    fontsize=7, color=BAD if bad else OK, fontweight="bold")
    ax.set_yscale("log")
    ax.set_ylim(1, max([r.get("checked") or 1 for rs in rungs.values() for r in rs] + [10]) * 40)
    ax.set_xticks(range(len(archs)), archs)
    ax.set_ylabel("images checked (HLS kernels: vectors), log scale")
    ax.set_title("Verification ladder: each rung against the one above")
    ax.legend([plt.Rectangle((0, 0), 1, 1, color=PALETTE[k % len(PALETTE)]) for k in range(len(names))], names,
              fontsize=7, loc="upper center", ncol=2)
    return _save(fig, path)


def fmax(arch: str, instances: list[tuple[str, str, float]], target_mhz: float | None, path: Path,
         shown: int = 25) -> Path:
    """Horizontal bars: the `shown` slowest instances (name, module, Fmax MHz) of one top, the target as a line."""
    slow = sorted(instances, key=lambda t: t[2])[:shown]
    modules = list(dict.fromkeys(m for _, m, _ in slow))
    fig, ax = plt.subplots(figsize=(8.0, max(3.2, 1.2 + 0.26 * len(slow))))
    for y, (_, module, f) in enumerate(reversed(slow)):
        ax.barh(y, f, color=PALETTE[modules.index(module) % len(PALETTE)])
        ax.text(f, y, f" {f:.1f}", va="center", fontsize=7)
    ax.set_yticks(range(len(slow)), [n for n, _, _ in reversed(slow)], fontsize=7)
    if target_mhz:
        ax.axvline(target_mhz, color=BAD, linestyle="--", label=f"target {target_mhz:.0f} MHz")
    handles = [plt.Rectangle((0, 0), 1, 1, color=PALETTE[i % len(PALETTE)]) for i in range(len(modules))]
    ax.legend(handles + ax.get_legend_handles_labels()[0], modules + ax.get_legend_handles_labels()[1],
              fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_xlim(0, max(f for _, _, f in slow) * 1.12)
    ax.set_xlabel("Fmax, MHz (ECP5 LFE5UM5G-85F speed 8, nextpnr, out of context)")
    ax.set_title(f"{arch}: Fmax of the {len(slow)} slowest of {len(instances)} instances")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def cycles(rows: list[tuple[str, float]], budget: int | None, path: Path) -> Path:
    """Horizontal bars: cycles per image (II x tokens) of each kernel testbench and each whole top."""
    fig, ax = plt.subplots(figsize=(8.0, max(3.2, 1.2 + 0.26 * len(rows))))
    for y, (label, c) in enumerate(reversed(rows)):
        ax.barh(y, c, color=PALETTE[1] if label.startswith("vit_accel") else PALETTE[0])
        ax.text(c, y, f" {c:,.0f}", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)), [label for label, _ in reversed(rows)], fontsize=7)
    if budget:
        ax.axvline(budget, color=BAD, linestyle="--", label=f"budget {budget:,} cycles per image")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel("cycles per image, back to back (RTL simulation, Verilator)")
    ax.set_title("Cycles per image: kernel testbenches and whole tops")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def resources(fractions: dict[str, dict[str, float]], path: Path) -> Path:
    """Grouped bars: LUT / FF / DSP / BRAM36 of each top as % of the xc7z020, 100% as a line."""
    kinds = list(dict.fromkeys(k for f in fractions.values() for k in f))
    archs = list(fractions)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    width = 0.8 / len(archs)
    for k, (arch, dx) in enumerate(zip(archs, _group_offsets(len(archs), width))):
        vals = [100 * fractions[arch].get(kind, 0.0) for kind in kinds]
        ax.bar([i + dx for i in range(len(kinds))], vals, width, color=PALETTE[k], label=arch)
        for i, v in enumerate(vals):
            ax.text(i + dx, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(100, color=BAD, linestyle="--", label="xc7z020 capacity")
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_ylabel("% of the xc7z020 (PYNQ-Z2)")
    ax.set_title("Resources per top (Yosys synth_xilinx)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def images_per_s(rows: dict[str, tuple[float, float, float]], path: Path) -> Path:
    """Bars: images/s of each top at its measured clock; the label gives clock and cycles per image."""
    archs = list(rows)
    fig, ax = plt.subplots(figsize=(max(5.5, 1.8 * len(archs)), 4.0))
    for i, arch in enumerate(archs):
        ips, mhz, cyc = rows[arch]
        ax.bar(i, ips, 0.6, color=PALETTE[i % len(PALETTE)])
        ax.text(i, ips, f"{ips:,.0f}\n{mhz:.1f} MHz / {cyc:,.0f} cycles", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(archs)), archs)
    ax.set_ylim(0, max(r[0] for r in rows.values()) * 1.25)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel("images/s = clock / cycles per image")
    ax.set_title("Accelerator throughput at the measured clock\n(ECP5 place-and-route clock, RTL-simulated cycles)",
                 fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def host_throughput(rows: dict[str, list[tuple[str, float, str]]], path: Path) -> Path:
    """Grouped bars, log scale: images/s of each host backend (per model); a simulator's rate is marked."""
    archs = list(rows)
    backends = list(dict.fromkeys(b for r in rows.values() for b, _, _ in r))
    fig, ax = plt.subplots(figsize=(max(7.0, 2.5 * len(archs)), 4.2))
    width = min(0.8 / len(backends), 0.2)
    for k, (backend, dx) in enumerate(zip(backends, _group_offsets(len(backends), width))):
        for i, arch in enumerate(archs):
            hit = next((r for r in rows[arch] if r[0] == backend), None)
            if hit is None:
                continue
            _, ips, basis = hit
            ax.bar(i + dx, ips, width, color=PALETTE[k % len(PALETTE)], hatch=None if basis == "measured" else "//",
                   label=backend if i == 0 or all(b != backend for a in archs[:i] for b, _, _ in rows[a]) else None)
            ax.text(i + dx, ips * 1.1, f"{ips:,.0f}", ha="center", va="bottom", fontsize=7, rotation=90)
    rates = [ips for r in rows.values() for _, ips, _ in r]
    ax.set_yscale("log")
    ax.set_ylim(max(1.0, min(rates) / 30), max(rates) * 30)
    ax.set_xticks(range(len(archs)), archs)
    ax.set_ylabel("images/s on this host, log scale (hatched: modeled)")
    ax.set_title("Host throughput per backend (vitflow bench)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def stock_kernels(kinds: dict[str, list[tuple[str, float, float]]], path: Path) -> Path:
    """Per kernel kind, one panel: max and mean absolute error against float of each configuration (ours, hls4ml
    default, hls4ml tuned), log scale."""
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 4.2), squeeze=False)
    for ax, (kind, rows) in zip(axes[0], kinds.items()):
        for k, (label, dx) in enumerate(zip(("max", "mean"), _group_offsets(2, 0.38))):
            for i, row in enumerate(rows):
                v = row[1 + k]
                ax.bar(i + dx, v, 0.38, color=PALETTE[k], label=f"{label} abs error" if i == 0 else None)
                ax.text(i + dx, v * 1.15, f"{v:.2g}", ha="center", va="bottom", fontsize=7)
        ax.set_yscale("log")
        ax.set_ylim(min(r[2] for r in rows) / 5, max(r[1] for r in rows) * 8)
        ax.set_xticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
        ax.set_ylabel("absolute error vs float64, log scale")
        ax.set_title(kind, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("hls4ml stock kernels vs our integer kernels, same inputs", fontweight="bold")
    return _save(fig, path)
