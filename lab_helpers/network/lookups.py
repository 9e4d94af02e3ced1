"""The lookups every part of the lab's network shares (below the resource modules): the EC2 client, tags and
filters, the VPC, its subnets and security groups found by name, and the ports the lab opens.
"""
from __future__ import annotations

from typing import Any

from ..core.config import Lab
from ..core.waiting import require

MYSQL = 3306


HTTPS = 443


ZONES_NEEDED = 2  # a DB subnet group and RDS Proxy need subnets in two availability zones


# Lambda releases a deleted function's network interfaces up to ~40 minutes later; until then the
# subnets and security groups they sit in cannot be deleted (DependencyViolation).
ENI_RELEASE_S = 45 * 60.0


def ec2_client(lab: Lab) -> Any:  # a boto3 client
    return lab.client("ec2")


def tag_spec(lab: Lab, resource_type: str, module: int, name: str | None = None) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": lab.tags(module, name)}]


def name_of(item: dict[str, Any]) -> str | None:
    return next((t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"), None)


def ec2_filters(values: dict[str, str | None]) -> list[dict[str, Any]]:
    """EC2 filters from {"vpc-id": ..., "tag:Name": ...}; None values are left out."""
    return [{"Name": key, "Values": [value]} for key, value in values.items() if value is not None]


def raw_vpc(lab: Lab) -> dict[str, Any] | None:
    vpcs = ec2_client(lab).describe_vpcs(Filters=ec2_filters({"tag:Name": lab.names.vpc}))["Vpcs"]
    return vpcs[0] if vpcs else None


def vpc_id(lab: Lab) -> str:
    """The VPC's id; a LookupError when it does not exist yet."""
    found: str = require(raw_vpc(lab), f"VPC {lab.names.vpc}")["VpcId"]
    return found


def raw_subnets(lab: Lab, vpc: str) -> dict[str, dict[str, Any]]:
    """The lab's subnets in the VPC, by Name tag."""
    subnets = ec2_client(lab).describe_subnets(Filters=ec2_filters({"vpc-id": vpc}))["Subnets"]
    wanted = {s.name for s in lab.names.subnets}
    return {name: s for s in subnets if (name := name_of(s)) is not None and name in wanted}


def eni_timeout(lab: Lab) -> float | None:
    return max(lab.poll_timeout, ENI_RELEASE_S) if lab.target == "aws" else None


def vpc_groups(lab: Lab, vpc: str, name: str | None = None) -> list[dict[str, Any]]:
    filters = ec2_filters({"vpc-id": vpc, "group-name": name})
    groups: list[dict[str, Any]] = ec2_client(lab).describe_security_groups(Filters=filters)["SecurityGroups"]
    return groups


def raw_group(lab: Lab, name: str) -> dict[str, Any] | None:
    vpc = raw_vpc(lab)
    groups = vpc_groups(lab, vpc["VpcId"], name) if vpc else []
    return groups[0] if groups else None


def security_group_id(lab: Lab, name: str) -> str:
    """The id of the security group `name` in the lab's VPC; a LookupError when it does not exist yet."""
    found: str = require(raw_group(lab, name), f"security group {name}")["GroupId"]
    return found


def secrets_service(lab: Lab) -> str:
    return f"com.amazonaws.{lab.region}.secretsmanager"
