"""Beyond the module (notebook 08): IAM database authentication through RDS Proxy, as the Lambda console's
"Add database proxy" sets it up. The function keeps no password: it signs a 15-minute token with its role
(`rds-db:connect`), and the proxy, which still reads the database password from the secret, checks it.

The notebook's steps, each idempotent and the same on both targets:
- `require_iam_auth`: ModifyDBProxy, the secret's IAMAuth REQUIRED (then its password no longer logs in);
- `deploy_iam_function`: the lab's function with handler/iam_auth (DB_HOST, DB_USER; no SECRET_NAME);
- `ensure_connect_policy`: the function's role allowed `rds-db:connect` on the proxy's dbuser ARN;
- `ensure_probe` and `attempts`: a function beside it (same role and network) that tries the logins a
  learner would try (an expired token, a token for another user, no TLS), each refused by RDS Proxy;
- `restore`: Module 3 as 06 left it (the improved function, IAMAuth DISABLED, the policy removed), so the
  next notebooks and Module 4 find what they expect. `99_cleanup` removes the probe (`RESOURCES`) and puts
  back what a half-finished run of 08 left.
"""
from __future__ import annotations

import json
import time
from typing import Any, TypedDict

from . import api, cleanup, iam, lambda_fn, log_groups, module3, notebook, proxy, secrets
from .core import ownership, partition, waiting
from .core.config import Lab
from .core.waiting import require

PROBE_SUFFIX = "iam-probe"
OTHER_USER = "reader"  # a database user the tokens of "a token for another user" are made for
# what the probe tries, in the notebook's order, with what the learner reads
ATTEMPTS = {
    "token": "토큰, TLS (함수와 같은 방법)",
    "password": "보안 암호의 비밀번호, TLS (Module 3 의 방법)",
    "expired": "16분 전에 서명한 토큰",
    "other_user": f"다른 사용자({OTHER_USER})의 토큰",
    "no_tls": "토큰, TLS 없이",
}
CONNECTED = "접속됨"
IAM_RETRY_S = 120.0  # on AWS, how long a refusal right after a policy change is tried again (IAM propagation)


def _rds(lab: Lab) -> Any:  # a boto3 client
    return lab.client("rds")


def probe_name(lab: Lab) -> str:
    """The probe function beside the lab's: `<function>-iam-probe`."""
    return f"{lab.names.function}-{PROBE_SUFFIX}"


# ---------------------------------------------------------------- the proxy's IAMAuth

class AuthRow(TypedDict):
    secret: str
    auth_scheme: str
    iam_auth: str


def _proxy(lab: Lab) -> dict[str, Any]:
    found = waiting.or_none(lambda: _rds(lab).describe_db_proxies(DBProxyName=lab.names.proxy), "DBProxyNotFoundFault")
    return require(found["DBProxies"][0] if found else None, f"RDS Proxy {lab.names.proxy}")


def proxy_auth(lab: Lab) -> list[AuthRow]:
    """Each secret of the proxy with its AuthScheme and IAMAuth, as DescribeDBProxies shows them."""
    return [AuthRow(secret=entry.get("SecretArn", "").split(":")[-1].rsplit("-", 1)[0],
                    auth_scheme=entry.get("AuthScheme", ""), iam_auth=entry.get("IAMAuth", ""))
            for entry in _proxy(lab).get("Auth", [])]


def iam_auth_mode(lab: Lab) -> str | None:
    """The IAMAuth of the proxy's (first) secret, or None when there is no proxy."""
    found = waiting.or_none(lambda: _rds(lab).describe_db_proxies(DBProxyName=lab.names.proxy), "DBProxyNotFoundFault")
    auth = found["DBProxies"][0].get("Auth", []) if found else []
    return auth[0].get("IAMAuth", "DISABLED") if auth else None


def set_iam_auth(lab: Lab, mode: str) -> bool:
    """ModifyDBProxy with every Auth entry's IAMAuth set to `mode` (the whole list is replaced, as the API
    does), then wait until the proxy is available; False when it already was."""
    current = _proxy(lab)
    if all(entry.get("IAMAuth") == mode for entry in current.get("Auth", [])):
        return False
    keep = ("AuthScheme", "SecretArn", "ClientPasswordAuthType", "Description")
    auth = [{**{k: entry[k] for k in keep if k in entry}, "IAMAuth": mode} for entry in current["Auth"]]
    _rds(lab).modify_db_proxy(DBProxyName=lab.names.proxy, Auth=auth)
    proxy.wait_for_proxy(lab)
    return True


