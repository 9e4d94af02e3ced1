"""The Lambda function `serverless-app-lambda`: its deployment package and the function itself.

A package is `lambda_function.py` from handler/<variant>/ plus a copy of the installed PyMySQL
(its modules and its licence).
The workshop delivers PyMySQL as a Lambda layer named `pymysql`; the lab ships it inside the
function's zip instead: one artifact, nothing more to create or clean up, and PyMySQL is pure
Python, so the copy runs on Lambda as it is.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata
import io
import stat
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypedDict

from . import iam, log_groups, network
from .core import ownership, paths
from .core.config import Lab
from .core.waiting import ABSENT, Failure, or_none, require, retry_while, wait_for

HANDLER = "lambda_function.lambda_handler"
# What the learner overwrites in the printed code: Module 2's RDS endpoint, Module 3 Step 3.5's proxy endpoint.
RDS_ENDPOINT_PLACEHOLDER = "YOUR RDS ENDPOINT"
PROXY_ENDPOINT_PLACEHOLDER = "YOUR RDS PROXY ENDPOINT"
PLACEHOLDERS = (RDS_ENDPOINT_PLACEHOLDER, PROXY_ENDPOINT_PLACEHOLDER)
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # fixed, so the same code always gives the same CodeSha256


def _lambda(lab: Lab) -> Any:  # a boto3 client
    return lab.client("lambda")


# ---------------------------------------------------------------- package

def show_code(variant: str, *parts: str) -> str:
    """The source of handler/<variant>/lambda_function.py, for a notebook to print; with `parts`, only those
    top-level functions and assignments (each with the comment lines right above it), in the file's order,
    under a line that says which part of how many lines it is, and `# ...` where lines are left out.

        >>> print(lambda_fn.show_code("rotation", "set_secret", "finish_secret"))
    """
    source = paths.handler_file(variant).read_text(encoding="utf-8")
    if not parts:
        return source
    lines = source.splitlines()
    spans: dict[str, tuple[int, int]] = {}
    for node in ast.parse(source).body:
        names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else \
            [t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if isinstance(t, ast.Name)]
        first = node.lineno - 1
        while first > 0 and lines[first - 1].lstrip().startswith("#"):
            first -= 1
        last = node.end_lineno
        assert last is not None  # ast.parse sets it on every statement
        for name in names:
            spans[name] = (first, last)
    unknown = [name for name in parts if name not in spans]
    if unknown:
        raise ValueError(f"handler/{variant}/lambda_function.py defines no {', '.join(unknown)} at its top level")
    shown: list[str] = []
    end = 0
    for first, last in sorted(spans[name] for name in parts):
        gap = lines[end:first]
        # what lies between two parts: kept when it is only blank lines, else said to be left out
        shown += gap if shown and not any(line.strip() for line in gap) else ["# ..."] if gap else []
        shown += lines[max(first, end):last]
        end = max(end, last)
    count = sum(1 for line in shown if line != "# ...")
    header = f"# handler/{variant}/lambda_function.py 에서 {', '.join(parts)} (전체 {len(lines)}줄 중 {count}줄)"
    return "\n".join([header, *shown]).rstrip() + "\n"


def _source(variant: str, replacements: Mapping[str, str]) -> str:
    """The handler with each placeholder replaced, as the learner pastes the endpoint into the console."""
    source = show_code(variant)
    for placeholder, value in replacements.items():
        if placeholder not in source:
            raise ValueError(f"{placeholder!r} does not occur in handler/{variant}/lambda_function.py")
        source = source.replace(placeholder, value)
    left = [p for p in PLACEHOLDERS if p in source]
    if left:
        raise ValueError(f"handler/{variant} still contains {left[0]!r}: pass replacements={{{left[0]!r}: <endpoint>}}")
    return source


def _pymysql_files() -> list[tuple[str, Path]]:
    """(name in the zip, file): PyMySQL's modules (no bytecode) and licence, as installed, sorted."""
    dist = importlib.metadata.distribution("PyMySQL")
    wanted = [f for f in dist.files or []
              if (f.parts[0] == "pymysql" and f.suffix == ".py") or f.name.upper().startswith("LICENSE")]
    return sorted((f.as_posix(), Path(str(dist.locate_file(f)))) for f in wanted)


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | 0o644) << 16  # a regular file, rw-r--r--: Lambda must read it
    archive.writestr(info, data)


def build_package(variant: str, replacements: Mapping[str, str] | None = None) -> bytes:
    """The deployment zip for handler/<variant>, byte-for-byte the same for the same inputs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, "lambda_function.py", _source(variant, replacements or {}).encode("utf-8"))
        for name, path in _pymysql_files():
            _add(archive, name, path.read_bytes())
    return buffer.getvalue()


def code_sha256(package: bytes) -> str:
    """What Lambda reports as CodeSha256 for this package."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode("ascii")


