"""No import cycles inside ``t2i_core``: every import statement counts, also those inside
functions (a lazy import still ties two modules together)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "t2i_core"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _targets(module: str, path: Path, node, modules) -> set[str]:
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in modules}
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for _ in range(max(node.level - 1, 0)):
        package = package.rsplit(".", 1)[0]
    base = (f"{package}.{node.module}" if node.module else package) if node.level else node.module
    found = set()
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        found.add(sub if sub in modules else base)
    return {m for m in found if m in modules}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps |= _targets(name, path, node, modules)
        graph[name] = deps - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_imports():
    graph = import_graph()
    assert "t2i_core.pipeline" in graph["t2i_core"]           # __getattr__'s function-level import
    assert "t2i_core.data.vocabulary" in graph["t2i_core.data.render"]


def test_no_import_cycles_inside_the_package():
    assert cycles(import_graph()) == []


def test_the_library_never_imports_the_cli():
    """Only ``cli/`` itself and ``__main__`` (the command dispatcher) may import ``t2i_core.cli``."""
    graph = import_graph()
    offenders = {name: sorted(d for d in deps if d == "t2i_core.cli" or d.startswith("t2i_core.cli."))
                 for name, deps in graph.items()
                 if not (name == "t2i_core.__main__" or name == "t2i_core.cli" or name.startswith("t2i_core.cli."))}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert any(d.startswith("t2i_core.cli") for d in graph["t2i_core.__main__"])  # the graph sees it
