"""`vitflow report` / `make report`: the project's own measurements in one place, beside published ones.

Reads the JSON reports that `make hls`, `make sim`, `make timing` and `vitflow bench --out` write, measures accuracy
itself with the `vitflow eval` machinery (float: the torch backend; integer weights: golden; golden against
Brevitas), and writes build/report/REPORT.md with PNG plots (host/plots.py) and the published figures of
host/published.toml. Every number in REPORT.md is read from a JSON file that REPORT.md names with the command that
makes it; a missing file is a "not measured" line with that command, and the report is still written."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..quant.model_file import write_atomic, write_json_atomic
from .backends import ModelPaths, UserError, missing, open_backend

PUBLISHED = Path(__file__).with_name("published.toml")
ACCURACY_COLUMNS = {"float": "float (torch)", "int8": "int8 weights (golden)", "int4": "int4 weights (golden)"}


@dataclass
class Target:
    """One model in the report: its build folder name (the arch for a shipped model) and its files."""
    name: str
    arch: str
    paths: ModelPaths
    identity: int
    weight_bits: int

    @property
    def shipped(self) -> bool:
        return self.paths.shipped

    def command(self, cmd: str) -> str:
        """The command that makes this model's report of `cmd` (hls, sim, timing, bench)."""
        if self.shipped:
            return {"hls": "make hls", "sim": "make sim", "timing": "make timing",
                    "bench": f"vitflow bench --arch {self.arch} --out build/bench/{self.name}.json"}[cmd]
        extra = f" --out build/bench/{self.name}.json" if cmd == "bench" else ""
        return f"vitflow {cmd} --model {self.paths.model_file}{extra}"


@dataclass
class Source:
    """One JSON report: where it is, the command that makes it, its contents (None: not there) and a note."""
    path: Path
    command: str
    data: dict | None = None
    note: str | None = None  # why it is missing, or why its numbers may be stale (then `stale`)
    stale: bool = False

    @property
    def status(self) -> str:
        return f"stale: {self.note}" if self.stale else self.note or "read"


