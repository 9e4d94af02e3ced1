"""The settings the measurements lower, as AWS API calls: the database's DB parameter group and the
proxy's connection pool; and how they are put back (`restore_settings`, which cleanup also runs).

The lab's own parameter group (`<db instance>-measure`) records in its description the settings it
replaced, so that they can be restored even after an interrupted run.
"""
from __future__ import annotations

import json
from typing import Any, TypedDict

from .. import proxy, rds
from ..core.config import Lab
from ..core.waiting import or_none
from .names import parameter_group_name

RESTORE_PREFIX = "Lowered for the lab's measurements; restores "  # then the replaced settings as JSON


class ParameterGroupView(TypedDict):
    name: str
    arn: str | None


class PoolConfig(TypedDict):
    MaxConnectionsPercent: int
    ConnectionBorrowTimeout: int


def raw_parameter_group(lab: Lab) -> dict[str, Any] | None:
    """DescribeDBParameterGroups' entry for the lab's measurement group, or None."""
    found = or_none(lambda: lab.client("rds").describe_db_parameter_groups(
        DBParameterGroupName=parameter_group_name(lab)), "DBParameterGroupNotFound", "DBParameterGroupNotFoundFault")
    groups = found["DBParameterGroups"] if found else []  # moto answers a missing group with an empty list
    return groups[0] if groups else None


def find_measurement_parameter_group(lab: Lab) -> ParameterGroupView | None:
    """The lab's measurement parameter group, or None."""
    group = raw_parameter_group(lab)
    return ParameterGroupView(name=group["DBParameterGroupName"], arn=group.get("DBParameterGroupArn")) \
        if group else None


def instance_parameter_group(lab: Lab) -> str | None:
    """The DB parameter group the lab's DB instance uses now."""
    db = rds.find_db_instance(lab)
    return db["parameter_group"] if db else None


def pool_config(lab: Lab) -> PoolConfig | None:
    """The proxy's default target group's MaxConnectionsPercent and ConnectionBorrowTimeout, or None (no proxy)."""
    if proxy.find_proxy(lab) is None:
        return None
    groups = lab.client("rds").describe_db_proxy_target_groups(DBProxyName=lab.names.proxy)["TargetGroups"]
    config = next(g for g in groups if g.get("IsDefault", True))["ConnectionPoolConfig"]
    return PoolConfig(MaxConnectionsPercent=int(config["MaxConnectionsPercent"]),
                      ConnectionBorrowTimeout=int(config["ConnectionBorrowTimeout"]))


def set_pool_config(lab: Lab, config: PoolConfig) -> None:
    """The proxy's default target group's connection pool configuration."""
    lab.client("rds").modify_db_proxy_target_group(DBProxyName=lab.names.proxy, TargetGroupName="default",
                                                   ConnectionPoolConfig=dict(config))


def set_max_connections(lab: Lab, value: int) -> None:
    """max_connections in the lab's measurement parameter group, applied immediately."""
    lab.client("rds").modify_db_parameter_group(DBParameterGroupName=parameter_group_name(lab), Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": str(value), "ApplyMethod": "immediate"}])


def replaced_settings(lab: Lab) -> dict[str, Any] | None:
    """The settings the lowering replaced (from its parameter group's description), or None."""
    group = raw_parameter_group(lab)
    if group is None:
        return None
    description = group.get("Description", "")
    return json.loads(description[len(RESTORE_PREFIX):]) if description.startswith(RESTORE_PREFIX) else {}


def restore_settings(lab: Lab) -> bool:
    """Put back what the lowering replaced (the proxy's pool configuration, the database's max_connections
    and DB parameter group) and delete the lab's parameter group; False when there was none."""
    replaced = replaced_settings(lab)
    if replaced is None:
        return False
    client, group = lab.client("rds"), parameter_group_name(lab)
    if replaced.get("max_connections_percent") and pool_config(lab) is not None:
        set_pool_config(lab, PoolConfig(MaxConnectionsPercent=int(replaced["max_connections_percent"]),
                                        ConnectionBorrowTimeout=int(replaced["borrow_timeout_s"])))
    if instance_parameter_group(lab) == group:
        if replaced.get("max_connections"):
            set_max_connections(lab, int(replaced["max_connections"]))  # the server gets its old value back
        original = replaced.get("parameter_group") or f"default.{lab.names.db_engine}"
        client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, DBParameterGroupName=original,
                                  ApplyImmediately=True)
    client.delete_db_parameter_group(DBParameterGroupName=group)
    return True
