"""Module 2's database: the DB subnet group and the RDS for MySQL instance.

The master password comes from config (the workshop's throwaway value) and is never returned.
"""
from __future__ import annotations

from typing import Any, TypedDict

from . import network
from .config import Lab
from .waiting import or_none, require, waiter_config


class DbSubnetGroupView(TypedDict):
    name: str
    arn: str
    state: str
    vpc: str
    subnets: list[str]


class DbInstanceView(TypedDict):
    """A DB instance as `find_db_instance` shows it (never its password)."""
    name: str
    arn: str
    state: str  # creating, available, rebooting, ...
    engine: str
    engine_version: str
    instance_class: str
    host: str | None  # the endpoint's address; None while the instance is created
    port: int | None
    security_groups: list[str]
    parameter_group: str | None


def _rds(lab: Lab):
    return lab.client("rds")


# ---------------------------------------------------------------- DB subnet group

def find_db_subnet_group(lab: Lab) -> DbSubnetGroupView | None:
    """The DB subnet group: name, ARN, state, VPC and subnets, or None."""
    found = or_none(lambda: _rds(lab).describe_db_subnet_groups(DBSubnetGroupName=lab.names.db_subnet_group),
                    "DBSubnetGroupNotFoundFault")
    if found is None:
        return None
    group = found["DBSubnetGroups"][0]
    return DbSubnetGroupView(name=group["DBSubnetGroupName"], arn=group["DBSubnetGroupArn"],
                             state=group["SubnetGroupStatus"], vpc=group["VpcId"],
                             subnets=[s["SubnetIdentifier"] for s in group["Subnets"]])


def ensure_db_subnet_group(lab: Lab) -> DbSubnetGroupView:
    """The DB subnet group over the two rds subnets (one per AZ, as RDS requires)."""
    if find_db_subnet_group(lab) is None:
        _rds(lab).create_db_subnet_group(
            DBSubnetGroupName=lab.names.db_subnet_group, DBSubnetGroupDescription="rds-subnet-a and rds-subnet-c",
            SubnetIds=network.subnet_ids(lab, "rds"), Tags=lab.tags(2, lab.names.db_subnet_group))
    return require(find_db_subnet_group(lab), f"DB subnet group {lab.names.db_subnet_group}")


def delete_db_subnet_group(lab: Lab) -> bool:
    """Delete the DB subnet group; False when it was already gone."""
    if find_db_subnet_group(lab) is None:
        return False
    _rds(lab).delete_db_subnet_group(DBSubnetGroupName=lab.names.db_subnet_group)
    return True


# ---------------------------------------------------------------- DB instance

def _raw_instance(lab: Lab) -> dict[str, Any] | None:
    found = or_none(lambda: _rds(lab).describe_db_instances(DBInstanceIdentifier=lab.names.db_instance),
                    "DBInstanceNotFound", "DBInstanceNotFoundFault")
    return found["DBInstances"][0] if found else None


def find_db_instance(lab: Lab) -> DbInstanceView | None:
    """The instance: identifier, ARN, status, engine, class, endpoint (none while it is created), parameter group.

        >>> rds.find_db_instance(lab)["host"]  # serverless-app-rds.<id>.ap-northeast-2.rds.amazonaws.com
    """
    db = _raw_instance(lab)
    if db is None:
        return None
    endpoint = db.get("Endpoint") or {}
    groups = db.get("DBParameterGroups") or []
    return DbInstanceView(name=db["DBInstanceIdentifier"], arn=db["DBInstanceArn"], state=db["DBInstanceStatus"],
                          engine=db["Engine"], engine_version=db["EngineVersion"],
                          instance_class=db["DBInstanceClass"], host=endpoint.get("Address"),
                          port=endpoint.get("Port"),
                          security_groups=[g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]],
                          parameter_group=groups[0]["DBParameterGroupName"] if groups else None)


def db_host(lab: Lab) -> str:
    """The DB instance's endpoint address (Module 2's function connects to it directly)."""
    db = require(find_db_instance(lab), f"DB instance {lab.names.db_instance}")
    return require(db["host"], f"endpoint of DB instance {lab.names.db_instance}")


def ensure_db_instance(lab: Lab) -> DbInstanceView:
    """The MySQL instance of Module 2, then wait until it is `available` (5-10 minutes on AWS).

    Small and cheap on purpose: single AZ, no public access, no automated backups
    (BackupRetentionPeriod=0), no initial database (the function only runs `select now()`).
    """
    names = lab.names
    if _raw_instance(lab) is None:
        _rds(lab).create_db_instance(
            DBInstanceIdentifier=names.db_instance, Engine=names.db_engine, EngineVersion=names.db_engine_version,
            DBInstanceClass=names.db_instance_class, AllocatedStorage=names.db_storage_gib, StorageType="gp2",
            MasterUsername=names.db_master_user, MasterUserPassword=names.db_master_password, Port=names.db_port,
            DBSubnetGroupName=names.db_subnet_group, VpcSecurityGroupIds=[network.security_group_id(lab, names.rds_sg)],
            PubliclyAccessible=False, MultiAZ=False, BackupRetentionPeriod=0, Tags=lab.tags(2, names.db_instance))
    _rds(lab).get_waiter("db_instance_available").wait(DBInstanceIdentifier=names.db_instance,
                                                       WaiterConfig=waiter_config(lab))
    return require(find_db_instance(lab), f"DB instance {names.db_instance}")


def delete_db_instance(lab: Lab) -> bool:
    """Delete without a final snapshot and wait until it is gone (its subnets and group are free then)."""
    db = _raw_instance(lab)
    if db is None:
        return False
    if db["DBInstanceStatus"] != "deleting":
        _rds(lab).delete_db_instance(DBInstanceIdentifier=lab.names.db_instance, SkipFinalSnapshot=True,
                                     DeleteAutomatedBackups=True)
    _rds(lab).get_waiter("db_instance_deleted").wait(DBInstanceIdentifier=lab.names.db_instance,
                                                     WaiterConfig=waiter_config(lab))
    return True