def show(path) -> str:
    """A path as REPORT.md names it: relative to the working folder when it is under it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def read_source(path: Path, command: str, model_file: Path | None = None) -> Source:
    """The report at `path`; a note when it is missing, unreadable or older than the model file it describes."""
    src = Source(Path(path), command)
    if not src.path.is_file():
        src.note = f"`{show(path)}` is missing: make it with `{command}`"
        return src
    try:
        src.data = json.loads(src.path.read_text())
    except (OSError, ValueError) as e:
        src.note = f"`{show(path)}` is unreadable ({type(e).__name__}): remake it with `{command}`"
        return src
    if model_file is not None and model_file.is_file() and src.path.stat().st_mtime < model_file.stat().st_mtime:
        src.stale = True
        src.note = f"`{show(path)}` is older than {show(model_file)}: its numbers may be another model's; " \
                   f"remake it with `{command}`"
    return src


def targets_for(arch: str, model: str | None) -> list[Target]:
    """The shipped models (`arch` or all), or the one model file `model`; a bad file is a UserError."""
    from ..model.config import ARCHS
    from .inputs import load_model

    chosen = [ModelPaths.resolve("vit", model)] if model else \
        [ModelPaths.resolve(a, None) for a in (ARCHS if arch == "all" else (arch,))]
    out = []
    for paths in chosen:
        m = load_model(paths)
        out.append(Target(paths.build_name(m.identity()), m.arch, paths, m.identity(),
                          int(m.config.get("weight_bits", 8))))
    return out


def evaluate(backend: str, paths: ModelPaths, x, y, ref=None) -> tuple[dict, object]:
    """`vitflow eval --backend BACKEND` on images x (labels y): (result, logits); `ref`: golden logits to count
    mismatching images against. A backend that cannot run here: ({"not_measured": why}, None)."""
    if why := missing(backend):
        return {"not_measured": why}, None
    if backend in ("torch", "brevitas"):
        if not paths.checkpoint.is_file():
            return {"not_measured": f"no checkpoint {paths.checkpoint} beside the model file"}, None
        import torch

        torch.set_num_threads(1)  # two cores shared with other jobs, and these models are tiny
    be = open_backend(backend, paths)
    t0 = time.perf_counter()
    logits = be.logits(be.check(x))
    r = {"backend": backend, "n": int(len(x)), "accuracy": float((logits.argmax(1) == y).mean()),
         "seconds": round(time.perf_counter() - t0, 3)}
    if ref is not None:
        r.update(checked_against="golden", mismatches=int((logits != ref).any(1).sum()))
    return r, logits


def measure_accuracy(targets: list[Target], dataset: str, data_dir: str | None, build_dir: Path) -> dict:
    """Per target on the test split: float (torch), its own weights (golden), Brevitas against golden, and for a
    shipped arch the int4-weight model at build/int4/ARCH.npz when there is one."""
    from .inputs import load_test_split

    out = {"dataset": dataset, "made_by": "vitflow report (the vitflow eval machinery)", "models": {}}
    for t in targets:
        golden = open_backend("golden", t.paths)
        data, x, y = load_test_split(dataset, data_dir, None, golden.input_shape)
        g, g_logits = evaluate("golden", t.paths, x, y)
        r = {"model_file": str(t.paths.model_file), "model_id": f"{t.identity:08x}", "dataset": data.name,
             "n": int(len(x)), f"int{t.weight_bits}": g, "float": evaluate("torch", t.paths, x, y)[0],
             "brevitas": evaluate("brevitas", t.paths, x, y, ref=g_logits)[0]}
        if t.shipped:
            r["int4"] = _int4(t, build_dir, x, y)
        for bits in (8, 4):
            r.setdefault(f"int{bits}", {"not_measured": f"the model file has int{t.weight_bits} weights"})
        out["models"][t.name] = r
    return out


def _int4(t: Target, build_dir: Path, x, y) -> dict:
    f = Path(build_dir) / "int4" / f"{t.arch}.npz"
    make = f"make one with `vitflow train --arch {t.arch} --weight-bits 4 --out {f.with_suffix('')}`"
    if not f.is_file():
        return {"not_measured": f"{f} is missing: {make}"}
    from ..quant.model_file import IntModel

    bits = IntModel.load(f).config.get("weight_bits", 8)
    if bits != 4:
        return {"not_measured": f"{f} has int{bits} weights: {make}"}
    return {**evaluate("golden", ModelPaths.resolve(t.arch, str(f)), x, y)[0], "model_file": str(f)}


def collect(t: Target, build_dir: Path, out_dir: Path) -> dict[str, Source]:
    """The JSON reports about target t, each a Source (read, or missing with the command that makes it)."""
    b, mf = Path(build_dir), t.paths.model_file
    sim = b / "sim" / t.name
    hls = b / "hls" / ("report.json" if t.shipped else f"{t.name}/report.json")
    src = {"accuracy": read_source(out_dir / "accuracy.json", "vitflow report"),
           "hls": read_source(hls, t.command("hls"), mf),
           "sim": read_source(sim / "report.json", t.command("sim"), mf),
           "resources": read_source(sim / "resources.json", t.command("sim"), mf),
           "timing": read_source(sim / "timing.json", t.command("timing"), mf),
           "bench": read_source(b / "bench" / f"{t.name}.json", t.command("bench"), mf)}
    made_for = (src["sim"].data or {}).get("model_id")
    if made_for and made_for != f"{t.identity:08x}":
        src["sim"].stale = True
        src["sim"].note = f"`{show(src['sim'].path)}` was made for model {made_for}, not this model file " \
                          f"({t.identity:08x}): remake it with `{src['sim'].command}`"
    return src


def ladder(t: Target, src: dict[str, Source]) -> list[dict]:
    """The verification ladder of one model: each rung against the one above, images checked and mismatches."""
    acc = (src["accuracy"].data or {}).get("models", {}).get(t.name, {})
    brev = acc.get("brevitas", {})
    why = brev.get("not_measured")  # e.g. torch not installed
    rows = [{"rung": "Brevitas (torch fake-quant)", "against": "labels (reference)", "checked": brev.get("n"),
             "mismatches": None, "source": src["accuracy"], "why": why},
            {"rung": "golden (NumPy integers)", "against": "Brevitas", "checked": brev.get("n"),
             "mismatches": brev.get("mismatches"), "source": src["accuracy"], "why": why}]
    hls = src["hls"].data or {}
    model = next((r for r in hls.get("models", []) if r.get("arch") == t.arch), None)
    kernels = [r for r in hls.get("kernels", []) if r.get("arch") == t.arch]
    rows.append({"rung": "HLS C-sim (whole model)", "against": "golden", "checked": model and model.get("n"),
                 "mismatches": model and model.get("mismatches"), "source": src["hls"]})
    rows.append({"rung": f"HLS C-sim ({len(kernels)} kernel variant{'s' * (len(kernels) != 1)})" if kernels
                 else "HLS C-sim (kernels)",
                 "against": "golden",
                 "checked": sum(r.get("n_checked", 0) for r in kernels) or None,
                 "mismatches": sum(r.get("mismatches", 0) for r in kernels) if kernels else None,
                 "source": src["hls"]})
    top = src["sim"].data or {}
    rows.append({"rung": "RTL sim (vit_accel, backpressure)", "against": "golden", "checked": top.get("images"),
                 "mismatches": None if "mismatches" not in top else top["mismatches"] + top.get("batch_mismatches", 0),
                 "source": src["sim"]})
    return rows


def clock(src: dict[str, Source]) -> dict | None:
    """Clock, cycles per image and images/s of one top: timing.json's own, or its clock over the cycles that
    report.json measured when timing.json's are missing or older (the two sources named)."""
    timing, top = (src["timing"].data or {}).get("top"), src["sim"].data or {}
    if not timing or not timing.get("clock_mhz"):
        return None
    below = len(timing.get("instances_below_target", []))
    target = (src["timing"].data or {}).get("target_mhz")
    base = {"clock_mhz": timing["clock_mhz"], "slowest": timing.get("slowest_instance"),
            "below": f"{below} (target {target} MHz)" if target else below}
    cycles, note = top.get("cycles_per_image"), None
    if timing.get("cycles_per_image") and (cycles is None or cycles == timing["cycles_per_image"]):
        cycles, ips = timing["cycles_per_image"], timing["images_per_s"]
    elif cycles:
        ips = round(timing["clock_mhz"] * 1e6 / cycles)
        note = f"clock from `{show(src['timing'].path)}`, cycles per image from `{show(src['sim'].path)}`"
        if timing.get("cycles_per_image"):
            note += f" (timing.json's {timing['cycles_per_image']:,} are older: rerun `{src['timing'].command}`)"
    else:
        return base
    return {**base, "cycles_per_image": cycles, "images_per_s": ips, "note": note}


