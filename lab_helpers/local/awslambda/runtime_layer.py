"""The managed runtime's own Python packages, and nothing else of the host's environment.

On AWS a Python function's import path is its deployment package (/var/task), its layers (/opt/python),
the standard library, and the runtime's directory, which holds the runtime interface client and the
AWS SDK (boto3, botocore and what they need). A function that forgets a dependency in its zip fails
there with `Runtime.ImportModuleError`. The local execution environments run the same way: the
interpreter starts without site-packages (`python -S`), and the runtime's folder built here holds
links to exactly awslambdaric, boto3 and what they require, as installed in this virtualenv.
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from pathlib import Path

from packaging.requirements import Requirement

RUNTIME_DISTRIBUTIONS = ("awslambdaric", "boto3")  # the runtime interface client and the SDK of the runtime
BOOTSTRAP = Path(__file__).with_name("bootstrap") / "bootstrap.py"


def distributions(names: tuple[str, ...] = RUNTIME_DISTRIBUTIONS) -> dict[str, importlib.metadata.Distribution]:
    """The distributions `names` and everything they require (without extras), by normalized name."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = list(names)
    while pending:
        dist = importlib.metadata.distribution(pending.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def top_level_entries(dist: importlib.metadata.Distribution) -> set[str]:
    """The names a distribution installs at the top of site-packages (packages, modules, its dist-info)."""
    entries = set()
    for file in dist.files or ():
        first = file.parts[0]
        if first in ("..", "__pycache__") or first.endswith(".pth"):
            continue
        entries.add(first)
    return entries


def build(folder: Path) -> Path:
    """Make `folder` the runtime's package folder (links into this virtualenv) and return it."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for dist in distributions().values():
        for entry in top_level_entries(dist):
            source = Path(str(dist.locate_file(entry)))
            if source.exists() and not (tmp / entry).exists():
                os.symlink(source, tmp / entry)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def command(handler: str) -> list[str]:
    """The runtime process: this interpreter without site-packages, started by the bootstrap."""
    return [sys.executable, "-S", "-B", str(BOOTSTRAP), handler]


def interpreter_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
