"""What Lambda checks of a function's execution role when the function is created or reconfigured.

- The role must exist and its trust policy must let lambda.amazonaws.com assume it, else
  InvalidParameterValueException "The role defined for the function cannot be assumed by Lambda."
- A function attached to a VPC (VpcConfig with subnets) needs a role that may create, describe and delete network
  interfaces (what the managed policy AWSLambdaVPCAccessExecutionRole grants), else
  InvalidParameterValueException "The provided execution role does not have permissions to call
  CreateNetworkInterface on EC2" (the first action missing).
"""
from __future__ import annotations

from typing import Any

from .. import moto
from ..validation.policies import trusts
from ..validation.refusal import Refusal

ENI_ACTIONS = ("CreateNetworkInterface", "DescribeNetworkInterfaces", "DeleteNetworkInterface")


def _invalid(message: str) -> Refusal:
    return Refusal("InvalidParameterValueException", message)


def check_role(role_arn: str) -> None:
    if not trusts(moto.iam.role_trust_policy(role_arn), "lambda.amazonaws.com"):
        raise _invalid("The role defined for the function cannot be assumed by Lambda.")


def check_vpc_access(role_arn: str, vpc_config: dict[str, Any] | None) -> None:
    if not vpc_config or not vpc_config.get("SubnetIds"):
        return
    policies = moto.iam.role_policies(role_arn) or []
    for action in ENI_ACTIONS:
        if not moto.iam.policies_allow(policies, f"ec2:{action}", "*"):
            raise _invalid(f"The provided execution role does not have permissions to call {action} on EC2")


def create_function(region: str, params: dict[str, Any]) -> None:
    check_role(params["Role"])
    check_vpc_access(params["Role"], params.get("VpcConfig"))


def update_function_configuration(region: str, params: dict[str, Any]) -> None:
    role = params.get("Role")
    if role:
        check_role(role)
    if params.get("VpcConfig", {}).get("SubnetIds"):
        if not role:
            try:
                role = moto.awslambda.deployed_function(region, params["FunctionName"]).role
            except moto.FunctionNotFound:
                return  # Lambda answers ResourceNotFoundException (moto does)
        check_vpc_access(role, params["VpcConfig"])


RULES = {"CreateFunction": create_function, "UpdateFunctionConfiguration": update_function_configuration}