def load_published(path: Path = PUBLISHED) -> list[dict]:
    try:
        import tomllib  # novermin (guarded: Python 3.10 gets the one-line error below)
    except ImportError:  # Python 3.10
        raise UserError("the published figures need Python 3.11 or later (tomllib)") from None
    with open(path, "rb") as f:
        return tomllib.load(f)["work"]


def run(targets: list[Target], build_dir: Path, out_dir: Path, dataset: str = "digits",
        data_dir: str | None = None) -> dict:
    """Measure accuracy, read every report, write out_dir/REPORT.md, its plots and summary.json; returns the
    summary (what `--json` prints)."""
    out_dir = Path(out_dir)
    write_json_atomic(out_dir / "accuracy.json", measure_accuracy(targets, dataset, data_dir, Path(build_dir)))
    sources = {t.name: collect(t, build_dir, out_dir) for t in targets}
    kernels = read_source(Path(build_dir) / "sim" / "report.json", "make sim") \
        if any(t.shipped for t in targets) else None
    doc = Doc(out_dir)
    doc.add("# vitflow report", "", "Made by `vitflow report` from the project's own JSON reports (listed under "
            "Sources with the command that makes each); every number below is read from the file named beside "
            "it. What is missing says so, with the command that measures it.", "")
    for section in (accuracy_section, ladder_section, clock_section, resources_section, host_section):
        section(doc, targets, sources, kernels)
    stock_section(doc, read_source(Path(build_dir) / "hls" / "stock.json", "vitflow hls --stock",
                                   ModelPaths.resolve("vit", None).model_file))
    sweep_section(doc, [read_source(f, "make sweep") for f in sorted(Path(build_dir).glob("sweep/*/sweep.json"))])
    scale_section(doc, [read_source(f, "make scale") for f in sorted(Path(build_dir).glob("scale/*/report.json"))])
    published_section(doc, load_published())
    sources_section(doc, sources, kernels)
    doc.write("REPORT.md")
    write_json_atomic(out_dir / "summary.json", doc.summary)
    return doc.summary


