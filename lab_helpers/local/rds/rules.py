"""What RDS checks across resources when a DB subnet group or an RDS Proxy is created.

- A DB subnet group's subnets must cover at least two Availability Zones: DBSubnetGroupDoesNotCoverEnoughAZs
  "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage:
  ap-northeast-2a. Add subnets to cover at least 2 AZs." (CreateDBSubnetGroup, ModifyDBSubnetGroup).
- A proxy needs subnets in at least two Availability Zones (RDS Proxy's network prerequisite): InvalidSubnet.
- A proxy's IAM role must be one rds.amazonaws.com can assume and that may read each of its Secrets Manager
  secrets (secretsmanager:GetSecretValue): InvalidParameterValue "IAM role ARN value is invalid or does not
  include the required permissions for: SECRETS_MANAGER".
- IAMAuth ENABLED only on RDS for SQL Server proxies; Auth required unless DefaultAuthScheme is IAM_AUTH:
  InvalidParameterValue (auth_config.py).
Subnets that do not exist are left to RDS's own answer (moto's).
"""
from __future__ import annotations

from typing import Any

from .. import moto
from ..validation.policies import trusts
from ..validation.refusal import Refusal
from . import auth_config


def _zones(region: str, subnet_ids: list[str]) -> set[str] | None:
    """The subnets' Availability Zones, or None when one of them does not exist."""
    zones = moto.ec2.subnet_zones(region, tuple(subnet_ids))
    return set(zones.values()) if len(zones) == len(set(subnet_ids)) else None


def subnet_group(region: str, params: dict[str, Any]) -> None:
    zones = _zones(region, params.get("SubnetIds") or [])
    if zones is not None and len(zones) < 2:
        raise Refusal("DBSubnetGroupDoesNotCoverEnoughAZs",
                      "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
                      f"Current AZ coverage: {', '.join(sorted(zones))}. Add subnets to cover at least 2 AZs.")


def create_db_proxy(region: str, params: dict[str, Any]) -> None:
    zones = _zones(region, params.get("VpcSubnetIds") or [])
    if zones is not None and len(zones) < 2:
        raise Refusal("InvalidSubnet", "The DB proxy's subnets must cover at least 2 Availability Zones. "
                      f"Current AZ coverage: {', '.join(sorted(zones))}.")
    try:
        auth_config.normalized(params.get("Auth") or [], params.get("EngineFamily", ""))
        auth_config.check_scheme(params.get("DefaultAuthScheme"), params.get("Auth") or [])
    except auth_config.InvalidAuth as e:
        raise Refusal("InvalidParameterValue", str(e)) from e
    role = params.get("RoleArn", "")
    secrets = [auth["SecretArn"] for auth in params.get("Auth") or [] if auth.get("SecretArn")]
    policies = moto.iam.role_policies(role)
    readable = policies is not None and all(
        moto.iam.policies_allow(policies, "secretsmanager:GetSecretValue", arn) for arn in secrets)
    if not trusts(moto.iam.role_trust_policy(role), "rds.amazonaws.com") or not readable:
        raise Refusal("InvalidParameterValue", "IAM role ARN value is invalid or does not include the required "
                      "permissions for: SECRETS_MANAGER")


RULES = {"CreateDBSubnetGroup": subnet_group, "ModifyDBSubnetGroup": subnet_group,
         "CreateDBProxy": create_db_proxy}