# ---------------------------------------------------------------- function

class FunctionView(TypedDict):
    """A function as `find_function` shows it."""
    name: str
    arn: str
    state: str | None  # Pending, Active, Failed
    last_update_status: str | None  # InProgress, Successful, Failed
    runtime: str
    memory_mb: int
    timeout_s: int
    code_sha256: str
    environment: dict[str, str]
    subnets: list[str]
    security_groups: list[str]


def _configuration(lab: Lab, name: str) -> dict[str, Any] | None:
    return or_none(lambda: _lambda(lab).get_function_configuration(FunctionName=name), "ResourceNotFoundException")


def _variables(configuration: dict[str, Any]) -> dict[str, str]:
    variables: dict[str, str] = (configuration.get("Environment") or {}).get("Variables", {})
    return variables


def find_function(lab: Lab, name: str | None = None) -> FunctionView | None:
    """The lab's function (or the function `name`), or None.

        >>> lambda_fn.find_function(lab)["environment"]  # {'SECRET_NAME': ..., 'DB_HOST': ...} after Module 3
    """
    c = _configuration(lab, name or lab.names.function)
    if c is None:
        return None
    vpc = c.get("VpcConfig") or {}
    return FunctionView(name=c["FunctionName"], arn=c["FunctionArn"], state=c.get("State"),
                        last_update_status=c.get("LastUpdateStatus"), runtime=c["Runtime"],
                        memory_mb=c["MemorySize"], timeout_s=c["Timeout"], code_sha256=c["CodeSha256"],
                        environment=_variables(c), subnets=vpc.get("SubnetIds", []),
                        security_groups=vpc.get("SecurityGroupIds", []))


# Why a function is Failed (State) or an update Failed (LastUpdateStatus): botocore's StateReasonCode
# and LastUpdateStatusReasonCode, for the codes a VPC function of the lab can meet.
FUNCTION_FAILED = {
    "EniLimitExceeded": "계정의 네트워크 인터페이스(ENI) 한도에 걸렸습니다. 쓰지 않는 ENI 를 지우거나 Service Quotas "
                        "에서 한도를 늘리세요.",
    "InsufficientRolePermissions": "함수의 실행 역할에 VPC 네트워크 인터페이스를 만들 권한"
                                   "(AWSLambdaVPCAccessExecutionRole)이 없거나 아직 전파되지 않았습니다. 역할을 "
                                   "확인하고 잠시 뒤에 다시 실행하세요.",
    "SubnetOutOfIPAddresses": "lambda 서브넷에 남은 IP 주소가 없습니다. 쓰지 않는 네트워크 인터페이스를 지우세요.",
    "InvalidSubnet": "lambda 서브넷이 없거나 잘못되었습니다 (삭제되었을 수 있음). 00_prerequisites 노트북으로 "
                     "네트워크를 다시 만드세요.",
    "InvalidSecurityGroup": "lambda-sg 가 없거나 잘못되었습니다 (삭제되었을 수 있음). 00_prerequisites 노트북으로 "
                            "다시 만드세요.",
    "InvalidZipFileException": "배포 패키지(zip)를 풀 수 없습니다. lambda_fn.build_package 로 다시 만들어 배포하세요.",
    "InvalidRuntime": "런타임을 쓸 수 없습니다 (지원이 끝난 런타임일 수 있음). config.Names 의 function_runtime 을 "
                      "확인하세요.",
    "InternalError": "Lambda 내부 오류입니다. 잠시 뒤에 이 셀을 다시 실행하세요.",
}
_FUNCTION_FAILED_OTHERWISE = "AWS 가 알려 준 이유를 확인하고, 고친 뒤 이 셀을 다시 실행하세요."


def _failure(configuration: dict[str, Any] | None, status: str, code: str, reason: str) -> str | Failure | None:
    """The likely cause when `status` ("State" or "LastUpdateStatus") is Failed, with AWS's own reason."""
    if configuration is None:
        return Failure("함수가 없습니다: 다른 곳에서 삭제되었을 수 있습니다. 이 셀을 다시 실행하세요.", after=60)
    if configuration.get(status) != "Failed":
        return None
    cause = FUNCTION_FAILED.get(configuration.get(code) or "", _FUNCTION_FAILED_OTHERWISE)
    return f"{cause} (AWS: {configuration.get(code)}: {configuration.get(reason)})"


def _shown(status: str, code: str, default: str) -> Callable[[dict[str, Any]], str]:
    """The state as shown: e.g. "Pending", or "Failed (SubnetOutOfIPAddresses)"."""
    def shown(configuration: dict[str, Any]) -> str:
        value: str = configuration.get(status) or default  # absent from old answers: nothing to wait for
        return f"{value} ({configuration.get(code)})" if value == "Failed" and configuration.get(code) else value
    return shown


