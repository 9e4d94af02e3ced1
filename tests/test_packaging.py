"""Packaging: pinned dependencies in step, the test tools apart, and every package in the wheel."""
import re
import tomllib

from setuptools import find_packages

from lab_helpers.core import paths

ROOT = paths.CHECKOUT
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _norm(req: str) -> str:
    return re.sub(r"[-_.]+", "-", req.strip().lower())


def _names(reqs: list[str]) -> set[str]:
    return {_norm(r.split("==")[0]).split("[")[0] for r in reqs}


def test_environment_yml_matches_pyproject():
    deps = PYPROJECT["project"]["dependencies"]
    yml = (ROOT / "environment.yml").read_text()
    pip_section = yml.split("- pip:", 1)[1]
    listed = [line.strip()[2:] for line in pip_section.splitlines() if line.strip().startswith("- ")]
    assert sorted(map(_norm, listed)) == sorted(map(_norm, deps))


def test_behaviour_critical_packages_are_pinned():
    deps = PYPROJECT["project"]["dependencies"]
    pinned = {_norm(d.split("==")[0]).split("[")[0] for d in deps if "==" in d}
    assert {"boto3", "moto", "pymysql", "awslambdaric"} <= pinned


def test_test_tools_are_an_extra_not_a_runtime_dependency():
    runtime = _names(PYPROJECT["project"]["dependencies"])
    test = _names(PYPROJECT["project"]["optional-dependencies"]["test"])
    assert {"pytest", "nbval", "ruff", "mypy"} <= test
    assert not runtime & {"pytest", "nbval", "ruff", "mypy"}


def test_every_package_is_in_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert set(find_packages(str(ROOT), include=["lab_helpers*"])) | {"lab_helpers.handler"} == listed


def test_cleanup_finds_what_the_measurements_register():
    from lab_helpers import cleanup
    from lab_helpers.measure import registration

    assert set(registration.RESOURCES) <= set(cleanup.registered())
