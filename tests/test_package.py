"""The package's shape: no import circle (module-level and function-level imports alike), and the ground floor
(wmnb.config) is the only place that declares the profiles, the core names and the per-profile sizes."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wmnb"


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for p in root.rglob("*.py"):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package modules it imports anywhere in its source (module level or inside functions).

    ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``; string lookups
    (``__import__``, ``importlib.import_module`` of a literal) count too."""
    mods = _modules(root)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        pkg = m if path.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                  and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("__import__", "import_module")):
                targets = [str(node.args[0].value)]
            edges[m].update(t for t in targets if t in mods and t != m)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
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

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_planted_circle(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .c import g\n")         # a function-level import counts
    (pkg / "c.py").write_text("import importlib\nM = importlib.import_module('pkg.a')\n")
    (pkg / "d.py").write_text("from .a import x\n")
    assert cycles(import_graph(pkg)) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_circle_in_the_package():
    found = cycles(import_graph())
    assert not found, f"import circles: {found}"


def test_the_ground_floor_imports_only_errors():
    edges = import_graph()
    assert edges["wmnb.config"] <= {"wmnb.errors"}
    assert edges["wmnb.params"] <= {"wmnb.errors", "wmnb.config"}


@pytest.mark.parametrize("literal", ['("smoke", "quick", "paper")', '("rnn", "gru", "lstm")',
                                     '("STSF", "STMF", "MTMF")', '("location", "identity", "category")',
                                     '"smoke": dict(', "ANALYSIS_SEED = "])
def test_names_and_sizes_are_declared_once(literal):
    """The profile list, the core, scenario and feature names, every per-profile size table and the analysis seed
    are written in wmnb/config.py and nowhere else in the package (other modules import them)."""
    where = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if literal in p.read_text())
    assert where == ["config.py"], f"{literal} is declared in {where}"
