"""`python -m lab_helpers.tools.run_lab` (make lab, make notebooks): its parameters and what it refreshes."""
from __future__ import annotations

import pytest

from lab_helpers.tools import run_lab


def test_run_lab_takes_papermill_style_parameters():
    assert [run_lab.parameter_value(v) for v in ("all", "3", "0.5", "True", "None")] == ["all", 3, 0.5, True, None]


def test_refreshing_one_notebook_runs_the_lesson_up_to_it_and_rewrites_only_it():
    names, only = run_lab.refresh_plan(["03_rds_proxy"])
    assert names == ["00_prerequisites", "01_secrets_manager", "02_vpc_endpoint", "03_rds_proxy"]
    assert only == {"03_rds_proxy"}
    with pytest.raises(ValueError, match="not a notebook of the lesson: 03_rds"):
        run_lab.refresh_plan(["03_rds"])
