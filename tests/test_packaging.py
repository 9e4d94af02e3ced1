"""pyproject.toml and environment.yml list the same pinned dependencies."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    return re.sub(r"[-_.]+", "-", req.strip().lower())


def test_environment_yml_matches_pyproject():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    yml = (ROOT / "environment.yml").read_text()
    pip_section = yml.split("- pip:", 1)[1]
    listed = [line.strip()[2:] for line in pip_section.splitlines() if line.strip().startswith("- ")]
    assert sorted(map(_norm, listed)) == sorted(map(_norm, deps))


def test_behaviour_critical_packages_are_pinned():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = {_norm(d.split("==")[0]).split("[")[0] for d in deps if "==" in d}
    assert {"boto3", "moto", "pymysql", "mysql-mimic", "awslambdaric"} <= pinned
