"""The product stands apart from the sandbox: nothing in bot/ (outside bot/sandbox/),
handlers/ or storage/ imports bot.sandbox, except `cop-bot console`, which imports the
console inside the function that starts it, so no other command loads the sandbox."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_DIRS = ("bot", "handlers", "storage")
SANDBOX = "bot.sandbox"
# The one way in: bot/cli.py's _console (cop-bot console) imports the console when it runs.
ENTRY_POINT = ("bot/cli.py", "_console", "bot.sandbox.console")


def product_modules() -> Iterator[tuple[str, Path]]:
    """(dotted module name, path) of every product module."""
    for top in PRODUCT_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[:2] == ["bot", "sandbox"]:
                continue
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def _is_sandbox(name: str) -> bool:
    return name == SANDBOX or name.startswith(SANDBOX + ".")


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The modules an import statement (or importlib.import_module / __import__ of a
    written-out name) brings in, as absolute dotted names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = package[: len(package) - (node.level - 1)]
            parent = ".".join([*base, node.module] if node.module else base)
        else:
            parent = node.module or ""
        # `from bot import sandbox` imports bot.sandbox; `from bot.x import y` may import bot.x.y.
        return [parent] + [f"{parent}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        first = node.args[0]
        if (
            name in ("import_module", "__import__")
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
        ):
            return [first.value]
    return []


def _walk(
    node: ast.AST, module: str, is_package: bool, function: str | None
) -> Iterator[tuple[str | None, str]]:
    """(enclosing function or None, sandbox module) for each sandbox import under node."""
    for name in _imported(node, module, is_package):
        if _is_sandbox(name):
            yield function, name
            break
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        function = node.name if function is None else f"{function}.{node.name}"
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, module, is_package, function)


def sandbox_imports() -> list[tuple[str, str | None, str]]:
    """(file, enclosing function or None at module level, imported sandbox module) for
    every import of the sandbox in the product."""
    found: list[tuple[str, str | None, str]] = []
    for module, path in product_modules():
        where = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for function, name in _walk(tree, module, path.name == "__init__.py", None):
            found.append((where, function, name))
    return found


def test_the_product_modules_are_found() -> None:
    names = {name for name, _ in product_modules()}
    assert {"bot.cli", "bot.app", "bot.edge", "handlers", "storage.db"} <= names
    assert not any(_is_sandbox(name) for name in names)


def test_only_the_console_command_imports_the_sandbox_and_only_when_it_runs() -> None:
    assert sandbox_imports() == [ENTRY_POINT]


def test_the_walk_sees_every_way_of_importing_the_sandbox() -> None:
    source = """
import bot.sandbox.standin
from bot import sandbox
from bot.sandbox.signed import signed_headers
from .sandbox import console
import importlib
importlib.import_module("bot.sandbox.console")
from bot import clock
import bot.sandboxes


def later():
    def inner():
        from bot.sandbox import standin
"""
    found = list(_walk(ast.parse(source), "bot.example", False, None))
    assert found == [
        (None, "bot.sandbox.standin"),
        (None, "bot.sandbox"),
        (None, "bot.sandbox.signed"),
        (None, "bot.sandbox"),
        (None, "bot.sandbox.console"),
        ("later.inner", "bot.sandbox"),
    ]


def test_importing_the_product_loads_no_sandbox_module() -> None:
    # Alembic's migration scripts run only inside alembic; the AST walk covers them.
    names = sorted(
        name
        for name, _ in product_modules()
        if not name.startswith("storage.migrations") and not name.endswith("__main__")
    )
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[:2] == {SANDBOX.split('.')!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
