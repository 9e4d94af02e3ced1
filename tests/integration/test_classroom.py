"""The instructor's view of a shared account, on the local cloud: `python -m lab_helpers.classroom list` finds each
learner's lab with how far they got and what it would bill; `cleanup` removes one learner's lab, then all, with
99_cleanup's rules (a resource of a learner's name without the lab's tag is never counted or touched)."""
from __future__ import annotations

import re

import pytest

from lab_helpers import baseline, costs, module3, network
from lab_helpers.classroom.__main__ import main
from lab_helpers.core.config import Lab, names_for
from lab_helpers.local import lifecycle


def _table(out: str) -> dict[str, list[str]]:
    """The roster table's rows by learner, as printed (header line, dashes, then one line per learner)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["learner", "notebooks"])
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        cells = line.split("  ")
        cells = [c.strip() for c in cells if c.strip()]
        rows[cells[0]] = cells[1:]
    return rows


def _usd(names, modules=(2, 3)) -> str:
    return f"{sum(i.usd_per_hour for i in costs.billable(names) if i.module in modules):.4f}"


def _billable(names, modules=(2, 3)) -> str:
    return str(sum(1 for i in costs.billable(names) if i.module in modules and i.usd_per_hour > 0))


@pytest.fixture(scope="module")
def classroom():
    """One account (a fresh local cloud) with kim's lab through Module 3, lee's Module 2 baseline, a VPC of
    park's (a half-made baseline) and a secret of zed's name made by hand (no lab tag)."""
    with lifecycle.fresh("lab-test-classroom-", export=True) as info:
        labs = {name: Lab.local(info["endpoint"], names=names_for(name)) for name in ("kim", "lee", "park", "zed")}
        baseline.ensure_baseline(labs["kim"])
        module3.ensure_module3(labs["kim"])
        baseline.ensure_baseline(labs["lee"])
        network.ensure_vpc(labs["park"])
        labs["zed"].client("secretsmanager").create_secret(Name=labs["zed"].names.secret, SecretString="{}")
        yield {"info": info, **labs}


def test_the_instructor_lists_every_learner_then_cleans_up_one_then_all(classroom, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = _table(out)
    kim, lee = names_for("kim"), names_for("lee")
    # resources: Module 2's 8 (REST API, function, its log group, its role, DB instance, DB subnet group, internet
    # gateway, VPC) and Module 3's 7 (the function's secret policy, proxy, proxy role, endpoint, secret-sg, the
    # rds-sg rule, secret); what bills: the DB instance and its storage, and Module 3's proxy, endpoint and secret
    assert {learner: cells[:-1] for learner, cells in rows.items()} == {
        "kim": ["00-04", "15", _billable(kim), _usd(kim)],
        "lee": ["00", "8", _billable(lee, (2,)), _usd(lee, (2,))],
        "park": ["00 (partial)", "1", "0", "0.0000"],
    }, out
    # age: since the oldest creation time (minutes here); a lone VPC has none
    assert all(re.fullmatch(r"\d+m", rows[learner][-1]) for learner in ("kim", "lee")) and rows["park"][-1] == "?"
    assert "3 learner(s)" in out and "zed" not in out

    assert main(["cleanup", "--learner", "kim", "--learner", "zed"]) == 0
    out = capsys.readouterr().out
    assert "zed: no lab of this learner in region ap-northeast-2; nothing to clean up." in out
    assert "kim: cleaning up" in out and "kim: done in" in out and "0 kept" not in out
    assert "Still billing: nothing of these labs." in out

    assert main(["cleanup", "--all"]) == 2  # shows what it would remove (kim's lab is gone), and asks for --yes
    out = capsys.readouterr().out
    assert {learner: cells[:-1] for learner, cells in _table(out).items()} == \
        {"lee": rows["lee"][:-1], "park": rows["park"][:-1]} and "with --yes to go ahead" in out
    assert main(["cleanup", "--all", "--yes", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "lee: done in" in out and "park: done in" in out and "Still billing: nothing of these labs." in out
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "0 learner(s)" in out and "learner  notebooks" not in out
    # the hand-made secret of a learner's name, without the lab's tag, was left alone
    assert classroom["zed"].client("secretsmanager").describe_secret(SecretId=names_for("zed").secret)
