"""IAM roles of the lab: the function's role (Module 2, changed in Module 3) and RDS Proxy's role.

Module 3 Step 3.3 attaches the AWS managed policy SecretsManagerReadWrite to the function's role,
which lets the function read, change and delete every secret of the account. The lab shows that
step, then replaces it with an inline policy that allows only GetSecretValue on the one secret.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

from .core import ownership, partition
from .core.config import Lab
from .core.waiting import or_none, require, retry_while

T = TypeVar("T")

LAMBDA_SERVICE = partition.service_principal("lambda")
RDS_SERVICE = partition.service_principal("rds")
# AWS managed policies the module attaches, by name: their ARNs are in the lab's partition
LAMBDA_VPC_ACCESS = "service-role/AWSLambdaVPCAccessExecutionRole"
SECRETS_MANAGER_READ_WRITE = "SecretsManagerReadWrite"
IAM_PROPAGATION_S = 120.0  # how long a new role or policy may take to reach every service on AWS


class RoleView(TypedDict):
    """A role as `find_lambda_role` and `find_proxy_role` show it."""
    name: str
    arn: str
    trusted_service: list[str]  # who may assume it, one per trust statement, e.g. ['lambda.amazonaws.com']
    managed_policies: list[str]  # the attached policies, by name
    inline_policies: list[str]  # the role's own policies, by name


class InlinePolicyView(TypedDict):
    """A role's inline policy: what it allows, on what."""
    role: str
    name: str
    actions: list[str]  # one per statement, e.g. ['secretsmanager:GetSecretValue']
    resources: list[str]  # one per statement: the secret's ARN


def _iam(lab: Lab) -> Any:  # a boto3 client
    return lab.client("iam")


def _trust_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def _read_secret_policy(secret_arn: str) -> dict[str, Any]:
    """Read one secret, nothing else.

    No kms:Decrypt statement: the secret is encrypted with the AWS managed key aws/secretsmanager,
    whose key policy already lets Secrets Manager decrypt for any principal of the account that
    may call it. Only a customer managed key would need kms:Decrypt here, conditioned on
    kms:ViaService = secretsmanager.<region>.<the partition's DNS suffix>.
    """
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}]}


def after_iam_propagation(lab: Lab, call: Callable[[], T], code: str) -> T:
    """`call()`; on AWS, retried for a while when it fails with `code` about a role: a role or
    policy created seconds ago is not yet visible to every service (IAM is eventually consistent)."""
    if lab.target != "aws":
        return call()
    return retry_while(lab, call, code, "role", timeout=IAM_PROPAGATION_S)


# ---------------------------------------------------------------- shared role plumbing

def _find_role(lab: Lab, name: str) -> RoleView | None:
    role = or_none(lambda: _iam(lab).get_role(RoleName=name)["Role"], "NoSuchEntity")
    if role is None:
        return None
    iam = _iam(lab)
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    return RoleView(name=name, arn=role["Arn"],
                    trusted_service=[s["Principal"].get("Service")
                                     for s in role["AssumeRolePolicyDocument"]["Statement"]],
                    managed_policies=[p["PolicyName"] for p in attached],
                    inline_policies=iam.list_role_policies(RoleName=name)["PolicyNames"])


def _ensure_role(lab: Lab, name: str, service: str, module: int, description: str) -> None:
    found = _find_role(lab, name)
    if found is not None:
        ownership.require_lab("IAM 역할", name, ownership.role_tagged(lab, found))
        boundary = (_iam(lab).get_role(RoleName=name)["Role"].get("PermissionsBoundary") or {}).get(
            "PermissionsBoundaryArn", "")
        if lab.permissions_boundary and boundary != lab.permissions_boundary:
            _iam(lab).put_role_permissions_boundary(RoleName=name, PermissionsBoundary=lab.permissions_boundary)
    else:
        boundary_arg = {"PermissionsBoundary": lab.permissions_boundary} if lab.permissions_boundary else {}
        _iam(lab).create_role(RoleName=name, AssumeRolePolicyDocument=_trust_policy(service),
                              Description=description, Tags=lab.tags(module), **boundary_arg)


def _attached(lab: Lab, role: str, policy_arn: str) -> bool:
    attached = _iam(lab).list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    return any(p["PolicyArn"] == policy_arn for p in attached)