class Doc:
    """REPORT.md being written: its lines, plots, "not measured" lines and the summary that --json prints."""

    def __init__(self, out_dir: Path):
        self.out_dir, self.lines = out_dir, []
        self.summary = {"report": str(out_dir / "REPORT.md"), "plots": [], "not_measured": [], "stale": [],
                        "models": {}}

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: list[str], rows: list[list]) -> None:
        self.add("", "| " + " | ".join(header) + " |", "|" + "---|" * len(header))
        self.add(*("| " + " | ".join(str(c) for c in r) + " |" for r in rows))
        self.add("")

    def cite(self, *sources: Source) -> None:
        unique = {show(s.path): s.command for s in sources}
        self.add("", "Source: " + "; ".join(f"`{p}` (`{c}`)" for p, c in unique.items()) + ".", "")

    def gap(self, line: str) -> None:
        """A "not measured" line (once)."""
        if line not in self.summary["not_measured"]:
            self.summary["not_measured"].append(line)
            self.add(f"- not measured: {line}")

    def check(self, name: str, src: Source) -> None:
        """Say it when a source is missing (not measured) or may be stale (its numbers are still shown)."""
        if src.stale:
            line = f"{name}: {src.note}"
            if line not in self.summary["stale"]:
                self.summary["stale"].append(line)
                self.add(f"- stale: {line}")
        elif src.note:
            self.gap(f"{name}: {src.note}")

    def plot(self, name: str, draw, *args) -> None:
        from . import plots

        getattr(plots, draw)(*args, self.out_dir / name)
        self.summary["plots"].append(str(self.out_dir / name))
        self.add("", f"![{name}]({name})", "")

    def model(self, name: str) -> dict:
        return self.summary["models"].setdefault(name, {})

    def write(self, name: str) -> None:
        text = ("\n".join(self.lines) + "\n").encode()
        write_atomic(self.out_dir / name, lambda f: f.write(text))


def pct(v) -> str:
    return f"{100 * v:.2f}%"


def _num(d: dict, key: str, absent: str = "-") -> str:
    return f"{d[key]:,}" if d.get(key) is not None else absent


