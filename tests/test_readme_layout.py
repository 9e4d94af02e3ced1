"""The README's Layout names every module and package a newcomer looks for, so it cannot go stale:
each module and package directly in lab_helpers/, core/, tools/ and local/, and every package below them."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lab_helpers"


def layout() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Layout\n", 1)[1]
    return section.split("\n```", 2)[1]  # the code block right under the heading


def expected_names() -> set[str]:
    names = set()
    for folder in (PACKAGE, PACKAGE / "core", PACKAGE / "tools", PACKAGE / "local"):
        for entry in folder.iterdir():
            if entry.suffix == ".py" and not entry.name.startswith("__"):
                names.add(entry.name)
            elif (entry / "__init__.py").exists():
                names.add(entry.name + "/")
    for init in PACKAGE.rglob("__init__.py"):
        names.add(init.parent.name + "/")
    return names - {"lab_helpers/"}


def test_the_readme_layout_names_every_module_and_package():
    words = set(re.findall(r"[\w.]+\.py|[\w]+/", layout()))
    missing = sorted(expected_names() - words)
    assert not missing, f"README.md's Layout does not name {missing}: add a line for each"


def test_the_readme_layout_names_nothing_that_is_gone():
    named = set(re.findall(r"\b[a-z_0-9]+\.py\b", layout()))
    existing = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    assert not named - existing, f"README.md's Layout names files that do not exist: {sorted(named - existing)}"