def _ensure_attached(lab: Lab, role: str, policy_arn: str) -> None:
    if not _attached(lab, role, policy_arn):
        _iam(lab).attach_role_policy(RoleName=role, PolicyArn=policy_arn)


def _inline(lab: Lab, role: str, policy: str) -> dict[str, Any] | None:
    found = or_none(lambda: _iam(lab).get_role_policy(RoleName=role, PolicyName=policy), "NoSuchEntity")
    return found["PolicyDocument"] if found else None


def _describe_inline(role: str, policy: str, document: dict[str, Any]) -> InlinePolicyView:
    statements = document["Statement"]
    return InlinePolicyView(role=role, name=policy, actions=[s["Action"] for s in statements],
                            resources=[s["Resource"] for s in statements])


def _ensure_inline(lab: Lab, role: str, policy: str, document: dict[str, Any]) -> InlinePolicyView:
    if _inline(lab, role, policy) != document:
        _iam(lab).put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(document))
    return _describe_inline(role, policy, document)


def _delete_role(lab: Lab, name: str) -> bool:
    """Detach its managed policies and delete its inline ones (IAM requires both), then the role."""
    role = _find_role(lab, name)
    if role is None:
        return False
    iam = _iam(lab)
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    for policy in role["inline_policies"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)
    return True


# ---------------------------------------------------------------- the function's role

def find_lambda_role(lab: Lab) -> RoleView | None:
    """The function's role with its trusted service and policies, or None.

        >>> iam.find_lambda_role(lab)["managed_policies"]  # ['AWSLambdaVPCAccessExecutionRole'] after Module 2
    """
    return _find_role(lab, lab.names.lambda_role)


def ensure_lambda_role(lab: Lab) -> RoleView:
    """Module 2: the role Lambda assumes, with AWSLambdaVPCAccessExecutionRole (logs + VPC network interfaces)."""
    name = lab.names.lambda_role
    _ensure_role(lab, name, LAMBDA_SERVICE, 2, "Execution role of the serverless app's function")
    _ensure_attached(lab, name, partition.managed_policy_arn(lab, LAMBDA_VPC_ACCESS))
    return require(find_lambda_role(lab), f"IAM role {name}")


def delete_lambda_role(lab: Lab) -> bool:
    """Delete the function's role with its policies; False when it was already gone."""
    return _delete_role(lab, lab.names.lambda_role)


def attach_secrets_manager_read_write(lab: Lab) -> RoleView:
    """Module 3 Step 3.3 as printed: attach SecretsManagerReadWrite (far more than the function needs)."""
    name = require(find_lambda_role(lab), f"IAM role {lab.names.lambda_role}")["name"]
    _ensure_attached(lab, name, partition.managed_policy_arn(lab, SECRETS_MANAGER_READ_WRITE))
    return require(find_lambda_role(lab), f"IAM role {name}")


def detach_secrets_manager_read_write(lab: Lab) -> bool:
    """Remove SecretsManagerReadWrite again (once the least-privilege policy is in place)."""
    name, policy = lab.names.lambda_role, partition.managed_policy_arn(lab, SECRETS_MANAGER_READ_WRITE)
    if find_lambda_role(lab) is None or not _attached(lab, name, policy):
        return False
    _iam(lab).detach_role_policy(RoleName=name, PolicyArn=policy)
    return True


def find_function_secret_policy(lab: Lab) -> InlinePolicyView | None:
    """The least-privilege inline policy on the function's role, or None.

        >>> iam.find_function_secret_policy(lab)["actions"]  # ['secretsmanager:GetSecretValue']
    """
    document = _inline(lab, lab.names.lambda_role, lab.names.function_secret_policy) if find_lambda_role(lab) else None
    return _describe_inline(lab.names.lambda_role, lab.names.function_secret_policy, document) if document else None


def ensure_function_secret_policy(lab: Lab, secret_arn: str) -> InlinePolicyView:
    """The least-privilege replacement: an inline policy allowing only GetSecretValue on `secret_arn`."""
    role = require(find_lambda_role(lab), f"IAM role {lab.names.lambda_role}")["name"]
    return _ensure_inline(lab, role, lab.names.function_secret_policy, _read_secret_policy(secret_arn))


