"""The shape of the package: no import circles, a runtime module that imports nothing of the
project, an empty ``bot/services/__init__.py``, and ``bot/app.py`` used only by the CLI layer.

Imports are read with ``ast``, not executed. A circle counts only module-level imports: one
under ``if TYPE_CHECKING:`` or inside a function runs later (or never), after both modules
have loaded.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bot

ROOT = Path(bot.__file__).parent
CLI_LAYER = {"bot.cli", "bot.commands", "bot.demo"}  # the commands that build a whole kocbot


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(body: list[ast.stmt], *, everywhere: bool, typing: bool = False) -> list[ast.stmt]:
    """Import statements run when the module loads (or, ``everywhere``, any import at all;
    ``typing``: also those only the type checker reads)."""
    found: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif everywhere:
            found.extend(n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
        elif isinstance(node, ast.If):
            if typing or not _is_type_checking(node.test):
                found += _statements(node.body, everywhere=False, typing=typing)
            found += _statements(node.orelse, everywhere=False, typing=typing)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                found += _statements(block, everywhere=False, typing=typing)
        elif isinstance(node, ast.With):
            found += _statements(node.body, everywhere=False, typing=typing)
    return found


def imports_of(name: str, path: Path, known: set[str], *, everywhere: bool = False,
               typing: bool = False) -> set[str]:
    """The project modules ``name`` imports. ``from pkg import submodule`` names the submodule
    only: a package is loaded (or loading) before any of its modules, so it is no edge."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _statements(tree.body, everywhere=everywhere, typing=typing):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        submodules = {f"{base}.{alias.name}" for alias in node.names} & known
        targets |= submodules
        if len(submodules) < len(node.names):  # some name is defined in ``base`` itself
            targets.add(base)
    return {t for t in targets if t in known and t != name}


def graph(root: Path, *, everywhere: bool = False, typing: bool = False) -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    mods = modules(root)
    return {name: imports_of(name, path, set(mods), everywhere=everywhere, typing=typing)
            for name, path in mods.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    assert circles(graph(ROOT)) == []


def test_no_circles_even_through_type_hints() -> None:
    # What the type checker reads counts too: a handler module naming ``Runtime`` must not
    # lead back to itself through the runtime's field types.
    assert circles(graph(ROOT, typing=True)) == []


def test_no_circles_even_through_imports_inside_functions() -> None:
    # An import moved into a function to dodge a circle still ties the two modules together.
    assert circles(graph(ROOT, everywhere=True)) == []


def test_the_command_line_and_its_commands_do_not_import_each_other() -> None:
    # Even inside functions: bot/cli.py parses, bot/commands.py does.
    edges = graph(ROOT, everywhere=True)
    assert "bot.cli" not in edges["bot.commands"]


def test_only_the_cli_layer_imports_the_app() -> None:
    edges = graph(ROOT, everywhere=True)
    assert sorted(name for name, targets in edges.items() if "bot.app" in targets
                  and name not in CLI_LAYER) == []


def test_the_runtime_module_imports_nothing_of_the_project() -> None:
    assert graph(ROOT)["bot.runtime"] == set()


def test_services_package_is_empty() -> None:
    assert (ROOT / "services" / "__init__.py").read_text(encoding="utf-8").strip() == ""


def test_the_checker_finds_a_circle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nfrom pkg import b\n"
                              "if TYPE_CHECKING:\n    from pkg import c\n")
    (pkg / "b.py").write_text("from .a import thing\n")
    (pkg / "c.py").write_text("import pkg.a\n\ndef later():\n    from pkg import b\n")
    assert circles(graph(pkg)) == [["pkg.a", "pkg.b"]]
