"""The package's layers: imports only go down, no cycle, no module uses another's private names.

The layers, bottom to top: the base modules (``paths``, ``escape``, ``precision``, ``errors``,
``edition``: no import of the package beyond ``paths``), ``data``, ``models``, ``rules``, ``book``, ``build``, and the command line (``cli``,
``__main__``). A module may import its own layer or any layer below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analysis import paths

LAYERS = ("base", "data", "importers", "models", "rules", "book", "build", "cli")
BASE = {"paths", "escape", "precision", "errors", "edition", "__init__"}
CLI = {"cli", "__main__"}


def module_name(path: Path, package: Path = paths.PACKAGE) -> str:
    rel = path.relative_to(package).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(["analysis", *parts])


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "base"
    if parts[0] in LAYERS[1:-1]:
        return parts[0]
    if parts[0] in CLI:
        return "cli"
    assert parts[0] in BASE, f"{module} belongs to no layer: put it in one of {LAYERS[1:-1]} or list it as base"
    return "base"


def _resolve(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(path: Path, package: Path = paths.PACKAGE) -> list[tuple[str, set[str], int]]:
    """(imported module, names taken from it, line) for every import of the package in ``path``,
    with ``from analysis.data import store`` resolved to the module ``analysis.data.store``."""
    here = module_name(path, package)
    is_package = path.name == "__init__.py"
    found: list[tuple[str, set[str], int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, set(), node.lineno) for a in node.names if a.name.split(".")[0] == "analysis"]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, here, is_package)
            if target.split(".")[0] != "analysis":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if (package.parent / Path(*sub.split("."))).with_suffix(".py").exists() or \
                        (package.parent / Path(*sub.split(".")) / "__init__.py").exists():
                    found.append((sub, set(), node.lineno))
                else:
                    found.append((target, {alias.name}, node.lineno))
    return found


def private_uses(path: Path) -> list[tuple[str, int]]:
    """``module._name`` attribute uses on a name bound by ``from analysis... import module``."""
    tree = ast.parse(path.read_text(), str(path))
    modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               and (n.module or "").startswith("analysis") for a in n.names}
    return [(f"{n.value.id}.{n.attr}", n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules
            and n.attr.startswith("_") and not n.attr.startswith("__")]


def graph(package: Path = paths.PACKAGE) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        here = module_name(path, package)
        edges[here] = {target for target, _, _ in imports(path, package) if target != here}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def upward(package: Path = paths.PACKAGE) -> list[str]:
    bad = []
    for path in sorted(package.rglob("*.py")):
        here = module_name(path, package)
        for target, names, line in imports(path, package):
            if target == "analysis" and names <= {"__version__"}:
                continue
            if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(here)):
                bad.append(f"{path.relative_to(package.parent)}:{line}: {layer_of(here)} imports "
                           f"{target} ({layer_of(target)})")
    return bad


def test_imports_only_go_down() -> None:
    assert upward() == []


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_no_module_uses_another_modules_private_names() -> None:
    found = [f"{p.relative_to(paths.ROOT)}:{line}: {use}" for p in sorted(paths.PACKAGE.rglob("*.py"))
             for use, line in private_uses(p)]
    found += [f"{p.relative_to(paths.ROOT)}:{line}: {name}" for p in sorted(paths.PACKAGE.rglob("*.py"))
              for target, names, line in imports(p) for name in names if name.startswith("_")
              and not name.startswith("__")]
    assert found == []


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
SIZED = (paths.PACKAGE, paths.ROOT / "benchmarks")


def oversized(folders: tuple[Path, ...] = SIZED) -> list[str]:
    """Modules over ``MAX_MODULE_LINES`` lines and functions (or methods) over ``MAX_FUNCTION_LINES``,
    counted from ``def`` to the end of the body, docstring included."""
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            text = path.read_text()
            lines = len(text.splitlines())
            if lines > MAX_MODULE_LINES:
                found.append(f"{path.relative_to(folder.parent)}: {lines} lines")
            for node in ast.walk(ast.parse(text, str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > MAX_FUNCTION_LINES:
                        found.append(f"{path.relative_to(folder.parent)}:{node.lineno}: {node.name} has {length} lines")
    return found


def test_no_module_over_400_lines_and_no_function_over_60() -> None:
    assert oversized() == []


def test_the_size_check_finds_a_long_module_and_a_long_function(tmp_path: Path) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    body = "".join(f"    y{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (folder / "fn.py").write_text(f"def f():\n{body}")
    (folder / "ok.py").write_text("def g():\n" + "    pass\n" * (MAX_FUNCTION_LINES - 1))
    assert oversized((folder,)) == [f"pkg/fn.py:1: f has {MAX_FUNCTION_LINES + 1} lines",
                                    f"pkg/long.py: {MAX_MODULE_LINES + 1} lines"]


def test_every_module_is_in_a_layer() -> None:
    for path in sorted(paths.PACKAGE.rglob("*.py")):
        layer_of(module_name(path))


@pytest.fixture
def broken_package(tmp_path: Path) -> Path:
    """A copy of the package with one upward import, one cycle and one private use added."""
    package = tmp_path / "analysis"
    for path in paths.PACKAGE.rglob("*.py"):
        dest = package / path.relative_to(paths.PACKAGE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(path.read_text())
    with (package / "data" / "store.py").open("a") as fh:
        fh.write("\nfrom analysis.rules import forecasts  # upward\n")
    with (package / "data" / "validation.py").open("a") as fh:
        fh.write("\nfrom analysis.data import store  # with store -> validation, a cycle\n")
    with (package / "models" / "costs.py").open("a") as fh:
        fh.write("\nfrom analysis.models import roofline\nX = roofline._nothing\n")
    return package


def test_the_checks_find_an_upward_edge_a_cycle_and_a_private_use(broken_package: Path) -> None:
    assert any("data imports analysis.rules.forecasts (rules)" in line for line in upward(broken_package))
    assert any({"analysis.data.store", "analysis.data.validation"} <= set(c) for c in cycles(graph(broken_package)))
    assert ("roofline._nothing", len((broken_package / "models" / "costs.py").read_text().splitlines())) \
        in private_uses(broken_package / "models" / "costs.py")