def _wait_active(lab: Lab, name: str) -> None:
    """Until the function is Active: in a VPC, Pending while Lambda sets up its network interfaces."""
    wait_for(lab, f"Lambda 함수 {name}", lambda: _configuration(lab, name),
             _shown("State", "StateReasonCode", "Active"), {"Active"},
             lambda c: _failure(c, "State", "StateReasonCode", "StateReason"), usual="몇 초–2분",
             doing={"Pending": "VPC 의 lambda 서브넷에 네트워크 인터페이스를 준비하는 중", ABSENT: "함수를 찾는 중"})


def _wait_updated(lab: Lab, name: str) -> None:
    """Until the last update (code or configuration) is Successful, as the console's [Deploy] waits."""
    wait_for(lab, f"Lambda 함수 {name} 업데이트", lambda: _configuration(lab, name),
             _shown("LastUpdateStatus", "LastUpdateStatusReasonCode", "Successful"), {"Successful"},
             lambda c: _failure(c, "LastUpdateStatus", "LastUpdateStatusReasonCode", "LastUpdateStatusReason"),
             usual="몇 초–1분", doing={"InProgress": "새 코드와 설정을 적용하는 중"})


def _create(lab: Lab, name: str, package: bytes, variables: dict[str, str], timeout_s: int, module: int,
            role_arn: str | None = None) -> None:
    names = lab.names
    request = dict(
        FunctionName=name, Runtime=names.function_runtime, Handler=HANDLER,
        Role=role_arn or require(iam.find_lambda_role(lab), f"IAM role {names.lambda_role}")["arn"],
        Code={"ZipFile": package}, MemorySize=names.function_memory_mb, Timeout=timeout_s,
        VpcConfig={"SubnetIds": network.subnet_ids(lab, "lambda"),
                   "SecurityGroupIds": [network.security_group_id(lab, names.lambda_sg)]},
        Environment={"Variables": variables}, Tags=lab.tag_map(module))
    log_groups.ensure_log_group(lab, name, module)  # the lab's (tagged) before Lambda makes an untagged one
    iam.after_iam_propagation(lab, lambda: _lambda(lab).create_function(**request), "InvalidParameterValueException")
    _wait_active(lab, name)  # in a VPC: Pending for a minute or two on AWS


def ensure_function(lab: Lab, package: bytes, environment: Mapping[str, str] | None = None, *,
                    name: str | None = None, timeout_s: int | None = None, module: int = 2,
                    role_arn: str | None = None) -> FunctionView:
    """The function with exactly this code and these environment variables (none when None).

    Creates it when missing (in the lambda subnets with lambda-sg and the lab's role, tagged as
    Module `module`'s); otherwise updates only what differs (code by CodeSha256, then the
    environment), waiting until each update has finished, as the console's [Deploy] does.
    `name` and `timeout_s` default to the lab's function; the measurements deploy others beside it.

        >>> lambda_fn.ensure_function(lab, lambda_fn.build_package("module3"), {"SECRET_NAME": ..., "DB_HOST": ...})
    """
    name = name or lab.names.function
    variables = dict(environment or {})
    current = _configuration(lab, name)
    if current is not None:
        ownership.require_lab("Lambda 함수", name, ownership.function_tagged(lab, {"arn": current["FunctionArn"]}))
    if current is None:
        _create(lab, name, package, variables, timeout_s or lab.names.function_timeout_s, module, role_arn)
        return require(find_function(lab, name), f"Lambda function {name}")
    # an update still running (a cell interrupted and run again): Lambda refuses another until it ends
    if current.get("State") == "Pending":
        _wait_active(lab, name)
    if current.get("LastUpdateStatus") == "InProgress":
        _wait_updated(lab, name)
    if current["CodeSha256"] != code_sha256(package):
        _update(lab, name, lambda: _lambda(lab).update_function_code(FunctionName=name, ZipFile=package))
    if _variables(current) != variables:
        _update(lab, name, lambda: _lambda(lab).update_function_configuration(
            FunctionName=name, Environment={"Variables": variables}))
    return require(find_function(lab, name), f"Lambda function {name}")


def _update(lab: Lab, name: str, call: Callable[[], object]) -> None:
    """One update, then wait until it has finished (LastUpdateStatus), as the console's [Deploy] does. Lambda
    answers ResourceConflictException while another update of the function runs (one started elsewhere, or
    not yet visible as InProgress): retried until it has ended."""
    retry_while(lab, call, "ResourceConflictException", what=f"Lambda 함수 {name} 업데이트 시작",
                usual="몇 초–1분", doing="함수의 앞선 업데이트가 끝나기를 기다리는 중")
    _wait_updated(lab, name)


def delete_function(lab: Lab, name: str | None = None) -> bool:
    """Delete the lab's function (or `name`); False when it was already gone."""
    name = name or lab.names.function
    if _configuration(lab, name) is None:
        return False
    _lambda(lab).delete_function(FunctionName=name)
    return True
