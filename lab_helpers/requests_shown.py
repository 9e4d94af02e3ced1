"""The AWS API request behind a notebook step, shown next to the console fields the module fills in.

    with requests_shown.shown(lab, "secret"):
        secret = secrets.ensure_secret(lab)

records every request that creates or changes something (boto3's `before-parameter-build` event, on the
lab's clients and on those made inside), and then prints them as a short table: the operation, each
parameter, the console field it stands for, and its value (secret values and zip files never shown).

    with requests_shown.counted(lab, "baseline"):
        summary = baseline.ensure_baseline(lab)

prints them shorter, for a step that no console form of the module stands for (00's Module 2, which the
workshop built with a CloudFormation stack; 07's functions for the demo): one line per operation, with how
many were sent and the names of what they made.

The same request sent twice in one step (a call retried while IAM's changes propagate or an update finishes, on
AWS only) is recorded once, so that both targets show the same requests.

The helpers are idempotent: run again, a step finds what it made and sends no creating request. So
that the cell shows the same thing on every run, the requests a step sent are kept in the state folder
(one file per step, target, region and learner) and shown again on a run that sent none; a step that
found everything made before any record existed says so.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.model import OperationModel

from . import korean
from .core import paths
from .core.config import Lab
from .core.text import pad, width

# what is shown of an operation: everything that creates, changes or removes, not tags alone
CHANGING = ("Create", "Put", "Update", "Modify", "Register", "Attach", "Detach", "Authorize", "Revoke", "Delete",
            "Associate", "Rotate", "Add")
TAGGING = {"CreateTags", "TagResource", "AddTagsToResource", "TagRole", "TagPolicy"}
HIDDEN = {"ClientToken", "ClientRequestToken", "IdempotencyToken", "Tags", "tags", "TagSpecifications"}
ZIP = "zip 파일 (함수 코드와 PyMySQL)"

# (operation, parameter) -> the console field of the module's step it stands for, as the Korean console names it
# (the notebooks' text gives the module's English name next to each at its first use)
CONSOLE: dict[tuple[str, str], str] = {
    ("CreateSecret", "Name"): "[보안 암호 이름]",
    ("CreateSecret", "SecretString"): "[사용자 이름], [암호], 데이터베이스",
    ("CreateSecret", "Description"): "[설명]",
    ("ModifyVpcAttribute", "VpcId"): "[VPC]",
    ("ModifyVpcAttribute", "EnableDnsHostnames"): "[DNS 호스트 이름]",
    ("ModifyVpcAttribute", "EnableDnsSupport"): "[DNS 확인]",
    ("CreateSecurityGroup", "GroupName"): "[보안 그룹 이름]",
    ("CreateSecurityGroup", "Description"): "[설명]",
    ("CreateSecurityGroup", "VpcId"): "[VPC]",
    ("AuthorizeSecurityGroupIngress", "GroupId"): "보안 그룹",
    ("AuthorizeSecurityGroupIngress", "IpPermissions"): "[인바운드 규칙]: [유형], [소스]",
    ("CreateVpcEndpoint", "VpcEndpointType"): "[서비스 범주]: AWS 서비스",
    ("CreateVpcEndpoint", "ServiceName"): "[서비스 이름]",
    ("CreateVpcEndpoint", "VpcId"): "[VPC]",
    ("CreateVpcEndpoint", "SubnetIds"): "[서브넷]",
    ("CreateVpcEndpoint", "SecurityGroupIds"): "[보안 그룹]",
    ("CreateVpcEndpoint", "PrivateDnsEnabled"): "[DNS 이름 활성화]",
    ("CreateRole", "RoleName"): "[IAM 역할]: IAM 역할 생성",
    ("CreateRole", "AssumeRolePolicyDocument"): "신뢰할 수 있는 엔터티",
    ("PutRolePolicy", "RoleName"): "역할",
    ("PutRolePolicy", "PolicyName"): "인라인 정책 이름",
    ("PutRolePolicy", "PolicyDocument"): "권한",
    ("AttachRolePolicy", "RoleName"): "역할",
    ("AttachRolePolicy", "PolicyArn"): "[정책 연결]",
    ("DetachRolePolicy", "RoleName"): "역할",
    ("DetachRolePolicy", "PolicyArn"): "정책 분리",
    ("CreateDBProxy", "DBProxyName"): "[프록시 식별자]",
    ("CreateDBProxy", "EngineFamily"): "[엔진 패밀리]",
    ("CreateDBProxy", "Auth"): "[Secrets Manager 보안 암호]",
    ("CreateDBProxy", "RoleArn"): "[IAM 역할]",
    ("CreateDBProxy", "VpcSubnetIds"): "[서브넷]",
    ("CreateDBProxy", "VpcSecurityGroupIds"): "[기존 VPC 보안 그룹]",
    ("CreateDBProxy", "RequireTLS"): "[전송 계층 보안 필요]",
    ("ModifyDBProxy", "DBProxyName"): "프록시, [수정]",
    ("ModifyDBProxy", "Auth"): "[인증]: [Secrets Manager 보안 암호], [IAM 인증]",
    ("RegisterDBProxyTargets", "DBProxyName"): "프록시",
    ("RegisterDBProxyTargets", "DBInstanceIdentifiers"): "대상 그룹 구성: [데이터베이스]",
    ("UpdateFunctionCode", "FunctionName"): "함수",
    ("UpdateFunctionCode", "ZipFile"): "코드 편집기의 코드, [배포]",
    ("UpdateFunctionConfiguration", "FunctionName"): "함수",
    ("UpdateFunctionConfiguration", "Environment"): "[구성] → 환경 변수",
    ("CreateRole", "Description"): "[설명]",
    # 07: the rotation function as the Lambda console's [함수 생성] → [새로 작성] makes it, then its [구성] tab
    # (https://docs.aws.amazon.com/ko_kr/lambda/latest/dg/configuration-function-zip.html names 함수 이름, 런타임,
    # 기본 실행 역할 변경, 고급 설정; 런타임 설정/핸들러, 일반 구성/메모리/제한 시간 and 업로드 위치 are not in it:
    # written as the Korean console shows them, not checked against a page)
    ("CreateFunction", "FunctionName"): "[함수 이름]",
    ("CreateFunction", "Runtime"): "[런타임]",
    ("CreateFunction", "Handler"): "[런타임 설정] → [핸들러]",
    ("CreateFunction", "Role"): "[기본 실행 역할 변경] → 기존 역할 사용",
    ("CreateFunction", "Code"): "[업로드 위치] → .zip 파일",
    ("CreateFunction", "MemorySize"): "[일반 구성] → [메모리]",
    ("CreateFunction", "Timeout"): "[일반 구성] → [제한 시간]",
    ("CreateFunction", "VpcConfig"): "[고급 설정] → [VPC 활성화]",
    ("CreateFunction", "Environment"): "[구성] → 환경 변수",
    ("CreateLogGroup", "logGroupName"): "(콘솔: Lambda 가 만듦)",
    # the function's [구성] → [권한] → [리소스 기반 정책 설명] → [권한 추가], for an AWS 서비스
    # (https://docs.aws.amazon.com/ko_kr/lambda/latest/dg/access-control-resource-based.html)
    ("AddPermission", "FunctionName"): "함수",
    ("AddPermission", "StatementId"): "[문 ID]",
    ("AddPermission", "Action"): "[작업]",
    ("AddPermission", "Principal"): "[보안 주체]",
    ("AddPermission", "SourceArn"): "[소스 ARN]",
    # the secret's [교체 구성] → [교체 편집] in the Secrets Manager console: 자동 교체, 교체 일정
    # (https://docs.aws.amazon.com/ko_kr/secretsmanager/latest/userguide/rotate-secrets_lambda.html), Lambda 교체 함수
    # (https://docs.aws.amazon.com/ko_kr/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html);
    # the check box that rotates at once is described, not quoted (no Korean page of it found)
    ("RotateSecret", "SecretId"): "보안 암호",
    ("RotateSecret", "RotationLambdaARN"): "[교체 함수]",
    ("RotateSecret", "RotationRules"): "[자동 교체], [교체 일정]",
    ("RotateSecret", "RotateImmediately"): "보안 암호가 저장될 때 즉시 교체",
}

EC2_ID_PREFIXES = ("vpc", "subnet", "sg", "igw", "rtb", "vpce")
MAX_NAMES = 4

# what names the resource a request makes, in the short form (`counted`): the first of these it has
NAME_PARAMETERS = ("Name", "name", "GroupName", "DBInstanceIdentifier", "DBProxyName", "DBSubnetGroupName", "RoleName",
                   "PolicyName", "FunctionName", "logGroupName", "SecretId", "stageName", "httpMethod")


def _changing(operation: str) -> bool:
    return operation.startswith(CHANGING) and operation not in TAGGING


def _policy(document: dict[str, Any]) -> str:
    """An IAM policy document in one line: each statement's effect, actions and resources (or principal)."""
    def listed(value: Any) -> str:
        return ", ".join(value) if isinstance(value, list) else json.dumps(value, separators=(",", ":")) \
            if isinstance(value, dict) else str(value)

    return "; ".join(f"{st.get('Effect')} {listed(st.get('Action'))} "
                     + (f"on {listed(st['Resource'])}" if "Resource" in st else f"to {listed(st.get('Principal'))}")
                     for st in document.get("Statement", []))


