"""The AWS API request behind a notebook step, shown next to the console fields the module fills in.

    with requests_shown.shown(lab, "secret"):
        secret = secrets.ensure_secret(lab)

records every request that creates or changes something (boto3's `before-parameter-build` event, on the
lab's clients and on those made inside), and then prints them as a short table: the operation, each
parameter, the console field it stands for, and its value (secret values and zip files never shown).

The helpers are idempotent: run again, a step finds what it made and sends no creating request. So
that the cell shows the same thing on every run, the requests a step sent are kept in the state folder
(one file per step, target, region and learner) and shown again on a run that sent none; a step that
found everything made before any record existed says so.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from . import korean, paths
from .config import Lab
from .text import pad, width

# what is shown of an operation: everything that creates, changes or removes, not tags alone
CHANGING = ("Create", "Put", "Update", "Modify", "Register", "Attach", "Detach", "Authorize", "Revoke", "Delete",
            "Associate", "Rotate", "Add")
TAGGING = {"CreateTags", "TagResource", "AddTagsToResource", "TagRole", "TagPolicy"}
HIDDEN = {"ClientToken", "ClientRequestToken", "IdempotencyToken", "Tags", "TagSpecifications"}

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
}


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
    if isinstance(value, (bytes, bytearray)):
        return "zip 파일 (함수 코드와 PyMySQL)"
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict) and "Statement" in value:
        return _policy(value)
    if isinstance(value, bool):
        return korean.value(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def rows(requests: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, str]]:
    """One row per parameter shown: {"request", "parameter", "console_field", "value"}."""
    out = []
    for service, operation, params in requests:
        for n, (name, value) in enumerate((k, v) for k, v in params.items() if k not in HIDDEN):
            out.append({"request": f"{service} {operation}" if n == 0 else "",
                        "parameter": name, "console_field": CONSOLE.get((operation, name), "-"),
                        "value": _value(operation, name, value)})
    return out


def _record_file(lab: Lab, step: str):
    return paths.state_dir() / "requests" / f"{lab.target}-{lab.region}-{lab.names.vpc}" / f"{step}.json"


@contextlib.contextmanager
def recording(lab: Lab) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Every creating or changing request the lab's clients send inside, as (service, operation, params)."""
    sent: list[tuple[str, str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model, **_: Any) -> None:
        if _changing(model.name):
            sent.append((model.service_model.endpoint_prefix, model.name, dict(params)))

    emitters = [lab.session.events] + [client.meta.events for client in lab._clients.values()]
    for emitter in emitters:  # clients copy the session's handlers when they are made: both
        emitter.register("before-parameter-build", record, unique_id="lab-requests-shown")
    try:
        yield sent
    finally:
        for emitter in emitters:
            emitter.unregister("before-parameter-build", unique_id="lab-requests-shown")
        for client in lab._clients.values():  # made inside, from the session: they carry the handler too
            client.meta.events.unregister("before-parameter-build", unique_id="lab-requests-shown")


@contextlib.contextmanager
def shown(lab: Lab, step: str) -> Iterator[None]:
    """Run the step's cell inside; then print the requests it sent (or, when it sent none, those it sent when
    it made what it found), next to the console fields."""
    with recording(lab) as sent:
        yield
    record = _record_file(lab, step)
    table = rows(sent)
    if table:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(table, ensure_ascii=False, indent=1), encoding="utf-8")
    elif record.is_file():
        table = json.loads(record.read_text(encoding="utf-8"))
    if not table:
        print("AWS API 요청: 없음 (이미 있던 리소스를 찾기만 했고, 이 실습이 만든 요청의 기록이 없습니다)")
        return
    print("이 단계가 리소스를 만들 때 보낸 AWS API 요청 (콘솔 항목 → 요청의 파라미터, 값):")
    _print(table)


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
