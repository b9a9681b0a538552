"""Imports sit at module level ("module-level imports everywhere except ``cli/``, ``app.py`` and
``__init__.py``"): an import inside a function hides a dependency until that function runs, so
a missing package or a broken module shows up late, in the middle of a run.

Exempt: ``t2i_core/cli/`` (commands import what they need when they run, so ``--help`` stays
fast) and ``__init__.py`` files; the root ``app.py`` is outside the package scanned. Justified exceptions are listed in ``ALLOWED`` with
their reason. A dynamic import
(``importlib.import_module``, ``__import__``) inside a function counts too."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "t2i_core"

# (file, what it imports) -> why the import stays inside a function
ALLOWED = {
    ("t2i_core/tutorial.py", "IPython.display"):
        "IPython is not in requirements.txt (it arrives with jupyterlab / ipywidgets) and only "
        "LivePlot, in a running notebook, needs it",
    ("t2i_core/__main__.py", "importlib.import_module"):
        "the parser is built from cli.COMMANDS (command name -> module name); cli/ is exempt",
}

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_DYNAMIC = {"import_module": "importlib.import_module", "__import__": "__import__"}


def exempt(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return rel.startswith("t2i_core/cli/") or name == "__init__.py"


def _imported(node) -> list[str]:
    """What an import statement or a dynamic-import call names (empty for anything else)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        return ["." * node.level + (node.module or "")]
    if isinstance(node, ast.Call):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
        if name in _DYNAMIC:
            return [_DYNAMIC[name]]
    return []


def function_level_imports(source: str) -> list[tuple[int, str]]:
    """``(line, imported module)`` of every import inside a function or method body."""
    found = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if in_function:
                found.extend((child.lineno, name) for name in _imported(child))
            visit(child, in_function or isinstance(child, _FUNCTIONS))

    visit(ast.parse(source), False)
    return sorted(found)


def offenders() -> dict[str, list[tuple[int, str]]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if exempt(rel):
            continue
        hits = function_level_imports(path.read_text(encoding="utf-8"))
        if hits:
            out[rel] = hits
    return out


def test_the_walker_finds_imports_in_functions_and_methods_only():
    source = (
        "import os\n"
        "from . import a\n"
        "def f():\n"
        "    import json\n"
        "    def g():\n"
        "        from ..x import y\n"
        "class C:\n"
        "    import re\n"
        "    def m(self):\n"
        "        return importlib.import_module('z')\n"
        "h = lambda: __import__('w')\n"
    )
    assert function_level_imports(source) == [
        (4, "json"), (6, "..x"), (10, "importlib.import_module"), (11, "__import__")]
    assert exempt("t2i_core/cli/train.py") and exempt("t2i_core/data/__init__.py")
    assert not exempt("t2i_core/pipeline.py") and not exempt("t2i_core/train/losses.py")


def test_imports_are_at_module_level():
    bad = []
    for rel, hits in offenders().items():
        bad += [f"{rel}:{line}: {name}" for line, name in hits if (rel, name) not in ALLOWED]
    assert not bad, ("imports inside functions (move them to the top of the module; if one must "
                     "stay, add it to ALLOWED with its reason):\n" + "\n".join(bad))


def test_allowed_entries_are_still_needed():
    found = offenders()
    stale = [f"ALLOWED {rel}: {name}" for rel, name in ALLOWED
             if name not in {n for _, n in found.get(rel, [])}]
    assert not stale, "no longer needed, remove from ALLOWED:\n" + "\n".join(stale)
