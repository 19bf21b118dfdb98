"""The package's layering: no import cycles between its modules (imports inside functions count: they are
cycles all the same, only later), and nothing imports the command line."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("model", "quant", "hls", "rtl", "host")


def modules() -> dict[str, Path]:
    """vitflow.<package>.<module> -> its file (tests left out)."""
    found = {}
    for package in PACKAGES:
        for f in sorted((ROOT / package).rglob("*.py")):
            if not f.name.startswith("test_"):
                name = ".".join(("vitflow", *f.relative_to(ROOT).with_suffix("").parts))
                found[name.removesuffix(".__init__")] = f
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports, at module level or in a function."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            out |= {f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_and_nothing_imports_the_cli():
    found = modules()
    graph = {name: imports(name, path, set(found)) for name, path in found.items()}
    assert len(graph) > 40
    assert cycles(graph) == []
    assert [m for m, deps in graph.items() if "vitflow.host.cli" in deps] == []


def test_runs_on_python_3_10():
    """The PYNQ image's Python is 3.10: vermin finds nothing newer (guarded imports carry `# novermin`)."""
    vermin = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    if not Path(vermin).is_file():
        pytest.skip("vermin is not installed (pip install vermin)")
    r = subprocess.run([vermin, "--no-tips", "--violations", "-t=3.10-", "--eval-annotations",
                        *(str(ROOT / p) for p in (*PACKAGES, "vitflow"))], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:]