def require_iam_auth(lab: Lab) -> list[AuthRow]:
    """The proxy's secret with IAMAuth REQUIRED: its user logs in with a token only."""
    set_iam_auth(lab, "REQUIRED")
    return proxy_auth(lab)


# ---------------------------------------------------------------- the role's permission

def dbuser_arn(lab: Lab, user: str | None = None) -> str:
    """`arn:aws:rds-db:<region>:<account>:dbuser:<prx-id>/<user>`: what `rds-db:connect` is granted on."""
    proxy_arn = _proxy(lab)["DBProxyArn"]  # arn:aws:rds:<region>:<account>:db-proxy:prx-...
    account, resource_id = proxy_arn.split(":")[4], proxy_arn.split(":")[-1]
    return partition.arn(lab, "rds-db", f"dbuser:{resource_id}/{user or lab.names.db_master_user}", lab.region,
                         account)


def ensure_connect_policy(lab: Lab) -> iam.InlinePolicyView:
    """The function's role allowed `rds-db:connect` as the secret's user through this proxy, and nothing more."""
    return iam.ensure_function_connect_policy(lab, dbuser_arn(lab))


# ---------------------------------------------------------------- the functions

def _db_user(lab: Lab) -> str:
    """The user of the proxy's secret (the database's master user in this lab)."""
    require(secrets.find_secret(lab), f"secret {lab.names.secret}")
    return lab.names.db_master_user


def iam_environment(lab: Lab) -> dict[str, str]:
    return {"DB_HOST": proxy.proxy_endpoint(lab), "DB_USER": _db_user(lab)}


def deploy_iam_function(lab: Lab) -> lambda_fn.FunctionView:
    """The lab's function with handler/iam_auth: a token instead of the secret (no SECRET_NAME)."""
    return lambda_fn.ensure_function(lab, lambda_fn.build_package("iam_auth"), iam_environment(lab))


def ensure_probe(lab: Lab) -> lambda_fn.FunctionView:
    """The probe (handler/iam_probe) beside the lab's function, with the same role, subnets and security group."""
    return lambda_fn.ensure_function(lab, lambda_fn.build_package("iam_probe"),
                                     {**iam_environment(lab), "OTHER_USER": OTHER_USER,
                                      "SECRET_NAME": lab.names.secret}, name=probe_name(lab),
                                     module=3)


class Attempt(TypedDict):
    attempt: str
    result: str


def _try(lab: Lab, attempt: str) -> dict[str, Any]:
    answer = lab.client("lambda").invoke(FunctionName=probe_name(lab), Payload=json.dumps({"try": attempt}).encode())
    result: dict[str, Any] = json.loads(answer["Payload"].read())
    return result


def attempts(lab: Lab) -> list[Attempt]:
    """Each login of ATTEMPTS through the probe, with what RDS Proxy answered (`접속됨`, or the MySQL error)."""
    rows = []
    for attempt, label in ATTEMPTS.items():
        answer = _try(lab, attempt)
        if attempt == "token" and lab.target == "aws":  # the role's new permission may still be propagating
            started = time.monotonic()
            while not answer.get("connected") and time.monotonic() - started < IAM_RETRY_S:
                waiting.pause(lab.poll_interval)
                answer = _try(lab, attempt)
        rows.append(Attempt(attempt=label, result=CONNECTED if answer.get("connected")
                            else str(answer.get("error") or answer)))
    return rows


def stage_answer(lab: Lab, expect_ok: bool = False) -> tuple[int, str]:
    """GET the invoke URL as 05 does (`curl`, printed with the answer). With `expect_ok` on AWS, right after a
    permission was granted, called again for a while until the function connects (IAM propagation)."""
    url = api.invoke_url(lab)
    print(f"$ curl {url}")
    status, body = api.call_stage(lab, url)
    started = time.monotonic()
    while expect_ok and lab.target == "aws" and '"statusCode": 200' not in body \
            and time.monotonic() - started < IAM_RETRY_S:
        waiting.pause(lab.poll_interval)
        status, body = api.call_stage(lab, url)
    print(body)
    return status, body


EXPECTED = {"token": CONNECTED, "password": "1045 ", "expired": "1045 ", "other_user": "1045 ", "no_tls": "3159 "}