def accuracy_section(doc: Doc, targets, sources, _kernels) -> None:
    doc.add("## Accuracy", "")
    rows, plotted = [], {}
    for t in targets:
        src = sources[t.name]["accuracy"]
        acc = (src.data or {}).get("models", {}).get(t.name, {})
        cells = {k: acc.get(k, {}) for k in ACCURACY_COLUMNS}
        rows.append([t.name, acc.get("dataset", "-"), acc.get("n", "-"),
                     *(pct(c["accuracy"]) if "accuracy" in c else "not measured" for c in cells.values())])
        plotted[t.name] = {k: 100 * c["accuracy"] if "accuracy" in c else None for k, c in cells.items()}
        doc.model(t.name)["accuracy"] = {k: c.get("accuracy") for k, c in cells.items()}
        for k, c in cells.items():
            if "not_measured" in c:
                doc.gap(f"{t.name} {ACCURACY_COLUMNS[k]}: {c['not_measured']}")
    doc.table(["model", "data set", "test images", *ACCURACY_COLUMNS.values()], rows)
    doc.plot("accuracy.png", "accuracy", plotted, ACCURACY_COLUMNS)
    doc.cite(*(sources[t.name]["accuracy"] for t in targets))
    doc.add("Measured by this command with the `vitflow eval` machinery: float = `--backend torch`, integer = "
            "`--backend golden` on each model file, the same test split.", "")


def ladder_section(doc: Doc, targets, sources, kernels) -> None:
    doc.add("## Verification ladder", "", "Each rung compared with the one above on the same inputs: images (HLS "
            "kernels: vectors) checked and how many differ in any logit.")
    drawn = {}
    for t in targets:
        rows = ladder(t, sources[t.name])
        doc.add("", f"### {t.name}")
        doc.table(["rung", "compared with", "checked", "mismatching", "source"],
                  [[r["rung"], r["against"], f"{r['checked']:,}" if r["checked"] else "not measured",
                    "-" if r["mismatches"] is None else r["mismatches"], f"`{show(r['source'].path)}`"] for r in rows])
        for r in rows:
            src = r["source"]
            doc.check(t.name, src)
            if not r["checked"] and (r.get("why") or src.data is not None):
                doc.gap(f"{t.name} {r['rung']}: " + (r.get("why") or f"`{show(src.path)}` holds no result for "
                                                     f"{t.arch}: make it with `{src.command}`"))
        doc.add("")
        drawn[t.name] = [{k: r[k] for k in ("rung", "checked", "mismatches")} for r in rows[1:]]
        doc.model(t.name)["ladder"] = drawn[t.name]
    doc.plot("ladder.png", "ladder", drawn)
    results = (kernels.data or {}).get("kernels", []) if kernels else []
    if kernels and results:
        doc.add("RTL kernel testbenches (cocotb + Verilator, random backpressure), each against golden:")
        doc.table(["kernel", "layer", "arch", "images", "mismatching", "cycles per image"],
                  [[k["kernel"], k["layer"], k.get("arch", "not recorded"), k.get("images", "-"),
                    k.get("mismatches", "-"), k.get("cycles_per_image", "-")] for k in results])
        doc.cite(kernels)
    elif kernels:
        doc.gap(kernels.note or f"`{show(kernels.path)}` holds no kernel testbench results (a `vitflow sim "
                "--model` run wrote it last): make them with `make sim`")


