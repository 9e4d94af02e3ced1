"""The Lambda function `serverless-app-lambda`: its deployment package and the function itself.

A package is `lambda_function.py` from handler/<variant>/ plus a copy of the installed PyMySQL
(its modules and its licence).
The workshop delivers PyMySQL as a Lambda layer named `pymysql`; the lab ships it inside the
function's zip instead: one artifact, nothing more to create or clean up, and PyMySQL is pure
Python, so the copy runs on Lambda as it is.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import stat
import zipfile
from pathlib import Path
from typing import Any, Mapping

from . import iam, network
from .waiting import or_none, require, waiter_config

HANDLER_ROOT = Path(__file__).resolve().parent.parent / "handler"
HANDLER = "lambda_function.lambda_handler"
# What the learner overwrites in the printed code: Module 2's RDS endpoint, Module 3 Step 3.5's proxy endpoint.
RDS_ENDPOINT_PLACEHOLDER = "YOUR RDS ENDPOINT"
PROXY_ENDPOINT_PLACEHOLDER = "YOUR RDS PROXY ENDPOINT"
PLACEHOLDERS = (RDS_ENDPOINT_PLACEHOLDER, PROXY_ENDPOINT_PLACEHOLDER)
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # fixed, so the same code always gives the same CodeSha256


def _lambda(lab):
    return lab.client("lambda")


# ---------------------------------------------------------------- package

def _handler_file(variant: str) -> Path:
    path = HANDLER_ROOT / variant / "lambda_function.py"
    if not path.is_file():
        known = sorted(p.parent.name for p in HANDLER_ROOT.glob("*/lambda_function.py"))
        raise ValueError(f"unknown handler variant {variant!r}; expected one of {known}")
    return path


def show_code(variant: str) -> str:
    """The source of handler/<variant>/lambda_function.py, for a notebook to print."""
    return _handler_file(variant).read_text(encoding="utf-8")


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
    return sorted((f.as_posix(), Path(dist.locate_file(f))) for f in wanted)


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

def _configuration(lab) -> dict[str, Any] | None:
    return or_none(lambda: _lambda(lab).get_function_configuration(FunctionName=lab.names.function),
                   "ResourceNotFoundException")


def _variables(configuration: dict[str, Any]) -> dict[str, str]:
    return (configuration.get("Environment") or {}).get("Variables", {})


def find_function(lab) -> dict[str, Any] | None:
    c = _configuration(lab)
    if c is None:
        return None
    vpc = c.get("VpcConfig") or {}
    return {"name": c["FunctionName"], "arn": c["FunctionArn"], "state": c.get("State"),
            "last_update_status": c.get("LastUpdateStatus"), "runtime": c["Runtime"],
            "memory_mb": c["MemorySize"], "timeout_s": c["Timeout"], "code_sha256": c["CodeSha256"],
            "environment": _variables(c), "subnets": vpc.get("SubnetIds", []),
            "security_groups": vpc.get("SecurityGroupIds", [])}


def _wait(lab, waiter: str) -> None:
    _lambda(lab).get_waiter(waiter).wait(FunctionName=lab.names.function, WaiterConfig=waiter_config(lab))


def _create(lab, package: bytes, variables: dict[str, str]) -> None:
    names = lab.names
    request = dict(
        FunctionName=names.function, Runtime=names.function_runtime, Handler=HANDLER,
        Role=require(iam.find_lambda_role(lab), f"IAM role {names.lambda_role}")["arn"],
        Code={"ZipFile": package}, MemorySize=names.function_memory_mb, Timeout=names.function_timeout_s,
        VpcConfig={"SubnetIds": network.subnet_ids(lab, "lambda"),
                   "SecurityGroupIds": [network.security_group_id(lab, names.lambda_sg)]},
        Environment={"Variables": variables}, Tags=lab.tag_map(2))
    iam.after_iam_propagation(lab, lambda: _lambda(lab).create_function(**request), "InvalidParameterValueException")
    _wait(lab, "function_active")  # in a VPC: Pending for a minute or two on AWS


def ensure_function(lab, package: bytes, environment: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The function with exactly this code and these environment variables (none when None).

    Creates it when missing; otherwise updates only what differs (code by CodeSha256, then the
    environment), waiting until each update has finished, as the console's [Deploy] does.
    """
    variables = dict(environment or {})
    current = _configuration(lab)
    if current is None:
        _create(lab, package, variables)
        return find_function(lab)
    if current["CodeSha256"] != code_sha256(package):
        _lambda(lab).update_function_code(FunctionName=lab.names.function, ZipFile=package)
        _wait(lab, "function_updated")
    if _variables(current) != variables:
        _lambda(lab).update_function_configuration(FunctionName=lab.names.function,
                                                   Environment={"Variables": variables})
        _wait(lab, "function_updated")
    return find_function(lab)


def delete_function(lab) -> bool:
    if _configuration(lab) is None:
        return False
    _lambda(lab).delete_function(FunctionName=lab.names.function)
    return True
