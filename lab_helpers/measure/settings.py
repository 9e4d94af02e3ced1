"""The database's and the proxy's settings as the measurements need them: read back from the local
cloud's own database, and lowered for a measurement (`lower_connections`).

The AWS calls behind them, and putting everything back, are in `parameter_group`.
"""
from __future__ import annotations

import json
from typing import Any

from ..core.config import Lab
from ..core.waiting import require
from ..local import RunningCloud
from .cloud import cloud_info, db_max_connections, proxy_stats
from .names import parameter_group_name
from .parameter_group import (
    RESTORE_PREFIX,
    PoolConfig,
    instance_parameter_group,
    pool_config,
    raw_parameter_group,
    set_max_connections,
    set_pool_config,
)


def current_settings(lab: Lab, cloud: RunningCloud | dict[str, Any] | None = None) -> dict[str, Any]:
    """What the measurements change: the database's max_connections (as the server has it), its DB
    parameter group, and the proxy's pool configuration."""
    cloud = cloud_info(lab, cloud)
    pool = pool_config(lab)
    return {"max_connections": db_max_connections(cloud),
            "parameter_group": instance_parameter_group(lab),
            "max_connections_percent": pool.get("MaxConnectionsPercent") if pool else None,
            "borrow_timeout_s": pool.get("ConnectionBorrowTimeout") if pool else None}


def lower_connections(lab: Lab, cloud: RunningCloud | dict[str, Any] | None = None, max_connections: int = 10,
                      pool_percent: int = 50, borrow_timeout_s: int = 30) -> dict[str, Any]:
    """The database's max_connections lowered through a DB parameter group of the lab's own, and the
    proxy's pool set to `pool_percent` % of it with `borrow_timeout_s` (ConnectionBorrowTimeout).

    The first call records the settings it replaces in the group's description, so that
    `restore_settings` can put them back even after an interrupted run; later calls keep that record.
    """
    cloud = cloud_info(lab, cloud)
    client, group = lab.client("rds"), parameter_group_name(lab)
    if raw_parameter_group(lab) is None:
        original_group = require(instance_parameter_group(lab), f"DB instance {lab.names.db_instance}")
        family = client.describe_db_parameter_groups(
            DBParameterGroupName=original_group)["DBParameterGroups"][0]["DBParameterGroupFamily"]
        pool = require(pool_config(lab), f"RDS Proxy {lab.names.proxy}")
        replaced = {"parameter_group": original_group, "max_connections": db_max_connections(cloud),
                    "max_connections_percent": pool["MaxConnectionsPercent"],
                    "borrow_timeout_s": pool["ConnectionBorrowTimeout"]}
        client.create_db_parameter_group(DBParameterGroupName=group, DBParameterGroupFamily=family,
                                         Description=RESTORE_PREFIX + json.dumps(replaced, sort_keys=True),
                                         Tags=lab.tags(3, group))
    set_max_connections(lab, max_connections)
    if instance_parameter_group(lab) != group:
        client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, DBParameterGroupName=group,
                                  ApplyImmediately=True)
    set_pool_config(lab, PoolConfig(MaxConnectionsPercent=pool_percent, ConnectionBorrowTimeout=borrow_timeout_s))
    applied = current_settings(lab, cloud)
    if applied["max_connections"] != max_connections:
        raise RuntimeError(f"the database's max_connections is {applied['max_connections']}, not {max_connections} "
                           "(MariaDB's minimum is 10)")
    return {**applied, "pool_size": proxy_stats(lab, cloud)["pool_size"]}