def clock_section(doc: Doc, targets, sources, kernels) -> None:
    doc.add("## Clock, cycles per image, images/s", "")
    rows, rates, cyc = [], {}, []
    for t in targets:
        src, c, top = sources[t.name], clock(sources[t.name]), sources[t.name]["sim"].data or {}
        for s in (src["timing"], src["sim"]):
            doc.check(t.name, s)
        if top.get("cycles_per_image"):
            cyc.append((f"vit_accel ({t.name})", top["cycles_per_image"]))
        if not c:
            continue
        doc.model(t.name).update({k: c.get(k) for k in ("clock_mhz", "cycles_per_image", "images_per_s")})
        if c.get("images_per_s"):
            rates[t.name] = (c["images_per_s"], c["clock_mhz"], c["cycles_per_image"])
        busy = top.get("mac_lane_utilization")
        rows.append([t.name, c["clock_mhz"], c["slowest"], c["below"], _num(c, "cycles_per_image", "not measured"),
                     _num(top, "latency_cycles"), _num(c, "images_per_s", "not measured"),
                     _num(top, "macs_per_image"), pct(busy) if busy else "-"])
        if c.get("note"):
            doc.add(f"- {t.name}: images/s = clock x 1e6 / cycles per image: {c['note']}")
    if rows:
        doc.table(["model", "clock MHz (slowest instance, ECP5)", "slowest instance", "instances below target",
                   "cycles per image", "latency cycles", "images/s", "MACs per image", "MAC lanes busy"], rows)
    if rates:
        doc.plot("images_per_s.png", "images_per_s", rates)
    for t in targets:
        timing = sources[t.name]["timing"].data
        if timing and timing.get("instances"):
            inst = [(n, i["module"], i["fmax_mhz"]) for n, i in timing["instances"].items() if i.get("fmax_mhz")]
            doc.plot(f"fmax_{t.name}.png", "fmax", t.name, inst, timing.get("target_mhz"))
    for k in (kernels.data or {}).get("kernels", []) if kernels else []:
        if k.get("cycles_per_image"):
            cyc.append((f"{k['kernel']}: {k['layer']}" + (f" ({k['arch']})" if "arch" in k else ""),
                        k["cycles_per_image"]))
    if cyc:
        from ..rtl.plan import Plan

        doc.plot("cycles.png", "cycles", cyc, Plan().cycles_per_image)
    doc.cite(*(sources[t.name][k] for t in targets for k in ("timing", "sim")), *([kernels] if kernels else []))


def resources_section(doc: Doc, targets, sources, _kernels) -> None:
    doc.add("## Resources (Yosys synth_xilinx, xc7z020 of the PYNQ-Z2)", "")
    rows, fractions = [], {}
    for t in targets:
        src = sources[t.name]["resources"]
        total = (src.data or {}).get("vit_accel")
        doc.check(t.name, src)
        if not total:
            continue
        frac = total["fraction_of_xc7z020"]
        fractions[t.name] = frac
        doc.model(t.name)["resources"] = {k: total[k] for k in frac} | {"fraction_of_xc7z020": frac}
        rows.append([t.name, *(f"{total[k]:,} ({frac[k]:.0%})" for k in frac),
                     "yes" if all(v <= 1 for v in frac.values()) else "no"])
    if rows:
        doc.table(["model", *next(iter(fractions.values())), "fits"], rows)
        doc.plot("resources.png", "resources", fractions)
    doc.cite(*(sources[t.name]["resources"] for t in targets))


def host_section(doc: Doc, targets, sources, _kernels) -> None:
    doc.add("## Host throughput (`vitflow bench`)", "")
    drawn = {}
    for t in targets:
        src = sources[t.name]["bench"]
        doc.check(t.name, src)
        if not src.data:
            continue
        b = src.data
        doc.add(f"### {t.name}: {b['images']} images per batch, median of {b['rounds']} rounds")
        doc.table(["backend", "images/s", "latency ms (batch 1)", "accuracy", "logits", "rate"],
                  [[r["backend"], f"{r['images_per_s']:,.0f}", r["latency_ms"], pct(r["accuracy"]),
                    (f"{r['mismatches']} images differ from {r['differs_from']}" if r.get("differs_from")
                     not in (None, r["backend"]) else "integer (reference)") if r.get("integer") else "float",
                    r.get("rate_basis", "measured")] for r in b["backends"]])
        doc.add(*(f"- skipped {s['backend']}: {s['reason']}" for s in b.get("skipped", [])))
        drawn[t.name] = [(r["backend"], r["images_per_s"], r.get("rate_basis", "measured")) for r in b["backends"]]
    if drawn:
        doc.plot("host_throughput.png", "host_throughput", drawn)
    doc.cite(*(sources[t.name]["bench"] for t in targets))


