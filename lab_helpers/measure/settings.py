"""The database's and the proxy's settings that the measurements change, and how they are put back.

`lower_connections` lowers the database's max_connections with a DB parameter group of the lab's
own (`<db instance>-measure`), whose description records the settings it replaced, and sizes the
proxy's pool; `restore_settings` puts every one of them back and deletes the group.
"""
from __future__ import annotations

import json
from typing import Any

from .. import proxy
from ..config import Lab
from ..waiting import or_none, require
from .cloud import cloud_info, db_max_connections, parameter_group_name, proxy_stats

RESTORE_PREFIX = "Lowered for the lab's measurements; restores "  # then the replaced settings as JSON


def _raw_parameter_group(lab: Lab) -> dict | None:
    found = or_none(lambda: lab.client("rds").describe_db_parameter_groups(
        DBParameterGroupName=parameter_group_name(lab)), "DBParameterGroupNotFound", "DBParameterGroupNotFoundFault")
    groups = found["DBParameterGroups"] if found else []  # moto answers a missing group with an empty list
    return groups[0] if groups else None


def _instance_parameter_group(lab: Lab) -> str | None:
    found = or_none(lambda: lab.client("rds").describe_db_instances(DBInstanceIdentifier=lab.names.db_instance),
                    "DBInstanceNotFound", "DBInstanceNotFoundFault")
    if not found:
        return None
    groups = found["DBInstances"][0].get("DBParameterGroups") or []
    return groups[0]["DBParameterGroupName"] if groups else None


def _pool_config(lab: Lab) -> dict[str, int] | None:
    if proxy.find_proxy(lab) is None:
        return None
    groups = lab.client("rds").describe_db_proxy_target_groups(DBProxyName=lab.names.proxy)["TargetGroups"]
    config = next(g for g in groups if g.get("IsDefault", True))["ConnectionPoolConfig"]
    return {"MaxConnectionsPercent": int(config["MaxConnectionsPercent"]),
            "ConnectionBorrowTimeout": int(config["ConnectionBorrowTimeout"])}


def _set_pool_config(lab: Lab, config: dict[str, int]) -> None:
    lab.client("rds").modify_db_proxy_target_group(DBProxyName=lab.names.proxy, TargetGroupName="default",
                                                   ConnectionPoolConfig=config)


def _set_max_connections(lab: Lab, value: int) -> None:
    lab.client("rds").modify_db_parameter_group(DBParameterGroupName=parameter_group_name(lab), Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": str(value), "ApplyMethod": "immediate"}])


def current_settings(lab: Lab, cloud: dict | None = None) -> dict[str, Any]:
    """What the measurements change: the database's max_connections (as the server has it), its DB
    parameter group, and the proxy's pool configuration."""
    cloud = cloud_info(lab, cloud)
    pool = _pool_config(lab) or {}
    return {"max_connections": db_max_connections(cloud),
            "parameter_group": _instance_parameter_group(lab),
            "max_connections_percent": pool.get("MaxConnectionsPercent"),
            "borrow_timeout_s": pool.get("ConnectionBorrowTimeout")}


def lower_connections(lab: Lab, cloud: dict | None = None, max_connections: int = 10, pool_percent: int = 50,
                      borrow_timeout_s: int = 30) -> dict[str, Any]:
    """The database's max_connections lowered through a DB parameter group of the lab's own, and the
    proxy's pool set to `pool_percent` % of it with `borrow_timeout_s` (ConnectionBorrowTimeout).

    The first call records the settings it replaces in the group's description, so that
    `restore_settings` can put them back even after an interrupted run; later calls keep that record.
    """
    cloud = cloud_info(lab, cloud)
    client, group = lab.client("rds"), parameter_group_name(lab)
    if _raw_parameter_group(lab) is None:
        original_group = require(_instance_parameter_group(lab), f"DB instance {lab.names.db_instance}")
        family = client.describe_db_parameter_groups(
            DBParameterGroupName=original_group)["DBParameterGroups"][0]["DBParameterGroupFamily"]
        pool = require(_pool_config(lab), f"RDS Proxy {lab.names.proxy}")
        replaced = {"parameter_group": original_group, "max_connections": db_max_connections(cloud),
                    "max_connections_percent": pool["MaxConnectionsPercent"],
                    "borrow_timeout_s": pool["ConnectionBorrowTimeout"]}
        client.create_db_parameter_group(DBParameterGroupName=group, DBParameterGroupFamily=family,
                                         Description=RESTORE_PREFIX + json.dumps(replaced, sort_keys=True),
                                         Tags=lab.tags(3, group))
    _set_max_connections(lab, max_connections)
    if _instance_parameter_group(lab) != group:
        client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, DBParameterGroupName=group,
                                  ApplyImmediately=True)
    _set_pool_config(lab, {"MaxConnectionsPercent": pool_percent, "ConnectionBorrowTimeout": borrow_timeout_s})
    applied = current_settings(lab, cloud)
    if applied["max_connections"] != max_connections:
        raise RuntimeError(f"the database's max_connections is {applied['max_connections']}, not {max_connections} "
                           "(MariaDB's minimum is 10)")
    return {**applied, "pool_size": proxy_stats(lab, cloud)["pool_size"]}


def replaced_settings(lab: Lab) -> dict[str, Any] | None:
    """The settings `lower_connections` replaced (from its parameter group's description), or None."""
    group = _raw_parameter_group(lab)
    if group is None:
        return None
    description = group.get("Description", "")
    return json.loads(description[len(RESTORE_PREFIX):]) if description.startswith(RESTORE_PREFIX) else {}


def find_measurement_parameter_group(lab: Lab) -> dict[str, Any] | None:
    group = _raw_parameter_group(lab)
    return {"name": group["DBParameterGroupName"], "arn": group.get("DBParameterGroupArn")} if group else None


def restore_settings(lab: Lab) -> bool:
    """Put back what `lower_connections` replaced (the proxy's pool configuration, the database's
    max_connections and DB parameter group) and delete the lab's parameter group; False when there was none."""
    replaced = replaced_settings(lab)
    if replaced is None:
        return False
    client, group = lab.client("rds"), parameter_group_name(lab)
    if replaced.get("max_connections_percent") and _pool_config(lab) is not None:
        _set_pool_config(lab, {"MaxConnectionsPercent": int(replaced["max_connections_percent"]),
                               "ConnectionBorrowTimeout": int(replaced["borrow_timeout_s"])})
    if _instance_parameter_group(lab) == group:
        if replaced.get("max_connections"):
            _set_max_connections(lab, int(replaced["max_connections"]))  # the server gets its old value back
        original = replaced.get("parameter_group") or f"default.{lab.names.db_engine}"
        client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, DBParameterGroupName=original,
                                  ApplyImmediately=True)
    client.delete_db_parameter_group(DBParameterGroupName=group)
    return True
