"""The project as a wheel: installed (not editable) into a fresh environment, it runs the lab from any folder.

The wheel is built from this checkout and installed into a new virtualenv, whose only other path
is the project's virtualenv's site-packages (for the pinned dependencies, so the test needs no
network). From a folder outside the checkout it starts the local cloud, brings up Module 2 and
Module 3 with the one-call API, and invokes the function, which answers with the database's time.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from lab_helpers.core import paths
from lab_helpers.local.ports import free_port

pytestmark = pytest.mark.integration

LAB = textwrap.dedent('''
    import json, sys
    from lab_helpers import baseline, module3
    from lab_helpers.core import paths
    from lab_helpers.core.config import Lab

    assert paths.CHECKOUT is None, paths.PACKAGE  # the installed package, not the checkout
    lab = Lab.connect("local")
    baseline.ensure_baseline(lab)
    module3.ensure_module3(lab)
    answer = json.load(lab.client("lambda").invoke(FunctionName=lab.names.function)["Payload"])
    print("PACKAGE", paths.PACKAGE)
    print("ANSWER", json.dumps(answer))
''')


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (a build writes build/ and *.egg-info where it runs)."""
    source, out = tmp_path_factory.mktemp("source") / "lab", tmp_path_factory.mktemp("wheel")
    shutil.copytree(paths.CHECKOUT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".lab", "build", "*.egg-info", "__pycache__", ".ipynb_checkpoints"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    (found,) = out.glob("lab_helpers-*.whl")
    return found


def test_the_wheel_carries_the_handlers_the_lambda_site_hook_and_the_cleanup_registry(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    handlers = {p.parent.name for p in paths.HANDLER_ROOT.glob("*/lambda_function.py")}
    assert {f"lab_helpers/handler/{h}/lambda_function.py" for h in handlers} <= names
    assert "lab_helpers/local/vpc/lambda_site/sitecustomize.py" in names
    assert {"lab_helpers/local/awslambda/bootstrap/bootstrap.py",
            "lab_helpers/local/awslambda/bootstrap/trace_env.py"} <= names  # what an execution environment runs
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    registry = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "lab_helpers.measure.registration:RESOURCES" in registry and "lab_helpers.iam_db_auth:RESOURCES" in registry
    assert not any(n.startswith(("tests/", "notebooks/")) for n in names)


def test_installed_from_the_wheel_the_lab_runs_outside_the_checkout(wheel, tmp_path):
    env_dir, work = tmp_path / "venv", tmp_path / "elsewhere"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    target = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    # the pinned dependencies come from the project's environment (a plain path: its .pth files are not read,
    # so its editable install of lab_helpers is not seen)
    dependencies = [p for p in site.getsitepackages() + [sysconfig.get_path("purelib")] if Path(p).is_dir()]
    (target / "project-dependencies.pth").write_text("\n".join(dict.fromkeys(dependencies)) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), LAB_LOCAL_PORT=str(free_port()))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)

    up = run("-m", "lab_helpers.local", "up")
    try:
        assert up.returncode == 0, up.stderr
        assert str(tmp_path / "state") in up.stdout  # the state folder outside any checkout
        result = run("-c", LAB)
        assert result.returncode == 0, result.stderr[-3000:]
        package = next(line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("PACKAGE "))
        assert Path(package).is_relative_to(target)
        answer = next(line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("ANSWER "))
        assert '"statusCode": 200' in answer
    finally:
        down = run("-m", "lab_helpers.local", "down")
    assert down.returncode == 0, down.stderr