def stock_section(doc: Doc, src: Source) -> None:
    """hls4ml's stock Softmax and LayerNorm (default and tuned configs) beside our integer kernels, same inputs."""
    doc.add("## hls4ml's stock Softmax and LayerNorm beside our integer kernels", "")
    doc.check("hls4ml stock kernels", src)
    s = src.data
    if s:
        doc.add(f"The same rows through each: every attention softmax row and every LayerNorm token of {s['arch']} "
                f"(model {s['model_id']}) on {s['images']} test images, against float64 (torch) of what our "
                f"kernels compute: the base-2 softmax (the stock softmax is fed the scores x ln 2) and LayerNorm "
                f"without epsilon. Ours: the integer kernels (golden = our HLS C-sim), 8-bit outputs; hls4ml "
                f"{s['hls4ml']} C-simulated.")
        rows, drawn = [], {}
        for kind, k in s["kernels"].items():
            for r in k["results"]:
                inside = r.get("variance_below_1", {})
                rows.append([kind, r["config"], f"{r['rows']:,}", f"{r['max_abs_error']:.4g}",
                             f"{r['mean_abs_error']:.3g}",
                             pct(r["argmax_agreement"]) if "argmax_agreement" in r else "-",
                             f"{inside['max_abs_error']:.4g}" if "max_abs_error" in inside else "-"])
            drawn[f"{kind} ({k['rows']:,} rows of {k['width']})"] = \
                [(r["config"], r["max_abs_error"], r["mean_abs_error"]) for r in k["results"]]
        doc.table(["kernel", "configuration", "rows", "max abs error", "mean abs error", "argmax agreement",
                   "max abs error, variance < 1"], rows)
        doc.add(*(f"- {r['config']} {kind}: {r['note']}" for kind, k in s["kernels"].items()
                  for r in k["results"] if r["config"] != "ours"))
        doc.plot("stock_kernels.png", "stock_kernels", drawn)
        doc.summary["stock_kernels"] = {kind: {r["config"]: {m: r.get(m) for m in ("max_abs_error", "mean_abs_error",
                                                                                   "argmax_agreement")}
                                               for r in k["results"]} for kind, k in s["kernels"].items()}
    doc.cite(src)


def _checked(sim: dict) -> str:
    """A trial's or top's simulation as a table cell: mismatching / simulated images."""
    return f"{sim['mismatches']} / {sim['images']}" if sim else "not simulated"


def _clock(timing: dict) -> str:
    """A top's placed clock as a table cell: MHz (its slowest instance)."""
    return f"{timing['fmax_mhz']} ({timing['slowest_instance']})" if timing else "not placed"


def sweep_section(doc: Doc, found: list[Source]) -> None:
    """The design-space sweeps (`vitflow sweep`): a row per trial and the sweep's Pareto plots, drawn again from
    its sweep.json into the report's folder."""
    from . import sweep
    from .sweep_plots import label, plot_all

    doc.add("## Design-space sweeps (`vitflow sweep`)", "")
    if not found:
        doc.gap("a design-space sweep: build/sweep/*/sweep.json is missing: make it with `make sweep`")
        return
    for src in found:
        doc.check(f"sweep {src.path.parent.name}", src)
        if not src.data:
            continue
        r = src.data
        src.command = sweep.command(r)  # the grid it holds, whichever command ran it
        doc.add(f"### {r['name']}: {len(r['trials'])} trials, {len(r['refused'])} refused, {len(r['failed'])} "
                f"failed ({r['runner']}; this run {r['seconds']:,} s, cached trials read back)", "")
        rows = []
        for t in r["trials"]:
            res, sim, timing = t.get("resources", {}), t.get("sim", {}), t.get("timing", {})
            rows.append([label(t), pct(t["training"]["golden_accuracy"]),
                         *(_num(res, k) for k in ("LUT", "FF", "DSP", "BRAM36")),
                         _checked(sim),
                         _num(sim, "cycles_per_image", f"~{t.get('plan', {}).get('cycles_per_image_estimate', '-')}"),
                         _clock(timing),
                         _num(t, "images_per_s") if "error" not in t else t["error"]])
        doc.table(["trial", "accuracy (golden)", "LUT", "FF", "DSP", "BRAM36", "RTL mismatching / simulated",
                   "cycles / image (~ plan)", "clock MHz (ECP5, slowest instance)", "images/s"], rows)
        plots = plot_all(r["trials"], doc.out_dir / f"sweep-{r['name']}")
        for name, path in plots.items():
            if name == "skipped":
                doc.add(f"- no plot: {path}")
                continue
            doc.summary["plots"].append(str(doc.out_dir / f"sweep-{r['name']}" / path))
            doc.add("", f"![{name}](sweep-{r['name']}/{path})", "")
        doc.cite(src)


