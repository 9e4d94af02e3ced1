"""What the lesson notebooks use besides the AWS helpers: connecting, short tables, checks.

Outputs are kept short and deterministic (names and states, never ids with timestamps or
secrets), so the notebooks' reference outputs stay stable.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from . import billing, costs, diagnose, korean, preflight
from .core import choices, web
from .core.config import Lab, names_for
from .core.text import pad, width


def start(target: str = "local", region: str | None = None, confirm_costs: bool = False, learner: str = "",
          tags: str | dict[str, Any] | None = None, permissions_boundary: str | None = None) -> Lab:
    """Notebook 00: the lab's choices checked and remembered (`choices`), then the local cloud brought up
    (or the cost confirmation, the AWS credentials and the pre-flight checks: nothing is created before)."""
    lab_choices = choices.choose(target, region, learner, tags, permissions_boundary)
    if lab_choices.target == "aws":  # the costs before anything else, even before credentials are looked for
        costs.require_confirmation(confirm_costs, lab_choices.region, names_for(lab_choices.learner,
                                                                                lab_choices.region))
        lab_choices = dataclasses.replace(lab_choices, costs_confirmed=True)
    if lab_choices.target == "local":
        choices.remember(lab_choices)
        from . import local

        recorded = local.RunningCloud.recorded()
        running = recorded == "running"
        if recorded == "stale":  # a cloud stopped without `down` (its server was stopped, the machine restarted)
            local.down()  # clears its record and anything of it left, so that `up` starts a new one
        info = local.up()
        print(f"로컬 클라우드 실행 중: {info['endpoint']}" if running else
              f"로컬 클라우드를 시작했습니다: {info['endpoint']}")
    lab = Lab.connect(lab_choices.target, lab_choices.region, **lab_choices.lab_settings())
    if lab.target == "aws":
        print(f"AWS 계정 {lab.account_id} 의 {lab.region} 리전을 사용합니다.")
        preflight.check(lab)  # raises with one sentence saying what to do; nothing was created
        choices.remember(lab_choices)
        billing.report_on_failure(lab)
    if lab_choices.learner:
        print(f"learner {lab_choices.learner!r}: 모든 리소스 이름이 '{lab_choices.learner}-' 로 시작합니다 "
              f"(예: {lab.names.db_instance}).")
    return lab


def connect(target: str | None = None, region: str | None = None, learner: str | None = None) -> Lab:
    """Notebooks 01 and later: the lab's choices from 00 (a parameter given must agree with them), and the
    same target as notebook 00 left running."""
    from .local import LocalCloudError

    lab_choices = choices.follow(target, region, learner)
    if lab_choices.target == "aws" and not lab_choices.costs_confirmed:  # 00 did not run with confirm_costs=True
        costs.require_confirmation(False, lab_choices.region, names_for(lab_choices.learner, lab_choices.region))
    try:
        lab = Lab.connect(lab_choices.target, lab_choices.region, **lab_choices.lab_settings())
    except LocalCloudError:
        raise RuntimeError("로컬 클라우드가 실행 중이 아니니 00_prerequisites 노트북을 먼저 실행하세요 "
                           "(00 이 로컬 클라우드를 시작합니다).") from None
    if lab.target == "aws":
        billing.report_on_failure(lab)
    return lab


def table(rows: Mapping[str, Any] | Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> None:
    """Print a dict (as key/value rows) or a list of dicts (as columns) as an aligned text table, its keys and
    values in Korean (`korean`: the term sheet)."""
    if isinstance(rows, Mapping):
        keys = [k for k in columns if k in rows] if columns else list(rows)
        data = [[korean.column(str(k)), _cell(rows[k])] for k in keys]
        header = None
    else:
        rows = list(rows)
        columns = columns or list(rows[0].keys()) if rows else []
        data = [[_cell(r.get(c)) for c in columns] for r in rows]
        header = [korean.column(c) for c in columns]
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
    value = korean.value(value)
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


def curl(url: str, lab: Lab | None = None) -> tuple[int, str]:
    """GET `url` as the module's `curl` does, and print the command and the answer. With `lab` on AWS, a denial
    right after a policy change is retried while IAM propagates it (`api.call_stage`)."""
    print(f"$ curl {url}")
    if lab is not None:
        from . import api

        status, body = api.call_stage(lab, url)
    else:
        status, _, data = web.get(url)
        body = data.decode(errors="replace")
    print(body)
    return status, body


def show_billing(lab: Lab, rows: list[Mapping[str, Any]]) -> None:
    """99_cleanup: what of the lab still bills, with the hourly total (nothing on the local cloud)."""
    if lab.target != "aws":
        print("로컬 클라우드: 요금이 부과되지 않습니다.")
    else:
        print(billing.describe(lab, rows))


def check_cleanup(lab: Lab, level: str, left: list[Any], rows: list[Mapping[str, Any]]) -> None:
    """99_cleanup's closing check: nothing of `level` left (else an error: run it again); then ✅ only when
    nothing of the lab bills, otherwise ⚠️ with the hourly cost and what to do."""
    if left:
        raise AssertionError(f"level={level!r} 에서 지울 실습 리소스가 아직 남아 있습니다 (위 표). 잠시 뒤 "
                             "99_cleanup 을 다시 실행하세요.")
    print(billing.closing_line(lab, level, rows))


def check_rotation(lab: Lab, after: list[Mapping[str, Any]], status: int, body: str) -> None:
    """07_secret_rotation's closing check: rotation on, the two versions' passwords different, each function as
    explained, the stage URL answering; on the local cloud, the database taking the current password only."""
    from . import rotation

    by_key = dict(zip([key for key, _, _ in rotation.DEMO], after, strict=True))
    try:
        stage_ok = status == 200 and json.loads(body).get("statusCode") == 200
    except ValueError:
        stage_ok = False
    checks = {
        "자동 로테이션이 켜져 있음": rotation.rotation_enabled(lab),
        "AWSCURRENT 와 AWSPREVIOUS 의 비밀번호가 다름": rotation.passwords_differ(lab),
        "원문 코드는 로테이션 뒤에도 200": by_key["module3_printed"]["status"] == 200,
        "비밀번호를 계속 쓰는 함수는 1045": by_key["cached"]["error_code"] == 1045,
        "이 실습의 함수는 보안 암호를 다시 읽고 200": by_key["module3"]["status"] == 200,
        "Invoke URL 이 statusCode 200": stage_ok,
    }
    # the database's and the proxy's own view of the password is checked on the local cloud only
    accepted = "이고 DB 와 RDS Proxy 가 그것만 받습니다"
    if lab.target == "local":
        checks.update(rotation.database_checks(lab))
    else:
        accepted = "입니다 (두 버전의 비밀번호가 다름)"
    failed = [name for name, ok in checks.items() if not ok]
    check(not failed, f"로테이션 완료: 새 비밀번호가 AWSCURRENT {accepted}. 원문 코드와 이 실습의 함수는 계속 "
                      "동작하고, 비밀번호를 계속 쓰는 함수만 1045 로 실패했습니다. 다음은 08_iam_auth 입니다.",
          "기대와 다른 항목이 있습니다: " + "; ".join(failed) + ". 07_secret_rotation 을 처음부터 다시 실행하세요.")

