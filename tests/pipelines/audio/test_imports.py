"""The audio package's architecture: no import cycles, and a release model loads without training code."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import creative_gan.pipelines.audio as audio

ROOT = Path(audio.__file__).parent
PACKAGE = "creative_gan.pipelines.audio"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """Absolute names a ``from … import …`` statement can load (the module and, for packages, submodules)."""
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    """module -> audio modules it imports anywhere in its body (lazy function-level imports included)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(name, path.name == "__init__.py", node)
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_audio_package_has_no_import_cycles():
    graph = import_graph()
    assert f"{PACKAGE}.render.render" in graph and f"{PACKAGE}.training.task" in graph   # the walk saw the tree
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_cli_glue_imports_training_modules():
    graph = import_graph()
    training = {m for m in graph if m.startswith(f"{PACKAGE}.training")}
    importers = {m for m, edges in graph.items() if edges & training and m not in training}
    assert importers == {f"{PACKAGE}.commands"}


def test_loading_the_release_model_imports_no_training_code():
    code = ("import json, sys, creative_gan\n"
            "pipe = creative_gan.load('audio-default')\n"
            "notes = pipe.generate_notes([60], seed=1)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert f"{PACKAGE}.pipeline" in loaded and f"{PACKAGE}.networks.harmonic" in loaded
    bad = [m for m in loaded if m.startswith(f"{PACKAGE}.training") or m == "creative_gan.trainer"
           or m.startswith(f"{PACKAGE}.evaluate") or m == f"{PACKAGE}.commands"]
    assert not bad, f"loading a release model imported {bad}"
