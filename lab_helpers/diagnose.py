"""What each step of Module 3 must have made, checked in one place: the closing check of notebooks
01–04 and 05's diagnosis use the same conditions.

`step_checks(lab, step)` looks at what one notebook builds; `check_module3(lab)` at every
prerequisite of the module's test step (the invoke URL answering through the secret and the
proxy), in the order the notebooks build them; `explain(rows)` turns the failed checks into a
short Korean message. Nothing here changes anything, and a missing resource is a failed check,
never an error.

    >>> notebook.table(diagnose.check_module3(lab), columns=["step", "check", "ok"])
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from . import iam, lambda_fn, module3, network, proxy, secrets
from .core.config import Lab

GET_SECRET_VALUE = "secretsmanager:GetSecretValue"
READ_WRITE_POLICY = "SecretsManagerReadWrite"


class CheckRow(TypedDict):
    step: str  # the notebook that makes it
    check: str  # what must hold (Korean)
    ok: bool
    fix: str  # what to do when it does not ("" when it does)


def _secret(lab: Lab) -> list[tuple[str, bool]]:
    names = lab.names
    secret = secrets.find_secret(lab)
    return [
        (f"Secrets Manager 에 보안 암호 {names.secret} 이 있음", secret is not None),
        ("보안 암호의 자동 로테이션이 꺼져 있음 (모듈의 1-5), 또는 07 의 로테이션 함수로 켜져 있음",
         not (secret and secret["rotation_enabled"]) or secret["rotation_function"] == names.rotation_function),
    ]


def _endpoint(lab: Lab) -> list[tuple[str, bool]]:
    names = lab.names
    vpc = network.find_vpc(lab)
    secret_sg = network.find_security_group(lab, names.secret_sg)
    endpoint = network.find_secrets_endpoint(lab)
    return [
        (f"VPC {names.vpc} 의 DNS hostnames 가 켜져 있음", bool(vpc and vpc["dns_hostnames"])),
        (f"{names.secret_sg} 가 {names.lambda_sg} 의 HTTPS(443) 를 허용",
         secret_sg is not None and f"tcp/{network.HTTPS} from {names.lambda_sg}" in secret_sg["inbound"]),
        ("Secrets Manager VPC 엔드포인트가 available 이고 프라이빗 DNS 가 켜져 있음",
         bool(endpoint and endpoint["state"] == "available" and endpoint["private_dns"])),
        (f"엔드포인트가 secret 서브넷에 있고 보안 그룹이 {names.secret_sg}",  # (no endpoint: the row above)
         endpoint is None or (sorted(endpoint["subnets"]) == sorted(names.subnet_names("secret"))
                              and endpoint["security_groups"] == [names.secret_sg])),
    ]


def _proxy(lab: Lab) -> list[tuple[str, bool]]:
    names = lab.names
    rds_sg = network.find_security_group(lab, names.rds_sg)
    db_proxy = proxy.find_proxy(lab)
    targets = db_proxy["targets"] if db_proxy else []
    return [
        (f"{names.rds_sg} 가 자기 자신(RDS Proxy)의 MySQL({names.db_port}) 을 허용",
         rds_sg is not None and f"tcp/{names.db_port} from {names.rds_sg}" in rds_sg["inbound"]),
        (f"RDS Proxy {names.proxy} 가 available", bool(db_proxy and db_proxy["state"] == "available")),
        (f"RDS Proxy 의 대상이 {names.db_instance} 하나이고 AVAILABLE",
         [(t["db"], t["state"]) for t in targets] == [(names.db_instance, "AVAILABLE")]),
    ]


def _function(lab: Lab) -> list[tuple[str, bool]]:
    names = lab.names
    secret = secrets.find_secret(lab)
    db_proxy = proxy.find_proxy(lab)
    policy = iam.find_function_secret_policy(lab)
    role = iam.find_lambda_role(lab)
    function = lambda_fn.find_function(lab)
    environment = function["environment"] if function else {}
    code = function["code_sha256"] if function else None
    # the module's printed code with the proxy's endpoint written in (04), or the lab's improved function (06)
    printed = bool(db_proxy) and code == lambda_fn.code_sha256(module3.printed_package(lab))
    improved = code == lambda_fn.code_sha256(lambda_fn.build_package("module3"))
    return [
        (f"함수 역할의 최소 권한 정책: 보안 암호 {names.secret} 의 GetSecretValue 만 허용",
         policy is not None and secret is not None
         and (policy["actions"], policy["resources"]) == ([GET_SECRET_VALUE], [secret["arn"]])),
        (f"함수 역할에 {READ_WRITE_POLICY} 가 더는 붙어 있지 않음",
         role is not None and READ_WRITE_POLICY not in role["managed_policies"]),
        ("함수 코드가 Module 3 의 코드 (원문 코드에 RDS Proxy 엔드포인트를 넣은 것, 또는 06 의 개선된 코드)",
         printed or improved),
        ("개선된 코드라면 환경 변수 SECRET_NAME, DB_HOST 가 보안 암호와 RDS Proxy 엔드포인트",
         not improved or (environment.get("SECRET_NAME") == names.secret and db_proxy is not None
                          and environment.get("DB_HOST") == db_proxy["endpoint"])),
        (f"함수 {names.function} 가 Active 이고 마지막 업데이트가 Successful",
         function is not None and (function["state"], function["last_update_status"]) == ("Active", "Successful")),
    ]


# The notebooks of Module 3's steps, in order, with what each must have made.
STEPS: dict[str, Callable[[Lab], list[tuple[str, bool]]]] = {
    "01_secrets_manager": _secret,
    "02_vpc_endpoint": _endpoint,
    "03_rds_proxy": _proxy,
    "04_lambda_update": _function,
}


def step_checks(lab: Lab, step: str) -> list[CheckRow]:
    """One row per condition of one notebook's step, e.g. step_checks(lab, "03_rds_proxy")."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; expected one of {list(STEPS)}")
    return [CheckRow(step=step, check=check, ok=ok, fix="" if ok else f"{step} 노트북을 다시 실행하세요.")
            for check, ok in STEPS[step](lab)]


def check_module3(lab: Lab) -> list[CheckRow]:
    """Every step's rows, in the order the notebooks build them."""
    return [row for step in STEPS for row in step_checks(lab, step)]


def explain(rows: list[CheckRow]) -> str:
    """The failed checks with their fixes, as Korean text for the learner; "" when everything is ready."""
    failed = [row for row in rows if not row["ok"]]
    if not failed:
        return ""
    lines = [f"준비되지 않은 항목이 {len(failed)}개 있습니다:"]
    lines += [f"- [{row['step']}] {row['check']}: {row['fix']}" for row in failed]
    lines.append(f"뒤 노트북은 앞 노트북이 만든 것을 사용하므로, {failed[0]['step']} 노트북부터 "
                 "순서대로 다시 실행하세요.")
    return "\n".join(lines)
