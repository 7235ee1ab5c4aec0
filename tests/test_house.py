"""The plan of the imports (issue 32): no circle among medjudge's modules (imports inside functions included),
and no folder holding more than 15% of the product's lines. A new circle fails here, naming its modules."""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "medjudge"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """module -> the medjudge modules it imports (a package's __init__ counts as the package)."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name and t.startswith("medjudge"):
                    graph[name].add(t)
    return {m: graph.get(m, set()) for m in modules}


def cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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

    import sys

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_circle_among_the_modules():
    graph = imports()
    # a package importing its own modules (re-exports in __init__) is not a circle of the house
    graph = {m: {t for t in ts if not m.startswith(t + ".") and not t.startswith(m + ".")} for m, ts in graph.items()}
    assert cycles(graph) == []


def test_no_folder_holds_more_than_15_percent_of_the_lines():
    lines = defaultdict(int)
    for p in ROOT.rglob("*.py"):
        folder = p.relative_to(ROOT).parts[0] if len(p.relative_to(ROOT).parts) > 1 else "(top)"
        lines[folder] += sum(1 for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
    total = sum(lines.values())
    over = {f: round(n / total, 3) for f, n in lines.items() if f != "(top)" and n / total > 0.15}
    assert over == {}, over


def test_the_circle_finder_finds_circles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_package_defines_a_name_its_own_module_shadows():
    """A function in a package's __init__ named like one of its modules is replaced by that module once it is
    imported (optimizing.heldout did that to the held-out step)."""
    clash = []
    for init in ROOT.rglob("__init__.py"):
        modules = {p.stem for p in init.parent.glob("*.py")} | {p.name for p in init.parent.iterdir() if p.is_dir()}
        for node in ast.parse(init.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in modules:
                clash.append(f"{init.parent.name}.{node.name}")
    assert clash == []


# the floors of the house, lowest first: a module may import its own floor and those below it
FLOORS = [
    {"", "errors", "display", "secrets", "config", "frames", "bootstrap", "store", "data", "rubric_library"},
    {"models", "rubrics", "inputs"},
    {"judges", "stored", "calibration", "labels"},
    {"summaries", "grading", "batching", "compare", "probing", "optimizing", "rubric_test", "authoring", "view",
     "gates", "generating"},
    {"api"},
    {"cli"},
]


def floor(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    found = [i for i, names in enumerate(FLOORS) if top in names]
    assert found, f"{module} is on no floor: add its folder to FLOORS"
    return found[0]


def imports_up(graph) -> list[str]:
    return sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts if floor(t) > floor(m))


def test_at_most_one_import_runs_up_a_floor():
    # the one allowed: rubrics/scope.py folds a conversation's turns with judges/aggregate.py's Aggregate
    assert imports_up(imports()) == ["medjudge.rubrics.scope -> medjudge.judges.aggregate"]


def test_the_floor_check_sees_an_import_up():
    assert imports_up({"medjudge.store": {"medjudge.api"}, "medjudge.api": {"medjudge.store"}}) == \
        ["medjudge.store -> medjudge.api"]


def test_every_cli_command_goes_through_the_public_door():
    """cli/ reads medjudge through api.py (and errors, display, secrets, view for printing), nothing below it."""
    allowed = ("medjudge.api", "medjudge.errors", "medjudge.display", "medjudge.secrets", "medjudge.view",
               "medjudge.cli", "medjudge")
    bypass = sorted(f"{m} -> {t}" for m, ts in imports().items() if m.startswith("medjudge.cli")
                    for t in ts if not any(t == a or t.startswith(a + ".") for a in allowed[:-1]) and t != "medjudge")
    assert bypass == []


def test_no_module_of_medjudge_is_imported_under_another_name():
    aliased = []
    for p in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("medjudge")):
                aliased += [f"{p.relative_to(ROOT)}: {a.name} as {a.asname}" for a in node.names if a.asname]
    assert aliased == []
