"""Beyond the module (notebook 07): rotating the database secret with a rotation function.

Module 3 Step 1 item 5 leaves automatic rotation off. This turns it on for the lab's secret with the
lab's own rotation function (`handler/rotation`, single-user MySQL strategy), rotates at once, and
shows what the staging labels do (never a password):

- `ensure_rotation_function`: the function in the lab's VPC (lambda-sg: Secrets Manager through the
  interface endpoint, the database directly), with a role of its own that may read and write only this
  secret, and a resource policy that lets Secrets Manager invoke it;
- `rotate`: RotateSecret (30-day schedule, at once), then wait until the new version is AWSCURRENT;
- `staging_labels`: each version of the secret with its labels.
"""
from __future__ import annotations

import json
from typing import Any, TypedDict

from . import iam, lambda_fn, module3, proxy, secrets
from .core import partition, waiting
from .core.config import Lab
from .core.waiting import or_none, require
from .measure.names import function_name

ROTATION_DAYS = 30
TIMEOUT_S = 30  # the rotation function's timeout: each step is a few calls and a login
STATEMENT_ID = "secretsmanager-invoke"
STAGES = ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS")
DEMO_IDLE_CLIENT_TIMEOUT_S = 5  # the proxy closes idle client connections this soon during the demo
OLD_PASSWORD_REFUSED_S = 600.0  # on AWS, how long 07 waits for RDS Proxy to refuse the old password
ACCESS_DENIED = 1045
# the three ways of reading the secret that notebook 07 compares: (measurement key, how, handler variant)
DEMO = (("module3_printed", "호출마다 읽음 (원문)", "module3_printed"),
        ("cached", "한 번 읽고 계속 씀", "cached"),
        ("module3", "재사용, 거부되면 다시 읽음 (이 실습)", "module3"))


class VersionView(TypedDict):
    version: str  # the version id, shortened (its first 8 characters)
    stages: str  # e.g. "AWSCURRENT" or "AWSPREVIOUS"
    created: str  # when the version was made, "HH:MM:SS"


def _sm(lab: Lab) -> Any:  # a boto3 client
    return lab.client("secretsmanager")


def ensure_rotation_function(lab: Lab) -> lambda_fn.FunctionView:
    """The rotation function (tagged as Module 3's, beside the secret), its role, and Secrets Manager's permission
    to invoke it."""
    secret = require(secrets.find_secret(lab), f"secret {lab.names.secret}")
    role = iam.ensure_rotation_role(lab, secret["arn"])
    function = lambda_fn.ensure_function(lab, lambda_fn.build_package("rotation"), name=lab.names.rotation_function,
                                         timeout_s=TIMEOUT_S, module=3, role_arn=role["arn"])
    policy = or_none(lambda: lab.client("lambda").get_policy(FunctionName=function["name"]),
                     "ResourceNotFoundException")
    if policy is None or STATEMENT_ID not in policy["Policy"]:
        lab.client("lambda").add_permission(
            FunctionName=function["name"], StatementId=STATEMENT_ID, Action="lambda:InvokeFunction",
            Principal=partition.service_principal("secretsmanager"), SourceArn=secret["arn"])
    return function


def rotate(lab: Lab) -> str:
    """Turn rotation on (every ROTATION_DAYS days) and rotate now; wait until the new version is AWSCURRENT.
    Returns the new version's id. On failure (a step of the function failed), `waiting.WaitFailed` or a
    TimeoutError says so; AWSPENDING is left on the new version and the old password keeps working."""
    function = require(lambda_fn.find_function(lab, lab.names.rotation_function),
                       f"Lambda function {lab.names.rotation_function}")
    token: str = _sm(lab).rotate_secret(SecretId=lab.names.secret, RotationLambdaARN=function["arn"],
                                   RotationRules={"AutomaticallyAfterDays": ROTATION_DAYS},
                                   RotateImmediately=True)["VersionId"]
    wait_rotated(lab, token)
    return token


def _stages_of(lab: Lab, token: str) -> list[str] | None:
    versions: dict[str, list[str]] = _sm(lab).describe_secret(SecretId=lab.names.secret).get("VersionIdsToStages", {})
    return versions.get(token)


