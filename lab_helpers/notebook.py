"""What the lesson notebooks use besides the AWS helpers: connecting, short tables, checks.

Outputs are kept short and deterministic (names and states, never ids with timestamps or
secrets), so the notebooks' reference outputs stay stable.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from . import choices, costs, diagnose, web
from .config import Lab
from .text import pad, width


def start(target: str = "local", region: str | None = None, confirm_costs: bool = False, learner: str = "") -> Lab:
    """Notebook 00: the lab's choices checked and remembered (`choices`), then the local cloud brought up
    (or the cost confirmation and the AWS credentials checked)."""
    lab_choices = choices.choose(target, region, learner)
    if lab_choices.target == "aws":  # the costs before anything else, even before credentials are looked for
        costs.require_confirmation(confirm_costs, lab_choices.region)
    choices.remember(lab_choices)
    if lab_choices.target == "local":
        from . import local

        info = local.up()
        print(f"로컬 클라우드 실행 중: {info['endpoint']}")
    lab = Lab.connect(lab_choices.target, lab_choices.region, learner=lab_choices.learner)
    if lab.target == "aws":
        print(f"AWS 계정 {lab.account_id} 의 {lab.region} 리전을 사용합니다.")
    if lab_choices.learner:
        print(f"learner {lab_choices.learner!r}: 모든 리소스 이름이 '{lab_choices.learner}-' 로 시작합니다 "
              f"(예: {lab.names.db_instance}).")
    return lab


def connect(target: str | None = None, region: str | None = None, learner: str | None = None) -> Lab:
    """Notebooks 01 and later: the lab's choices from 00 (a parameter given must agree with them), and the
    same target as notebook 00 left running."""
    from .local import LocalCloudError

    lab_choices = choices.follow(target, region, learner)
    try:
        return Lab.connect(lab_choices.target, lab_choices.region, learner=lab_choices.learner)
    except LocalCloudError as e:
        raise RuntimeError(f"로컬 클라우드가 실행 중이 아닙니다. 00_prerequisites 노트북을 먼저 "
                           f"실행하세요. ({e})") from None


def table(rows: Mapping[str, Any] | Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> None:
    """Print a dict (as key/value rows) or a list of dicts (as columns) as an aligned text table."""
    if isinstance(rows, Mapping):
        keys = [k for k in columns if k in rows] if columns else list(rows)
        data = [[str(k), _cell(rows[k])] for k in keys]
        header = None
    else:
        rows = list(rows)
        columns = columns or list(rows[0].keys()) if rows else []
        data = [[_cell(r.get(c)) for c in columns] for r in rows]
        header = columns
    lines = ([header] if header else []) + data
    if not lines:
        print("(없음)")
        return
    widths = [max(width(line[i]) for line in lines) for i in range(len(lines[0]))]
    for n, line in enumerate(lines):
        print("  ".join(pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if header and n == 0:
            print("  ".join("-" * w for w in widths))


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "-" if value is None else str(value)


def check(condition: bool, success: str, failure: str) -> None:
    """The last cell of each notebook: a clear success line, or an error that says what to do."""
    if not condition:
        raise AssertionError(failure)
    print(f"✅ {success}")


def check_step(lab: Lab, step: str, success: str) -> None:
    """The closing check of notebooks 01–04: every condition of the step (the same ones 05 diagnoses),
    a success line, or an error listing what is missing and which notebook to run again."""
    rows = diagnose.step_checks(lab, step)
    check(all(row["ok"] for row in rows), success, diagnose.explain(rows))


def curl(url: str) -> tuple[int, str]:
    """GET `url` as the module's `curl` does, and print the command and the answer."""
    print(f"$ curl {url}")
    status, _, data = web.get(url)
    body = data.decode(errors="replace")
    print(body)
    return status, body