def _value(operation: str, name: str, value: Any) -> str:
    """A parameter's value as the learner may see it: no secret, no zip bytes, policies in one line."""
    if name == "SecretString":
        try:
            keys = list(json.loads(value))
        except (TypeError, ValueError):
            keys = []
        return "JSON: " + ", ".join(keys) + " (값은 보여 주지 않음)"
    value = _without_bytes(value)
    if value == ZIP:
        return ZIP
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict) and "Statement" in value:
        return _policy(value)
    if isinstance(value, bool):
        shown: str = korean.value(value)
        return shown
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _without_bytes(value: Any) -> Any:
    """`value` with every zip file in it (CreateFunction's Code.ZipFile too) replaced by what it is."""
    if isinstance(value, (bytes, bytearray)):
        return ZIP
    if isinstance(value, dict):
        return {k: _without_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_bytes(v) for v in value]
    return value


def rows(requests: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, str]]:
    """One row per parameter shown: {"request", "parameter", "console_field", "value"}."""
    out = []
    for service, operation, params in requests:
        for n, (name, value) in enumerate((k, v) for k, v in params.items() if k not in HIDDEN):
            out.append({"request": f"{service} {operation}" if n == 0 else "",
                        "parameter": name, "console_field": CONSOLE.get((operation, name), "-"),
                        "value": _value(operation, name, value)})
    return out


