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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from . import iam, network, paths
from .config import Lab
from .waiting import or_none, require, waiter_config

HANDLER = "lambda_function.lambda_handler"
# What the learner overwrites in the printed code: Module 2's RDS endpoint, Module 3 Step 3.5's proxy endpoint.
RDS_ENDPOINT_PLACEHOLDER = "YOUR RDS ENDPOINT"
PROXY_ENDPOINT_PLACEHOLDER = "YOUR RDS PROXY ENDPOINT"
PLACEHOLDERS = (RDS_ENDPOINT_PLACEHOLDER, PROXY_ENDPOINT_PLACEHOLDER)
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # fixed, so the same code always gives the same CodeSha256


def _lambda(lab: Lab):
    return lab.client("lambda")


# ---------------------------------------------------------------- package

def show_code(variant: str) -> str:
    """The source of handler/<variant>/lambda_function.py, for a notebook to print."""
    return paths.handler_file(variant).read_text(encoding="utf-8")


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
    return (configuration.get("Environment") or {}).get("Variables", {})


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


def _wait(lab: Lab, name: str, waiter: str) -> None:
    _lambda(lab).get_waiter(waiter).wait(FunctionName=name, WaiterConfig=waiter_config(lab))


def _create(lab: Lab, name: str, package: bytes, variables: dict[str, str], timeout_s: int, module: int) -> None:
    names = lab.names
    request = dict(
        FunctionName=name, Runtime=names.function_runtime, Handler=HANDLER,
        Role=require(iam.find_lambda_role(lab), f"IAM role {names.lambda_role}")["arn"],
        Code={"ZipFile": package}, MemorySize=names.function_memory_mb, Timeout=timeout_s,
        VpcConfig={"SubnetIds": network.subnet_ids(lab, "lambda"),
                   "SecurityGroupIds": [network.security_group_id(lab, names.lambda_sg)]},
        Environment={"Variables": variables}, Tags=lab.tag_map(module))
    iam.after_iam_propagation(lab, lambda: _lambda(lab).create_function(**request), "InvalidParameterValueException")
    _wait(lab, name, "function_active")  # in a VPC: Pending for a minute or two on AWS


def ensure_function(lab: Lab, package: bytes, environment: Mapping[str, str] | None = None, *,
                    name: str | None = None, timeout_s: int | None = None, module: int = 2) -> FunctionView:
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
    if current is None:
        _create(lab, name, package, variables, timeout_s or lab.names.function_timeout_s, module)
        return require(find_function(lab, name), f"Lambda function {name}")
    if current["CodeSha256"] != code_sha256(package):
        _lambda(lab).update_function_code(FunctionName=name, ZipFile=package)
        _wait(lab, name, "function_updated")
    if _variables(current) != variables:
        _lambda(lab).update_function_configuration(FunctionName=name, Environment={"Variables": variables})
        _wait(lab, name, "function_updated")
    return require(find_function(lab, name), f"Lambda function {name}")


def delete_function(lab: Lab, name: str | None = None) -> bool:
    """Delete the lab's function (or `name`); False when it was already gone."""
    name = name or lab.names.function
    if _configuration(lab, name) is None:
        return False
    _lambda(lab).delete_function(FunctionName=name)
    return True