def _local_failure(lab: Lab, token: str) -> str | None:
    """On the local cloud, the step that failed and its error, as its status reports it (on AWS: the function's
    log in CloudWatch Logs); None while the rotation runs or succeeded."""
    if lab.target != "local":
        return None
    from .local import LocalCloudError, health_at

    try:
        found = health_at(lab.endpoint_url or "").rotation(token)
    except LocalCloudError:
        return None  # the wait goes on; a cloud that stopped answering shows in the wait's own error
    if found is not None and found.outcome == "failed":
        return (f"로테이션 함수의 {found.error} (함수의 로그: `/aws/lambda/{lab.names.rotation_function}`). "
                "AWSPENDING 은 새 버전에 남고 AWSCURRENT 는 그대로라서, 이전 비밀번호가 계속 동작합니다. 원인을 "
                "고친 뒤 같은 ClientRequestToken 으로 RotateSecret 을 다시 부르면 이어서 실행합니다.")
    return None


def wait_rotated(lab: Lab, token: str) -> None:
    """Until version `token` is AWSCURRENT: each step runs the function once (a few seconds on AWS). A failed
    step ends the wait at once on the local cloud (`waiting.WaitFailed`, naming the step and its error)."""
    waiting.wait_for(lab, f"보안 암호 {lab.names.secret} 의 로테이션 (새 버전 {token[:8]})",
                     lambda: _stages_of(lab, token) or [], lambda stages: ", ".join(stages) or "없음",
                     lambda stages: stages is not None and "AWSCURRENT" in stages,
                     lambda stages: _local_failure(lab, token),
                     usual="몇 초–1분", doing=lambda stages: "로테이션 함수가 createSecret, setSecret, testSecret, "
                                                         "finishSecret 을 차례로 실행하는 중")


def staging_labels(lab: Lab) -> list[VersionView]:
    """Each version of the secret that carries a staging label, newest first (never its value)."""
    versions = _sm(lab).list_secret_version_ids(SecretId=lab.names.secret)["Versions"]
    rows = [(v.get("CreatedDate"), v["VersionId"], [s for s in v.get("VersionStages", []) if s in STAGES])
            for v in versions]
    rows = [r for r in rows if r[2]]
    rows.sort(key=lambda r: (r[0].timestamp() if r[0] else 0), reverse=True)
    return [VersionView(version=version[:8], stages=", ".join(sorted(stages)),
                        created=created.strftime("%H:%M:%S") if created else "")
            for created, version, stages in rows]


def rotation_enabled(lab: Lab) -> bool:
    secret = secrets.find_secret(lab)
    return bool(secret and secret["rotation_enabled"])


def turn_off(lab: Lab) -> bool:
    """Stop the schedule (CancelRotateSecret); False when rotation was not on."""
    if not rotation_enabled(lab):
        return False
    _sm(lab).cancel_rotate_secret(SecretId=lab.names.secret)
    return True


# ---------------------------------------------------------------- the three functions across a rotation

class DemoRow(TypedDict):
    function: str
    reads_secret: str
    status: int | None  # the handler's statusCode
    result: str  # "DB 시각 …" or the error (e.g. "1045 Access denied …")
    error_code: int | None


def _deploy_demo(lab: Lab, key: str, variant: str) -> str:
    name = function_name(lab, key)
    environment = {} if variant == "module3_printed" else module3.function_environment(lab)
    package = module3.printed_package(lab) if variant == "module3_printed" else lambda_fn.build_package(variant)
    lambda_fn.ensure_function(lab, package, environment, name=name, module=3)
    return name


def _call(lab: Lab, name: str) -> tuple[int | None, str, int | None]:
    """(statusCode, what it returned, MySQL error code) of one invocation."""
    answer = json.loads(lab.client("lambda").invoke(FunctionName=name)["Payload"].read() or b"{}")
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    try:
        body = json.loads(answer.get("body") or "null")
    except (ValueError, AttributeError):
        body = None
    if status == 200:
        return status, f"DB 시각 {body}", None
    if isinstance(body, dict):
        text = str(body.get("errorMessage", ""))
        code = body.get("errorCode") or (int(text[1:5]) if text[:1] == "(" and text[1:5].isdigit() else None)
        return status, (f"{code} " if code else "") + f"{body.get('errorType')}: {text}"[:90], code
    return status, str(answer.get("errorType") or answer)[:90], None


