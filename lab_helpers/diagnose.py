"""What is wrong with Module 3, and which notebook to run again.

`check_module3(lab)` looks at every prerequisite of the module's test step (the invoke URL answering
through the secret and the proxy), in the order the notebooks build them; `explain(rows)` turns the
failed checks into a short Korean message. Nothing here changes anything, and a missing resource is
a failed check, never an error.
"""
from __future__ import annotations

from typing import Any

from . import iam, lambda_fn, network, proxy, secrets

GET_SECRET_VALUE = "secretsmanager:GetSecretValue"


def _row(step: str, check: str, ok: bool) -> dict[str, Any]:
    return {"step": step, "check": check, "ok": ok, "fix": "" if ok else f"{step} 노트북을 다시 실행하세요."}


def check_module3(lab) -> list[dict[str, Any]]:
    """One row per prerequisite: {"step": notebook, "check": what (Korean), "ok": bool, "fix": what to do}."""
    names = lab.names
    secret = secrets.find_secret(lab)
    vpc = network.find_vpc(lab)
    secret_sg = network.find_security_group(lab, names.secret_sg) or {"inbound": []}
    endpoint = network.find_secrets_endpoint(lab)
    rds_sg = network.find_security_group(lab, names.rds_sg) or {"inbound": []}
    db_proxy = proxy.find_proxy(lab)
    targets = db_proxy["targets"] if db_proxy else []
    policy = iam.find_function_secret_policy(lab)
    function = lambda_fn.find_function(lab)
    environment = function["environment"] if function else {}
    checks = [
        ("01_secrets_manager", f"Secrets Manager 에 시크릿 {names.secret} 이 있음", secret is not None),
        ("02_vpc_endpoint", f"VPC {names.vpc} 의 DNS hostnames 가 켜져 있음", bool(vpc and vpc["dns_hostnames"])),
        ("02_vpc_endpoint", f"{names.secret_sg} 가 {names.lambda_sg} 의 HTTPS(443) 를 허용",
         f"tcp/{network.HTTPS} from {names.lambda_sg}" in secret_sg["inbound"]),
        ("02_vpc_endpoint", "Secrets Manager VPC 엔드포인트가 available",
         bool(endpoint and endpoint["state"] == "available")),
        ("03_rds_proxy", f"{names.rds_sg} 가 자기 자신(RDS Proxy)의 MySQL(3306) 을 허용",
         f"tcp/{network.MYSQL} from {names.rds_sg}" in rds_sg["inbound"]),
        ("03_rds_proxy", f"RDS Proxy {names.proxy} 가 available", bool(db_proxy and db_proxy["state"] == "available")),
        ("03_rds_proxy", f"RDS Proxy 의 대상 {names.db_instance} 이 AVAILABLE",
         any(t["db"] == names.db_instance and t["state"] == "AVAILABLE" for t in targets)),
        ("04_lambda_update", f"함수 역할의 최소 권한 정책: 시크릿 {names.secret} 의 GetSecretValue 만 허용",
         bool(policy and secret) and (policy["actions"], policy["resources"]) == ([GET_SECRET_VALUE], [secret["arn"]])),
        ("04_lambda_update", f"함수 환경 변수 SECRET_NAME 이 {names.secret}", environment.get("SECRET_NAME") == names.secret),
        ("04_lambda_update", "함수 환경 변수 DB_HOST 가 RDS Proxy 엔드포인트",
         bool(db_proxy) and environment.get("DB_HOST") == db_proxy["endpoint"]),
        ("04_lambda_update", f"함수 {names.function} 가 Active 이고 마지막 업데이트가 Successful",
         bool(function) and (function["state"], function["last_update_status"]) == ("Active", "Successful")),
    ]
    return [_row(*check) for check in checks]


def explain(rows: list[dict[str, Any]]) -> str:
    """The failed checks with their fixes, as Korean text for the learner; "" when everything is ready."""
    failed = [row for row in rows if not row["ok"]]
    if not failed:
        return ""
    lines = [f"준비되지 않은 항목이 {len(failed)}개 있습니다:"]
    lines += [f"- [{row['step']}] {row['check']}: {row['fix']}" for row in failed]
    lines.append(f"뒤 노트북은 앞 노트북이 만든 것을 사용하므로, {failed[0]['step']} 노트북부터 순서대로 다시 실행하세요.")
    return "\n".join(lines)
