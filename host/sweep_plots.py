"""The Pareto plots of `vitflow sweep`: test accuracy vs LUT and vs DSP, and images/s (at a measured Fmax) vs LUT
or, without timing, cycles per image vs LUT; each point a trial, its Pareto front drawn and labelled."""

from __future__ import annotations

import io
from pathlib import Path

from ..quant.model_file import write_atomic
from ..rtl.plan import XC7Z020  # the board's capacity, drawn as a line

COLORS = {8: "#1f77b4", 4: "#ff7f0e"}  # by weight bits


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points that no other point dominates, both coordinates to be minimized: none other is
    at most as large in both and smaller in one."""
    return [i for i, (x, y) in enumerate(points)
            if not any(a <= x and b <= y and (a < x or b < y) for a, b in points)]


SHORT = {"weight_bits": "w", "dim": "d", "depth": "L", "heads": "h", "mlp_dim": "mlp", "patch": "p", "window": "win",
         "budget": "B"}  # a trial's label: its grid point, e.g. "w4 d32 L2 B2000"


def label(t: dict) -> str:
    return " ".join(str(v) if k == "arch" else f"{SHORT[k]}{v}" for k, v in t["point"].items())


def scatter(trials: list[dict], axis: dict, maximize_y: bool, path: Path) -> Path:
    """One Pareto plot of the trials: `axis` holds the coordinates' functions x(trial) and y(trial), the labels,
    the title and the capacity line; the front minimizes x and maximizes (or minimizes) y."""
    import matplotlib

    matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt

    xs = [axis["x"](t) for t in trials]
    ys = [axis["y"](t) for t in trials]
    front = sorted(pareto([(a, -b if maximize_y else b) for a, b in zip(xs, ys)]), key=lambda i: xs[i])
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for bits in sorted({t["config"]["weight_bits"] for t in trials}, reverse=True):
        idx = [i for i, t in enumerate(trials) if t["config"]["weight_bits"] == bits]
        ax.scatter([xs[i] for i in idx], [ys[i] for i in idx], s=36, color=COLORS.get(bits, "#7f7f7f"),
                   label=f"int{bits} weights", zorder=3)
    ax.step([xs[i] for i in front], [ys[i] for i in front], where="post", color="#2ca02c", lw=1.2,
            label="Pareto front", zorder=2)
    for i in front:
        ax.annotate(label(trials[i]), (xs[i], ys[i]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    if axis.get("capacity"):
        ax.axvline(axis["capacity"], color="#c0392b", ls="--", lw=1, label=f"xc7z020: {axis['capacity']:,}")
    ax.set(title=axis["title"], xlabel=axis["xlabel"], ylabel=axis["ylabel"])
    ax.set_xlim(left=0)  # the scale of the device
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_atomic(path, lambda f: f.write(buf.getvalue()))
    return path


def plot_all(trials: list[dict], folder: Path) -> dict:
    """The sweep's plots in `folder` (file names relative to it), or why a plot was not drawn."""
    done = [t for t in trials if "error" not in t]
    if not any("resources" in t for t in done):
        return {"skipped": "no trial with Yosys resources (--no-synth, or none done): no plot against LUT / DSP"}
    done = [t for t in done if "resources" in t]
    acc = {"y": lambda t: 100 * t["training"]["golden_accuracy"],
           "ylabel": "test accuracy, golden integer model (%)"}
    lut = {"x": lambda t: t["resources"]["LUT"], "xlabel": "LUT (Yosys synth_xilinx, xc7)",
           "capacity": XC7Z020["LUT"]}
    plots = {"accuracy_vs_lut": scatter(done, {
                 **acc, **lut, "title": "Accuracy vs LUT (digits test split)"}, True, folder / "accuracy_vs_lut.png"),
             "accuracy_vs_dsp": scatter(done, {
                 **acc, "x": lambda t: t["resources"]["DSP"], "xlabel": "DSP48E1 (Yosys synth_xilinx, xc7)",
                 "capacity": XC7Z020["DSP"], "title": "Accuracy vs DSP (digits test split)"},
                 True, folder / "accuracy_vs_dsp.png")}
    if all("images_per_s" in t for t in done):  # a measured Fmax on every trial
        sims = all(t["images_per_s_cycles"] == "simulation" for t in done)
        plots["images_per_s_vs_lut"] = scatter(done, {
            **lut, "y": lambda t: t["images_per_s"],
            "ylabel": f"images/s (measured Fmax, ECP5 / {'simulated' if sims else 'planned'} cycles per image)",
            "title": "Images/s vs LUT"}, True, folder / "images_per_s_vs_lut.png")
    else:
        sims = all("sim" in t for t in done)
        plots["cycles_vs_lut"] = scatter(done, {
            **lut, "y": lambda t: t["sim"]["cycles_per_image"] if sims else t["plan"]["cycles_per_image_estimate"],
            "ylabel": f"cycles per image ({'simulated' if sims else 'plan estimate'})",
            "title": "Cycles per image vs LUT (no measured Fmax: --timing gives images/s)"},
            False, folder / "cycles_vs_lut.png")
    return {k: str(v.relative_to(folder)) for k, v in plots.items()}
