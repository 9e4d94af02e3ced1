"""Lambda in moto: a function as deployed (its zip and configuration), its resource policy, and the patch that
makes GetFunction and GetFunctionConfiguration answer as Lambda does.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .contract import ACCOUNT, FunctionNotFound, assumption
from .ec2 import subnets
from .patches import register


@dataclass(frozen=True)
class DeployedFunction:
    """A Lambda function as deployed now: its code and its configuration."""
    region: str
    name: str
    arn: str
    code_sha256: str  # base64 SHA-256 of the zip (CodeSha256)
    code_zip: bytes
    handler: str
    runtime: str
    timeout: float
    memory_size: int
    environment: dict[str, str]
    role: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


def _lambda_backend(region: str) -> Any:  # moto's LambdaBackend
    from moto.awslambda.models import lambda_backends

    with assumption("lambda_backends[account][region] is the region's Lambda backend"):
        return lambda_backends[ACCOUNT][region]


def deployed_function(region: str, name_or_arn: str, qualifier: str | None = None) -> DeployedFunction:
    """The function as moto holds it, or FunctionNotFound."""
    from moto.awslambda.exceptions import UnknownFunctionException

    backend = _lambda_backend(region)
    try:
        fn = backend.get_function(name_or_arn, qualifier)
    except UnknownFunctionException as e:
        raise FunctionNotFound(name_or_arn) from e
    with assumption("LambdaFunction keeps code_bytes, code_sha_256, run_time, environment_vars and _vpc_config"):
        vpc = fn._vpc_config or {}
        return DeployedFunction(
            region=region, name=fn.function_name, arn=fn.function_arn, code_sha256=fn.code_sha_256,
            code_zip=fn.code_bytes, handler=fn.handler, runtime=fn.run_time or "python3.12",
            timeout=float(fn.timeout), memory_size=int(fn.memory_size), environment=dict(fn.environment_vars or {}),
            role=fn.role, subnet_ids=tuple(vpc.get("SubnetIds") or ()),
            security_group_ids=tuple(vpc.get("SecurityGroupIds") or ()))


CODE_PATH = "/_lab/lambda-code"  # where the endpoint serves a function's deployed zip (GetFunction's Code.Location)


@register("lambda function answers", "moto.awslambda.models:LambdaFunction",
          ("vpc_config", "get_configuration", "get_code", "update_configuration", "update_function_code"),
          "LambdaFunction.vpc_config is a property over _vpc_config; get_configuration(), get_code(), "
          "update_configuration() and update_function_code() are methods; last_modified an attribute",
          needs=("endpoint",))
def function_answers(originals: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """GetFunction and GetFunctionConfiguration answer as Lambda does where moto does not:
    - VpcConfig.VpcId is the function's subnets' VPC (moto reports a placeholder);
    - RevisionId exists, and changes with LastModified on every code or configuration update (moto has
      no RevisionId and keeps the creation time), already in the update's own answer;
    - Code.Location is a URL that downloads the deployed zip (`endpoint` + CODE_PATH; moto names an S3
      object nobody can fetch)."""
    import uuid

    from moto.core.utils import iso_8601_datetime_with_nanoseconds

    vpc_original = originals["vpc_config"].fget

    def vpc_config(fn: Any) -> dict[str, Any] | None:  # fn: moto's LambdaFunction, here and below
        config: dict[str, Any] | None = vpc_original(fn)
        if config and config.get("SubnetIds"):
            found = subnets(fn.region, tuple(config["SubnetIds"]))
            if found:
                config["VpcId"] = found[0].vpc_id
        return config

    def revision(fn: Any) -> str:
        if not getattr(fn, "lab_revision_id", None):
            fn.lab_revision_id = str(uuid.uuid4())
        return str(fn.lab_revision_id)

    def get_configuration(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config: dict[str, Any] = originals["get_configuration"](fn, *args, **kwargs)
        config["RevisionId"] = revision(fn)
        return config

    def get_code(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = originals["get_code"](fn, *args, **kwargs)
        if answer.get("Code", {}).get("RepositoryType") == "S3":
            answer["Code"]["Location"] = (f"{endpoint}{CODE_PATH}/{fn.region}/{fn.function_name}"
                                          f"?sha256={quote(fn.code_sha_256, safe='')}")
        answer["Configuration"]["RevisionId"] = revision(fn)
        return answer

    def updating(name: str) -> Callable[..., Any]:
        def update(fn: Any, *args: Any, **kwargs: Any) -> Any:
            fn.last_modified = iso_8601_datetime_with_nanoseconds()
            fn.lab_revision_id = str(uuid.uuid4())
            return originals[name](fn, *args, **kwargs)
        return update

    return {"vpc_config": property(vpc_config), "get_configuration": get_configuration, "get_code": get_code,
            "update_configuration": updating("update_configuration"),
            "update_function_code": updating("update_function_code")}


def function_code(region: str, name: str) -> tuple[str, bytes] | None:
    """(CodeSha256, zip) of the function as deployed now, or None when there is no such function."""
    try:
        fn = deployed_function(region, name)
    except FunctionNotFound:
        return None
    return fn.code_sha256, fn.code_zip


def function_policy_statements(region: str, name_or_arn: str) -> list[dict[str, Any]]:
    """The function's resource-based policy statements (AddPermission), or FunctionNotFound."""
    from moto.awslambda.exceptions import UnknownFunctionException

    try:
        fn = _lambda_backend(region).get_function(name_or_arn)
    except UnknownFunctionException as e:
        raise FunctionNotFound(name_or_arn) from e
    with assumption("LambdaFunction.policy.statements lists the AddPermission statements as dicts"):
        return [dict(statement) for statement in fn.policy.statements]