def scale_section(doc: Doc, found: list[Source]) -> None:
    """The tops `vitflow scale` built past the PYNQ-Z2 (a budget below one instance per kernel, kernels in copies,
    a large device): one row each."""
    doc.add("## Past the PYNQ-Z2: kernels in copies (`make scale`)", "")
    if not found:
        doc.gap("a top past the PYNQ-Z2: build/scale/*/report.json is missing: make it with `make scale`")
        return
    rows = []
    for src in found:
        r = src.data or {}
        doc.check(f"scale {src.path.parent.name}", src)
        if not r or "error" in r:
            rows.append([src.path.parent.name, r.get("error", src.note), *["-"] * 6])
            continue
        res, sim, timing = r.get("resources", {}), r.get("sim", {}), r.get("timing", {})
        frac = res.get(f"fraction_of_{r['device']}", {})
        rows.append([f"{r['arch']} (model {r['model_id']})", f"{r['budget']:,}", r["device"],
                     ", ".join(f"{res[k]:,} {k} ({frac[k]:.0%})" for k in frac) or "-",
                     _checked(sim), _num(sim, "cycles_per_image", "-"), _clock(timing),
                     _num(r, "images_per_s", "-")])
    doc.table(["top", "budget, cycles / image", "device", "resources (Yosys) and fraction of the device",
               "mismatching / simulated images", "simulated cycles / image", "clock MHz (ECP5, slowest instance)",
               "images/s"], rows)
    doc.cite(*found)


def published_section(doc: Doc, works: list[dict]) -> None:
    doc.add("## Published figures beside ours", "", "As published (nothing here is measured by this project); "
            "each with its source and what differs from ours, which is most things: read them as orders of "
            "magnitude, not as a ranking.")
    doc.table(["work", "published figures", "model, data set", "device, clock", "what differs", "source"],
              [[w["name"], "; ".join(_figure(f) for f in w["figures"]), f"{w['model']}; {w['dataset']}",
                f"{w['device']}; {w.get('clock', 'clock not stated in the source')}", w["differs"],
                f"{w['source']}, {w['url']}"] for w in works])
    doc.add(f"Source: `{show(PUBLISHED)}` (each entry's source, checked by hand).", "")


def _figure(f: dict) -> str:
    number = f"{f['value']:,}" if isinstance(f["value"], int) else str(f["value"])
    return f"{number} {f['unit']} ({f['what']})"


def sources_section(doc: Doc, sources, kernels) -> None:
    doc.add("## Sources", "")
    seen = {}
    for per in sources.values():
        for s in per.values():
            seen.setdefault(show(s.path), s)
    if kernels:
        seen.setdefault(show(kernels.path), kernels)
    doc.summary["sources"] = {p: s.status for p, s in seen.items()}
    doc.table(["file", "made by", "status"], [[f"`{p}`", f"`{s.command}`", s.status] for p, s in seen.items()])
