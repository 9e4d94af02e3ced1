"""One list of Debian packages: apt.txt (what the lab needs) and apt-test.txt (what `make test` adds), read by the
Makefile, repo2docker (Binder, Zero to JupyterHub images) and the dev container, and named the same way by every
`apt-get install` line the lab prints."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from lab_helpers.core import paths

ROOT = paths.CHECKOUT
INSTALL = re.compile(r"apt-get install -y (?:-qq )?((?:[a-z0-9][a-z0-9.+-]*\s?)+)")


def _packages(name: str) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines()
            if line.split("#", 1)[0].strip()]


RUNTIME, TEST = _packages("apt.txt"), _packages("apt-test.txt")


def test_the_two_lists_hold_what_the_lab_and_its_browser_test_need():
    assert {"mariadb-server", "fonts-noto-cjk"} <= set(RUNTIME) and {"chromium", "fonts-noto-color-emoji"} <= set(TEST)
    assert not set(RUNTIME) & set(TEST) and len(set(RUNTIME)) == len(RUNTIME) and len(set(TEST)) == len(TEST)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", p) for p in RUNTIME + TEST)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_makefile_installs_exactly_the_lists():
    dry = subprocess.run(["make", "-n", "-B", "mariadb", "chromium"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "MAKEFLAGS": ""}, check=True).stdout
    installs = [match.split() for match in INSTALL.findall(dry)]
    # each target's apt-get line, and the `sudo apt-get install` line it prints for a user who is not root
    assert installs == [RUNTIME, RUNTIME, RUNTIME + TEST, RUNTIME + TEST], dry


def test_repo2docker_reads_apt_txt_environment_yml_and_post_build_from_the_root():
    # a binder/ or .binder/ folder would make repo2docker ignore every file at the root
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()
    post_build = ROOT / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert re.search(r"^python -m pip install --no-deps [^\n]*\.$", post_build.read_text(), re.M)


def test_the_dev_container_installs_the_same_lists_and_the_python_dependencies():
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert config["build"] == {"dockerfile": "Dockerfile", "context": ".."}
    assert config["postCreateCommand"] == "make venv-test"  # pyproject.toml's dependencies and its test extra
    dockerfile = (ROOT / ".devcontainer" / "Dockerfile").read_text()
    assert "COPY apt.txt apt-test.txt /tmp/lab-packages/" in dockerfile
    assert "/tmp/lab-packages/apt.txt /tmp/lab-packages/apt-test.txt" in dockerfile
    assert "apt-get install -y" in dockerfile
    code = "\n".join(line for line in dockerfile.splitlines() if not line.startswith("#"))
    assert not [p for p in RUNTIME + TEST if p in code], "the Dockerfile names a package itself"


def _texts():
    for pattern in ("README.md", "Makefile", "lab_helpers/**/*.py", "tests/**/*.py", ".devcontainer/*"):
        for path in ROOT.glob(pattern):
            if path.is_file():
                yield path, path.read_text(errors="replace")


def test_every_install_line_of_the_lab_names_a_whole_list():
    wanted = {tuple(RUNTIME), tuple(TEST), tuple(RUNTIME + TEST)}
    found = []
    for path, text in _texts():
        for match in INSTALL.findall(text):
            packages = tuple(match.split())
            if set(packages) & set(RUNTIME + TEST):
                found.append(path.name)
                assert packages in wanted, f"{path.relative_to(ROOT)}: apt-get install -y {' '.join(packages)}"
    assert "mariadb.py" in found  # the local cloud's "MariaDB is not installed" hint is one of them