def delete_function_secret_policy(lab: Lab) -> bool:
    """Delete the least-privilege inline policy; False when it was already gone."""
    if find_function_secret_policy(lab) is None:
        return False
    _iam(lab).delete_role_policy(RoleName=lab.names.lambda_role, PolicyName=lab.names.function_secret_policy)
    return True


def find_function_connect_policy(lab: Lab) -> InlinePolicyView | None:
    """The function role's inline policy allowing rds-db:connect (notebook 08), or None."""
    name = lab.names.function_connect_policy
    document = _inline(lab, lab.names.lambda_role, name) if find_lambda_role(lab) else None
    return _describe_inline(lab.names.lambda_role, name, document) if document else None


def ensure_function_connect_policy(lab: Lab, dbuser_arn: str) -> InlinePolicyView:
    """IAM database authentication: the function's role may log in as one database user through one proxy
    (`rds-db:connect` on `arn:aws:rds-db:<region>:<account>:dbuser:<prx-id>/<user>`), and nothing more."""
    role = require(find_lambda_role(lab), f"IAM role {lab.names.lambda_role}")["name"]
    document = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": dbuser_arn}]}
    return _ensure_inline(lab, role, lab.names.function_connect_policy, document)


def delete_function_connect_policy(lab: Lab) -> bool:
    """Delete the rds-db:connect policy; False when it was already gone."""
    if find_function_connect_policy(lab) is None:
        return False
    _iam(lab).delete_role_policy(RoleName=lab.names.lambda_role, PolicyName=lab.names.function_connect_policy)
    return True


# ---------------------------------------------------------------- RDS Proxy's role

def find_proxy_role(lab: Lab) -> RoleView | None:
    """RDS Proxy's role with its trusted service and policies, or None."""
    return _find_role(lab, lab.names.proxy_role)


def ensure_proxy_role(lab: Lab, secret_arn: str) -> RoleView:
    """The role RDS Proxy assumes to read the database secret (the console's "Create IAM role" in Step 2)."""
    name = lab.names.proxy_role
    _ensure_role(lab, name, RDS_SERVICE, 3, "RDS Proxy of the serverless app reads the database secret")
    _ensure_inline(lab, name, lab.names.proxy_role_policy, _read_secret_policy(secret_arn))
    return require(find_proxy_role(lab), f"IAM role {name}")


def delete_proxy_role(lab: Lab) -> bool:
    """Delete RDS Proxy's role with its policies; False when it was already gone."""
    return _delete_role(lab, lab.names.proxy_role)


# ---------------------------------------------------------------- the rotation function's role (notebook 07)

ROTATION_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage"]


def _rotation_policy(secret_arn: str) -> dict[str, Any]:
    """What a single-user rotation function needs: this secret's versions, and new random passwords."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ROTATION_ACTIONS, "Resource": secret_arn},
        {"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}]}


def find_rotation_role(lab: Lab) -> RoleView | None:
    return _find_role(lab, lab.names.rotation_role)


def ensure_rotation_role(lab: Lab, secret_arn: str) -> RoleView:
    """The rotation function's own role: AWSLambdaVPCAccessExecutionRole (it runs in the VPC) and an inline
    policy for this one secret (never the function's role: that one may only read it)."""
    name = lab.names.rotation_role
    _ensure_role(lab, name, LAMBDA_SERVICE, 3, "Rotation function of the lab's database secret")
    _ensure_attached(lab, name, partition.managed_policy_arn(lab, LAMBDA_VPC_ACCESS))
    _ensure_inline(lab, name, lab.names.rotation_policy, _rotation_policy(secret_arn))
    return after_iam_propagation(lab, lambda: require(find_rotation_role(lab), f"IAM role {name}"), "NoSuchEntity")


def find_rotation_policy(lab: Lab) -> InlinePolicyView | None:
    document = _inline(lab, lab.names.rotation_role, lab.names.rotation_policy)
    if document is None:
        return None
    statements = document["Statement"]
    return InlinePolicyView(role=lab.names.rotation_role, name=lab.names.rotation_policy,
                            actions=[a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                                     else s["Action"])],
                            resources=[s["Resource"] for s in statements])


def delete_rotation_role(lab: Lab) -> bool:
    return _delete_role(lab, lab.names.rotation_role)