def _record_file(lab: Lab, step: str) -> Path:
    return paths.state_dir() / "requests" / f"{lab.target}-{lab.region}-{lab.names.vpc}" / f"{step}.json"


def _shown_part(request: tuple[str, str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    service, operation, params = request
    return service, operation, {k: v for k, v in params.items() if k not in HIDDEN}


@contextlib.contextmanager
def _listening(lab: Lab, handlers: dict[str, Any]) -> Iterator[None]:
    """`handlers` ({event: handler}) on the lab's clients and on those made inside, while inside (each registered
    under an id of its own: botocore keeps only the first handler of an id)."""
    emitters = [lab.session.events] + [client.meta.events for client in lab._clients.values()]
    for emitter in emitters:  # clients copy the session's handlers when they are made: both
        for event, handler in handlers.items():
            emitter.register(event, handler, unique_id=f"lab-requests-shown-{id(handler)}")
    try:
        yield
    finally:
        for emitter in emitters + [client.meta.events for client in lab._clients.values()]:  # and those made inside
            for event, handler in handlers.items():
                emitter.unregister(event, unique_id=f"lab-requests-shown-{id(handler)}")


@contextlib.contextmanager
def recording(lab: Lab) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Every creating or changing request the lab's clients send inside, as (service, operation, params)."""
    sent: list[tuple[str, str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        request = (model.service_model.endpoint_prefix, model.name, dict(params))
        if _changing(model.name) and _shown_part(request) not in map(_shown_part, sent):  # a retry: once
            sent.append(request)

    with _listening(lab, {"before-parameter-build": record}):
        yield sent


@contextlib.contextmanager
def _naming_ids(lab: Lab) -> Iterator[dict[str, str]]:
    """The EC2 ids that the creating requests sent inside got back, each with the name the request gave it (so
    that a later request on `vpc-0abc...` is shown as on `serverless-app`)."""
    names: dict[str, str] = {}
    asked: list[str | None] = [None]

    def before(params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        asked[0] = _name(params) if model.name.startswith("Create") else None

    def after(parsed: dict[str, Any], **_: Any) -> None:
        made = [parsed.get("GroupId")] + [v.get(f"{k}Id") for k, v in parsed.items() if isinstance(v, dict)]
        names.update({made_id: asked[0] for made_id in made if asked[0] and isinstance(made_id, str)})

    with _listening(lab, {"before-parameter-build": before, "after-call": after}):
        yield names


def _kept(lab: Lab, step: str, table: list[dict[str, str]]) -> list[dict[str, str]]:
    """`table` kept for the step when it has rows; else the one kept when the step made what it now finds."""
    record = _record_file(lab, step)
    if table:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(table, ensure_ascii=False, indent=1), encoding="utf-8")
    elif record.is_file():
        table = json.loads(record.read_text(encoding="utf-8"))
    if not table:
        print("AWS API 요청: 없음 (이미 있던 리소스를 찾기만 했고, 이 실습이 만든 요청의 기록이 없습니다)")
    return table


@contextlib.contextmanager
def shown(lab: Lab, step: str) -> Iterator[None]:
    """Run the step's cell inside; then print the requests it sent (or, when it sent none, those it sent when
    it made what it found), next to the console fields."""
    with recording(lab) as sent:
        yield
    table = _kept(lab, step, rows(sent))
    if table:
        print("이 단계가 리소스를 만들 때 보낸 AWS API 요청 (콘솔 항목 → 요청의 파라미터, 값):")
        _print(table)


def _name(params: dict[str, Any]) -> str | None:
    """The name of what a request makes or changes: a name parameter, else its Name tag, else an EC2 id."""
    for key in NAME_PARAMETERS:
        value = params.get(key)
        if isinstance(value, str):
            return value
    for spec in params.get("TagSpecifications", []):
        for tag in spec.get("Tags", []):
            if tag.get("Key") == "Name":
                return None if tag.get("Value") is None else str(tag["Value"])
    return next((v for k, v in params.items() if k.endswith("Id") and isinstance(v, str) and _is_ec2_id(v)), None)


def _is_ec2_id(value: str) -> bool:
    return value.split("-")[0] in EC2_ID_PREFIXES and value.count("-") == 1


def counts(requests: list[tuple[str, str, dict[str, Any]]], id_names: dict[str, str] | None = None
           ) -> list[dict[str, str]]:
    """One row per operation, in the order first sent: {"request", "count", "names"} (the distinct names of
    what it made or changed, the first MAX_NAMES of them and how many more; an EC2 id by the name in `id_names`)."""
    found: dict[str, list[str | None]] = {}
    for service, operation, params in requests:
        name = _name(params)
        found.setdefault(f"{service} {operation}", []).append((id_names or {}).get(name or "", name))
    out = []
    for request, names in found.items():
        distinct = list(dict.fromkeys(n for n in names if n))
        listed = ", ".join(distinct[:MAX_NAMES]) + (f" 외 {len(distinct) - MAX_NAMES}개" if len(distinct) > MAX_NAMES
                                                    else "")
        out.append({"request": request, "count": str(len(names)), "names": listed or "-"})
    return out


@contextlib.contextmanager
def counted(lab: Lab, step: str) -> Iterator[None]:
    """Like `shown`, shorter: one line per operation the step sent, how many times, and what it named."""
    with recording(lab) as sent, _naming_ids(lab) as id_names:
        yield
    table = _kept(lab, step, counts(sent, id_names))
    if not table:
        return
    print(f"이 단계가 리소스를 만들 때 보낸 AWS API 요청: {len(table)}종류 "
          f"{sum(int(row['count']) for row in table)}번 (요청, 횟수, 만든 리소스의 이름)")
    request_width = max(width(row["request"]) for row in table)
    count_width = max(width(row["count"]) for row in table)
    for row in table:
        print(f"  {pad(row['request'], request_width)}  {row['count']:>{count_width}}  {row['names']}".rstrip())


def _print(table: list[dict[str, str]]) -> None:
    """Each request on a line of its own, then one line per parameter: console field, parameter, value (last, so
    that a long value wraps only at its end)."""
    field_width = max(width(row["console_field"]) for row in table)
    name_width = max(width(row["parameter"]) for row in table)
    for row in table:
        if row["request"]:
            print(row["request"])
        field, parameter = pad(row["console_field"], field_width), pad(row["parameter"], name_width)
        print(f"  {field}  {parameter}  {row['value']}".rstrip())
