"""Finding calls in Python source by what they call, whatever the import alias.

The suite's guards over the code (tests/test_clock_everywhere.py: no product module reads
the wall clock; tests/test_suite_guards.py: no test sleeps) share this one scan.
"""

from __future__ import annotations

import ast


def calls_to(source: str, targets: set[str]) -> list[tuple[int, str]]:
    """(line, call as written) of every call in `source` whose callee, followed through the
    imports of `source` (anywhere in it, functions included), is one of `targets`, given
    by its full dotted name (`"time.sleep"`, `"datetime.date.today"`)."""
    tree = ast.parse(source)
    bound: dict[str, str] = {}  # local name -> the dotted name it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:  # `import a.b` binds `a`
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def meaning(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return bound.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = meaning(node.value)
            return f"{owner}.{node.attr}" if owner is not None else None
        return None

    return [
        (node.lineno, ast.unparse(node.func))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and meaning(node.func) in targets
    ]
