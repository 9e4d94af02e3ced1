"""The package's structure, read from its code: no import cycle between modules (imports inside functions count),
nothing outside lab_helpers/local/ importing a module below local's public client (the names
lab_helpers/local/__init__.py exports), and no module over 450 lines unless its first lines say why in a
comment `# Over 450 lines: <why>`."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lab_helpers"
MAX_LINES = 450
FIRST_LINES = 3  # where the reason goes: above the docstring
REASON = re.compile(r"#\s*over 450 lines:\s*\S.{20,}", re.IGNORECASE)  # the reason itself: some words


def modules(root: Path) -> dict[str, Path]:
    """Every module below `root` (the package's folder) by its dotted name; a package by its own name."""
    found = {}
    for path in root.rglob("*.py"):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of `known` that module `name` imports, anywhere in it: `from X import y` imports X.y when that is
    a module, else X."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def below_local(edges: dict[str, set[str]], local: str = "lab_helpers.local") -> list[str]:
    """Each import, from a module outside `local`, of a module below it (not the package itself)."""
    return sorted(f"{name} imports {target}" for name, targets in edges.items()
                  if name != local and not name.startswith(local + ".")
                  for target in targets if target.startswith(local + "."))


def too_long(root: Path) -> list[str]:
    """Each module over MAX_LINES lines whose first lines do not say why."""
    out = []
    for path in sorted(root.rglob("*.py")):
        lines = path.read_text().splitlines()
        if len(lines) > MAX_LINES and not any(REASON.match(line) for line in lines[:FIRST_LINES]):
            out.append(f"{path.relative_to(root.parent)}: {len(lines)} lines")
    return out


def test_no_import_cycle_in_lab_helpers():
    found = cycles(graph(PACKAGE))
    assert not found, f"import cycles: {found}"


def test_nothing_outside_local_imports_below_its_public_client():
    found = below_local(graph(PACKAGE))
    assert not found, ("outside lab_helpers/local/, import only what lab_helpers/local/__init__.py exports "
                       f"(export there what is missing): {found}")


def test_no_module_is_over_450_lines_without_saying_why():
    found = too_long(PACKAGE)
    assert not found, (f"modules over {MAX_LINES} lines: {found}; split them, or say why in a comment "
                       "`# Over 450 lines: <why>` in their first lines")


def test_the_checks_find_a_cycle_an_import_below_local_and_a_long_module(tmp_path):
    """The three checks on a package made to break each rule once (and nothing else)."""
    root = tmp_path / "lab_helpers"
    (root / "local" / "rds").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from . import b\n",  # a function-level import closes the cycle
        "b.py": "from .a import f\n",
        "tool.py": "from .local.rds import mariadb\nfrom .local import up\n",
        "fine.py": "from . import local\nfrom .local import RunningCloud\n",
        "local/__init__.py": "from .rds.mariadb import MariaDB\ndef up():\n    pass\n",
        "local/rds/__init__.py": "",
        "local/rds/mariadb.py": "class MariaDB:\n    pass\n",
        "long.py": "x = 1\n" * (MAX_LINES + 1),
        "long_with_reason.py": "# Over 450 lines: one table of every error code, kept in one place\n" + "x = 1\n" * 500,
    }
    for name, text in files.items():
        (root / name).write_text(text)
    edges = graph(root)
    assert cycles(edges) == [["lab_helpers.a", "lab_helpers.b"]]
    assert below_local(edges) == ["lab_helpers.tool imports lab_helpers.local.rds.mariadb"]
    assert too_long(root) == [f"lab_helpers/long.py: {MAX_LINES + 1} lines"]
