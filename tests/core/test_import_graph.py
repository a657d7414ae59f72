"""The import graph keeps to the design: core ← pipelines ← demos, no cycles, releases load without training code.

Edges are the imports a module runs when it is imported (module level, including ``try``/``if``
blocks, excluding function bodies and ``if TYPE_CHECKING:``): those are what make an import cycle
fail or a release load drag in training code. Imports inside functions are deliberate lazy loads.

"Training modules": the core's trainer and what only training needs (``creative_gan.trainer``,
``training_state``, ``task``, ``objective``, ``losses``, ``augment``, ``ema``, ``data``,
``monitor``), and any pipeline module with a path component ``training`` or ``task``.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "creative_gan"
PIPELINES = ROOT / "pipelines"
CORE_TRAINING = {"trainer", "training_state", "task", "objective", "losses", "augment", "ema", "data", "monitor"}


def _import_time_nodes(tree: ast.Module):
    """Import statements executed at import time (not in functions, not under TYPE_CHECKING)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))


def module_name(path: Path, root: Path, prefix: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([prefix, *parts]) if parts else prefix


def imported_names(path: Path, name: str, all_imports: bool = False) -> set[str]:
    """Absolute dotted names ``path`` (module ``name``) imports, ``from x import y`` giving x and x.y."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = ast.walk(tree) if all_imports else _import_time_nodes(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def core_modules():
    for path in sorted(CORE.glob("*.py")):
        if path.name not in ("cli.py", "__main__.py"):
            yield path, module_name(path, CORE, "creative_gan")


@pytest.mark.parametrize("path,name", list(core_modules()), ids=lambda v: getattr(v, "name", v))
def test_the_core_imports_no_pipeline_or_demo(path, name):
    imports = imported_names(path, name, all_imports=True)  # lazy imports count here too
    bad = sorted(i for i in imports if i.split(".")[0] in ("pipelines", "demos")
                 or i.startswith(("creative_gan.pipelines", "creative_gan.demos")))
    assert not bad, f"{name} imports {bad}"


def pipeline_graph(package: Path) -> dict[str, set[str]]:
    prefix = f"creative_gan.pipelines.{package.name}"
    modules = {module_name(p, package, prefix): p for p in package.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {i for i in imported_names(path, name) if i in modules and i != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, trail = {}, []

    def visit(node):
        state[node] = "open"
        trail.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        trail.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize("package", sorted(p for p in PIPELINES.iterdir() if (p / "__init__.py").is_file()),
                         ids=lambda p: p.name)
def test_no_import_cycles_inside_a_pipeline(package):
    cycle = find_cycle(pipeline_graph(package))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def is_training_module(name: str) -> bool:
    parts = name.split(".")
    if parts[:2] == ["creative_gan", "pipelines"]:
        return any(p in ("training", "task") for p in parts[3:])
    return len(parts) == 2 and parts[0] == "creative_gan" and parts[1] in CORE_TRAINING


@pytest.mark.parametrize("model", ["digits-default", "audio-default", "font-default", "anime-default"])
def test_loading_a_release_imports_no_training_module(model):
    code = ("import json, sys, creative_gan\n"
            f"creative_gan.load({model!r})\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('creative_gan'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert any(m.startswith("creative_gan.pipelines.") for m in loaded)      # the pipeline did load
    training = [m for m in loaded if is_training_module(m)]
    assert not training, f"loading {model} imported training code: {training}"


def test_training_module_definition():
    assert is_training_module("creative_gan.trainer") and is_training_module("creative_gan.task")
    assert is_training_module("creative_gan.pipelines.audio.training.objective")
    assert is_training_module("creative_gan.pipelines.digits.task")
    assert not is_training_module("creative_gan.pipelines.digits.pipeline")
    assert not is_training_module("creative_gan.release")