def _rows(lab: Lab) -> list[DemoRow]:
    rows = []
    for key, how, _ in DEMO:
        name = function_name(lab, key)
        status, result, code = _call(lab, name)
        rows.append(DemoRow(function=name, reads_secret=how, status=status, result=result, error_code=code))
    return rows


def prepare_demo(lab: Lab) -> list[DemoRow]:
    """The three functions deployed beside the lab's and called once each (their environments warm, the last two
    holding the current password); the proxy's IdleClientTimeout shortened for the demo."""
    for key, _, variant in DEMO:
        _deploy_demo(lab, key, variant)
    proxy.set_idle_client_timeout(lab, DEMO_IDLE_CLIENT_TIMEOUT_S)
    return _rows(lab)


def after_rotation_demo(lab: Lab) -> list[DemoRow]:
    """The three functions called again once the proxy has closed their idle connections; the proxy's
    IdleClientTimeout put back to RDS Proxy's default afterwards.

    The local proxy refuses the old password at once. RDS Proxy reads the secret again on its own schedule
    and may accept the old password for new connections a while longer: on AWS the calls are repeated (each
    after an idle period, so that the connections close again) until the function that kept the password is
    refused, for at most OLD_PASSWORD_REFUSED_S, with progress."""
    limit = OLD_PASSWORD_REFUSED_S if lab.target == "aws" else 0.0
    progress = waiting.Progress(lab, "RDS Proxy 가 이전 비밀번호를 거부할 때까지", "몇 분")
    started = waiting.now()
    try:
        while True:
            waiting.pause(DEMO_IDLE_CLIENT_TIMEOUT_S + 1.5)
            rows = _rows(lab)
            cached = next(row for row in rows if row["function"] == function_name(lab, "cached"))
            elapsed = waiting.now() - started
            if cached["error_code"] == ACCESS_DENIED or elapsed >= limit:
                (progress.finish if cached["error_code"] == ACCESS_DENIED else progress.fail)(
                    str(cached["status"]), elapsed)
                return rows
            progress.update(f"비밀번호를 계속 쓰는 함수: {cached['status']}", elapsed,
                            "RDS Proxy 가 보안 암호의 새 값을 읽기를 기다리는 중")
    finally:
        proxy.set_idle_client_timeout(lab, proxy.IDLE_CLIENT_TIMEOUT_S)


def passwords_differ(lab: Lab) -> bool:
    """Whether AWSCURRENT and AWSPREVIOUS hold different passwords (compared here, never shown)."""
    def password(stage: str) -> str | None:
        found = or_none(lambda: _sm(lab).get_secret_value(SecretId=lab.names.secret, VersionStage=stage),
                        "ResourceNotFoundException")
        return json.loads(found["SecretString"]).get("password") if found else None
    current, previous = password("AWSCURRENT"), password("AWSPREVIOUS")
    return bool(current and previous and current != previous)


def database_checks(lab: Lab) -> dict[str, bool]:
    """On the local cloud: the database accepts the current password and refuses the previous one, directly and
    through RDS Proxy (this machine reaches both; on AWS they are inside the VPC)."""
    import pymysql

    from .local import RunningCloud

    cloud = RunningCloud.serving(lab.endpoint_url or "")
    db_port = cloud.record.database.port
    found = cloud.health().proxy(lab.names.proxy, lab.region)
    proxy_port = found.port if found else None

    def password(stage: str) -> str:
        value = _sm(lab).get_secret_value(SecretId=lab.names.secret, VersionStage=stage)["SecretString"]
        found: str = json.loads(value)["password"]
        return found

    def accepts(port: int | None, secret: str) -> bool:
        if port is None:
            return False
        try:
            pymysql.connect(host="127.0.0.1", port=port, user=lab.names.db_master_user, password=secret,
                            connect_timeout=5).close()
            return True
        except pymysql.err.OperationalError:
            return False

    current, previous = password("AWSCURRENT"), password("AWSPREVIOUS")
    return {"DB 가 새 비밀번호를 받음": accepts(db_port, current),
            "DB 가 이전 비밀번호를 거부함": not accepts(db_port, previous),
            "RDS Proxy 가 새 비밀번호를 받음": accepts(proxy_port, current),
            "RDS Proxy 가 이전 비밀번호를 거부함": not accepts(proxy_port, previous)}

