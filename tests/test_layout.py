"""The code layout reads as the flow: stages import only from their own stage or the ones before it, nothing in
``pipeline`` but ``pipeline/tools`` imports ``realtime``, and no two files import each other (directly or round a
longer circle). Every import counts, including the ones inside functions."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# rank of each part of pipeline/: a module may import from its own rank or lower ones
RANKS = {
    "pipeline.errors": 0, "pipeline.schema": 0,
    "pipeline.intake": 1,
    "pipeline.pose": 2,
    "pipeline.movement": 3,
    "pipeline.coach": 4,
    "pipeline.report": 5,
    "pipeline.live": 6, "pipeline.analyze": 6,
    "pipeline.tools": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, mod: str | None = None) -> set[str]:
    """Absolute names of the modules (or packages) this file imports."""
    mod = mod or _module_name(path)
    pkg = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.add(base)
            for a in node.names:  # `from pkg import submodule`
                out.add(f"{base}.{a.name}")
    return out


def _files(top: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / top).rglob("*.py"))}


def _rank(name: str) -> int | None:
    best = None
    for prefix, r in RANKS.items():
        if name == prefix or name.startswith(prefix + "."):
            best = r
    return best


def test_only_tools_import_realtime():
    bad = [f"{m} imports {i}" for m, p in _files("pipeline").items() for i in _imports(p)
           if (i == "realtime" or i.startswith("realtime.")) and not m.startswith("pipeline.tools")]
    assert not bad, bad


def test_runtime_never_imports_training_or_tools():
    """The arrows run one way: ``models/`` (training, data, weights) imports ``pipeline``; nothing in ``pipeline`` but
    the command line on top of everything (``pipeline/tools``) imports ``models`` (the runtime router is
    ``pipeline/movement/router``); the live engine never imports its tools (``realtime/tools``)."""
    bad = [f"{m} imports {i}" for m, p in _files("pipeline").items() if not m.startswith("pipeline.tools")
           for i in _imports(p) if i == "models" or i.startswith("models.")]
    bad += [f"{m} imports {i}" for m, p in _files("realtime").items() if not m.startswith("realtime.tools")
            for i in _imports(p) if i.startswith("realtime.tools")]
    assert not bad, bad
    assert any(i.startswith("pipeline.") for i in _imports(ROOT / "models" / "train_router.py"))


def test_stages_import_only_their_own_or_earlier_stages():
    bad = []
    for m, p in _files("pipeline").items():
        rm = _rank(m)
        if rm is None:  # pipeline/__init__.py
            continue
        for i in _imports(p):
            ri = _rank(i)
            if ri is not None and ri > rm:
                bad.append(f"{m} (stage {rm}) imports {i} (stage {ri})")
    assert not bad, "\n".join(sorted(bad))


def _cycles(files: dict[str, Path]) -> list[list[str]]:
    known = set(files)
    graph = {}
    for m, p in files.items():
        deps = set()
        for i in _imports(p, m):
            # resolve to the most specific module file that exists
            parts = i.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts and ".".join(parts) != m:
                deps.add(".".join(parts))
        graph[m] = deps
    # Tarjan's strongly connected components
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _package_inits(files: dict[str, Path]) -> dict[str, Path]:
    # a package's __init__ importing its own submodules (a registry, re-exports) is not a circle between files
    return {m: p for m, p in files.items() if p.name != "__init__.py" or not any(
        i.startswith(m + ".") for i in _imports(p))}


def test_no_import_circles_between_files():
    files = {**_files("pipeline"), **_files("models"), **_files("realtime")}
    cycles = _cycles(_package_inits(files))
    assert not cycles, cycles


def test_the_layout_checks_can_fail(tmp_path):
    """The checks see real imports, ranks and circles (they would pass vacuously if the parser saw nothing)."""
    imports = _imports(ROOT / "pipeline" / "live.py")
    assert "pipeline.movement.run" in imports and "pipeline.pose.estimator" in imports
    assert _rank("pipeline.report.render") == 5 and _rank("pipeline.pose.qc") == 2
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("import pkg.a\n")
    assert _cycles({"pkg.a": tmp_path / "a.py", "pkg.b": tmp_path / "b.py"}) == [["pkg.a", "pkg.b"]]