def check(lab: Lab, denied_body: str, body: str, tried: list[Attempt], after_body: str) -> None:
    """08's closing check: the role without the permission refused (1045), the invoke URL answering with the
    permission, each attempt answered as RDS Proxy answers (the password too), and Module 3 back."""
    failed = []
    if "1045" not in denied_body:
        failed.append("rds-db:connect 가 없는 역할의 토큰이 거절되지 않았습니다")
    if '"statusCode": 200' not in body:
        failed.append("rds-db:connect 를 허용한 뒤에도 Invoke URL 이 응답하지 않았습니다")
    for (attempt, expected), row in zip(EXPECTED.items(), tried, strict=True):
        if not row["result"].startswith(expected):
            failed.append(f"{ATTEMPTS[attempt]}: {row['result']}")
    if iam_auth_mode(lab) != "DISABLED" or '"statusCode": 200' not in after_body:
        failed.append("Module 3 의 구성(IAMAuth DISABLED, 보안 암호로 접속하는 함수)으로 돌아오지 않았습니다")
    notebook.check(not failed, "IAM 인증 확인: 비밀번호와 권한 없는 역할은 1045, 만료된 토큰과 다른 사용자의 토큰도 "
                   "1045, TLS 없는 연결은 3159 로 거절되고, rds-db:connect 를 받은 함수의 토큰으로 접속했습니다. "
                   "Module 3 의 구성으로 되돌렸습니다. 다음은 99_cleanup 입니다.",
                   "기대와 다른 항목이 있습니다: " + "; ".join(failed) + ". 08_iam_auth 를 처음부터 다시 실행하세요.")


# ---------------------------------------------------------------- back to Module 3

def restore(lab: Lab) -> list[cleanup.Row]:
    """Module 3 as 06 left it: the improved function (the secret, no token), IAMAuth DISABLED, the connect policy
    removed. One row each, as cleanup reports."""
    return cleanup.run(lab, BACK_TO_MODULE3)


def _iam_code(lab: Lab) -> lambda_fn.FunctionView | None:
    """The lab's function when it runs handler/iam_auth."""
    found = lambda_fn.find_function(lab)
    iam_code = lambda_fn.code_sha256(lambda_fn.build_package("iam_auth"))
    return found if found and found["code_sha256"] == iam_code else None


def _put_improved_code_back(lab: Lab) -> bool:
    module3.deploy_improved_function(lab)
    return True


def _required(lab: Lab) -> dict[str, Any] | None:
    return _proxy(lab) if iam_auth_mode(lab) == "REQUIRED" else None


def _proxy_tagged(lab: Lab, found: dict[str, Any]) -> bool:
    return ownership.rds_tagged(lab, {"arn": found["DBProxyArn"]})


def _connect_policy_tagged(lab: Lab, found: Any) -> bool:
    return cleanup.lambda_role_tagged(lab, found)


REVERTED = cleanup.REVERTED
BACK_TO_MODULE3: tuple[cleanup.Resource, ...] = (
    cleanup.Resource("Lambda 함수 코드 (IAM 인증, 06 의 코드로 되돌림)", lambda lab: lab.names.function, _iam_code,
                     cleanup.lambda_function_tagged, _put_improved_code_back, done=REVERTED, gone="이미 06 의 코드"),
    cleanup.Resource("RDS Proxy IAM 인증 (IAMAuth REQUIRED → DISABLED)", lambda lab: lab.names.proxy, _required,
                     _proxy_tagged, lambda lab: set_iam_auth(lab, "DISABLED"), done=REVERTED),
    cleanup.Resource("IAM 인라인 정책 (rds-db:connect)",
                     lambda lab: f"{lab.names.lambda_role}/{lab.names.function_connect_policy}",
                     iam.find_function_connect_policy, _connect_policy_tagged, iam.delete_function_connect_policy),
)

# What 99_cleanup removes of 08 (entry point group `lab_helpers.cleanup`): the probe and its log group, and
# what a half-finished run of 08 left changed (its function code only at level module3's start: the function's
# code is put back to Module 2's there, and the function is deleted with level all).
RESOURCES: tuple[cleanup.Resource, ...] = (
    cleanup.Resource("Lambda 함수 (IAM 인증 시도)", probe_name,
                     lambda lab: lambda_fn.find_function(lab, probe_name(lab)), ownership.function_tagged,
                     lambda lab: lambda_fn.delete_function(lab, probe_name(lab))),
    cleanup.Resource("CloudWatch Logs 로그 그룹 (IAM 인증 시도)", lambda lab: log_groups.name_of(probe_name(lab)),
                     lambda lab: log_groups.find_log_group(lab, probe_name(lab)),
                     lambda lab, found: log_groups.is_lab(lab, probe_name(lab)),
                     lambda lab: log_groups.delete_log_group(lab, probe_name(lab))),
    *BACK_TO_MODULE3[1:],
)
