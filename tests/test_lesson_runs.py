"""The lesson run headless as `make lab` runs it: twice without cleanup, cleanup twice, and a broken step."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lab_helpers import secrets
from lab_helpers.cleanup import ALREADY_GONE, DELETED
from lab_helpers.core import paths
from lab_helpers.core.config import Lab
from lab_helpers.tools import run_lab
from tests.test_lesson_text import english_outputs, too_long

pytestmark = pytest.mark.integration
ROOT = paths.CHECKOUT
SEQUENCE = [name for name in run_lab.LESSON if name != "99_cleanup"]
# the module's steps, without the measurements and what goes beyond the module (its outputs change with a rotation)
SETUP = [name for name in SEQUENCE if name not in ("06_connection_lab", "07_secret_rotation", "08_iam_auth")]
REPEATABLE = [name for name in SEQUENCE if name != "07_secret_rotation"]  # the same outputs every time
# 04 run again after 06: the printed code goes back over 06's improved function, and the request that removes the
# environment 06 set is sent, and shown, too
ENVIRONMENT_REMOVED = re.compile(r"lambda UpdateFunctionConfiguration\n(?:  .*\n)+")


def outputs(path: Path) -> list[str]:
    """Each code cell's text output, sanitized as nbval sanitizes it."""
    rules, texts = run_lab.sanitizers(), []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        for pattern, replacement in rules:
            text = pattern.sub(replacement, text)
        texts.append(text)
    return texts


def quiet(*args, **kwargs):
    pass


def test_the_sequence_twice_without_cleanup_gives_the_same_outputs(fresh_cloud, tmp_path):
    run_lab.run(REPEATABLE, tmp_path / "first", echo=quiet)
    run_lab.run(REPEATABLE, tmp_path / "second", echo=quiet)
    for name in REPEATABLE:
        first, second = outputs(tmp_path / "first" / f"{name}.ipynb"), outputs(tmp_path / "second" / f"{name}.ipynb")
        if name == "04_lambda_update":
            assert sum(bool(ENVIRONMENT_REMOVED.search(text)) for text in second) == 1
            assert '{"Variables":{}}' in "".join(second)
            second = [ENVIRONMENT_REMOVED.sub("", text) for text in second]
        assert first == second, name
    assert '"statusCode": 200' in "".join(outputs(tmp_path / "second" / "05_test.ipynb"))
    # a rotation (07), then the whole sequence again: every notebook still ends with its check passed, twice
    run_lab.run(SEQUENCE, tmp_path / "rotated", echo=quiet)
    run_lab.run(SEQUENCE, tmp_path / "rotated-again", echo=quiet)
    assert "✅ 로테이션 완료" in "".join(outputs(tmp_path / "rotated-again" / "07_secret_rotation.ipynb"))
    # what the learner reads stays short, 06's measurement tables and charts included
    assert [found for name in SEQUENCE for found in too_long(tmp_path / "rotated-again" / f"{name}.ipynb")] == []
    # and in Korean, 06's measurement tables included
    assert {name: found for name in SEQUENCE if (found := english_outputs(tmp_path / "rotated-again" / f"{name}.ipynb"))
            } == {}


def test_a_deleted_secret_makes_05_test_say_which_notebook_to_rerun(fresh_cloud, tmp_path):
    run_lab.run(SETUP, tmp_path / "setup", echo=quiet)
    secrets.delete_secret(Lab.local(fresh_cloud["endpoint"]))
    result = subprocess.run([sys.executable, "-m", "lab_helpers.tools.run_lab", "--out", str(tmp_path / "broken"),
                             "05_test"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 1
    assert "05_test" in result.stderr and "cell" in result.stderr
    assert "01_secrets_manager" in result.stderr
    run_lab.run(SETUP[1:], tmp_path / "fixed", echo=quiet)  # the advice: re-run from 01 on


def test_the_lesson_in_another_region(tmp_path):
    """The same notebooks with region us-east-1, on a cloud of their own (IAM is global: the default
    region's lab would share its roles): every step there, and the function answers from there."""
    from lab_helpers.local import lifecycle

    with lifecycle.fresh("lab-test-region-", export=True) as cloud:
        run_lab.run(SETUP, tmp_path / "region", parameters={"target": "local", "region": "us-east-1"}, echo=quiet)
        answer = "".join(outputs(tmp_path / "region" / "05_test.ipynb"))
        assert '"statusCode": 200' in answer
        lab = Lab.local(cloud["endpoint"], region="us-east-1")
        assert secrets.find_secret(lab)["arn"].split(":")[3] == "us-east-1"


def test_cleanup_twice(fresh_cloud, tmp_path):
    run_lab.run(SETUP, tmp_path / "setup", echo=quiet)
    run_lab.run(["99_cleanup"], tmp_path / "first", echo=quiet)
    run_lab.run(["99_cleanup"], tmp_path / "second", echo=quiet)
    first = "".join(outputs(tmp_path / "first" / "99_cleanup.ipynb"))
    second = "".join(outputs(tmp_path / "second" / "99_cleanup.ipynb"))
    assert DELETED in first
    assert DELETED not in second.replace(ALREADY_GONE, "") and ALREADY_GONE in second
    assert too_long(tmp_path / "first" / "99_cleanup.ipynb") == []
    assert english_outputs(tmp_path / "first" / "99_cleanup.ipynb") == []
