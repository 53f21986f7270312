"""The public API: what the README names imports from where it says; no import cycles; a quick
``kansci --help``; progress bars only where someone watches."""

from __future__ import annotations

import ast
import importlib
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import kansci

ROOT = Path(__file__).resolve().parents[1]


def _python_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Python")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _resolve(dotted: str):
    """Import the longest module prefix of ``dotted``, then follow attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def _readme_names() -> set[str]:
    section = _python_section()
    names = set(re.findall(r"\bkansci(?:\.[A-Za-z_]\w*)+", section))
    # `kansci.module` (`name`, `Class.method(...)`, ...): each name lives in that module
    for match in re.finditer(r"`(kansci(?:\.\w+)*)` \(", section):
        depth, end = 1, match.end()
        while depth:  # to the closing parenthesis of the list
            depth += {"(": 1, ")": -1}.get(section[end], 0)
            end += 1
        inner = section[match.end() : end - 1]
        if re.sub(r"`[^`]*`|[,\s]", "", inner):  # prose in parentheses, not a list of names
            continue
        for item in re.findall(r"`([A-Za-z_][\w.]*)", inner):
            names.add(f"{match.group(1)}.{item}")
    return names


def test_readme_python_section_names_are_importable():
    names = _readme_names()
    assert {"kansci.formula.compose", "kansci.KAN.from_formula", "kansci.plot.plot_tree",
            "kansci.symbolic.Library.add", "kansci.prune.train_sparse", "kansci.discover"} <= names
    missing = []
    for dotted in sorted(names):
        try:
            _resolve(dotted)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{dotted} ({exc})")
    assert not missing, f"README names that do not import: {missing}"


def test_public_names_resolve_and_are_listed():
    for name in kansci.__all__:
        assert getattr(kansci, name) is not None, name
    assert set(kansci.__all__) <= set(dir(kansci))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        kansci.nope  # noqa: B018


def _import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> kansci modules it imports (anywhere in its code, lazily or not)."""
    modules = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    graph = {}
    for name, (path, is_pkg) in modules.items():
        pkg = name if is_pkg else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t in modules and t != name}
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
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
                found.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    graph = _import_graph(ROOT / "kansci")
    assert "kansci._io" in graph["kansci._model"] and "kansci._model" not in graph["kansci._io"]
    assert _cycles(graph) == []
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]  # the check can fail


def test_cli_help_imports_nothing_heavy():
    code = ("import sys, kansci.cli; kansci.cli.build_parser().format_help(); "
            "print(sorted(m for m in ('torch', 'sympy', 'numpy', 'pandas', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch, capsys):
    X = np.linspace(-1, 1, 40)[:, None]
    model = kansci.KAN([1, 1], grid=3, seed=0, dtype=torch.float64)
    kansci.fit(model, X, X**2, steps=2, progress=True)  # stderr captured: not a terminal
    assert capsys.readouterr().err == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    kansci.fit(model, X, X**2, steps=2, progress=True)
    assert "fit" in terminal.getvalue()
    terminal.truncate(0)
    kansci.fit(model, X, X**2, steps=2, progress=False)
    assert terminal.getvalue() == ""


def test_cli_output_into_a_closed_pipe_ends_quietly():
    # `kansci demo | head -1`: the reader has closed the pipe; no traceback, exit status 0
    proc = subprocess.Popen([sys.executable, "-m", "kansci.cli", "demo"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # nobody reads
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and "Traceback" not in err
