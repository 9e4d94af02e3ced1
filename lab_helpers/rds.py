"""Module 2's database: the DB subnet group and the RDS for MySQL instance.

The master password comes from config (the workshop's throwaway value) and is never returned.
"""
from __future__ import annotations

from typing import Any, TypedDict

from . import network
from .core import ownership
from .core.config import Lab
from .core.waiting import ABSENT, Failure, or_none, require, wait_for


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


def _rds(lab: Lab) -> Any:  # a boto3 client
    return lab.client("rds")


# What RDS is doing in each state on the way to `available`, and the states it will not leave by
# itself (RDS User Guide, "Viewing Amazon RDS DB instance status").
DB_INSTANCE_DOING = {
    "creating": "인스턴스를 만들고 MySQL 을 설치하는 중",
    "backing-up": "첫 백업을 만드는 중",
    "modifying": "바뀐 설정을 적용하는 중",
    "rebooting": "재시작하는 중",
    "starting": "중지되었던 인스턴스를 시작하는 중",
    "upgrading": "엔진 버전을 올리는 중",
    "maintenance": "예약된 유지 관리를 적용하는 중",
    "configuring-enhanced-monitoring": "모니터링 설정을 적용하는 중",
    "configuring-log-exports": "로그 내보내기 설정을 적용하는 중",
}
_RECREATE = ("인스턴스를 지우고(rds.delete_db_instance(lab), 5–10분) 00_prerequisites 노트북을 다시 실행해 "
             "새로 만드세요.")
DB_INSTANCE_FAILED = {
    "failed": "RDS 가 인스턴스를 만들지 못했습니다. AWS 콘솔의 RDS > 데이터베이스 > 로그 및 이벤트에서 이유를 "
              "확인하고, " + _RECREATE,
    "incompatible-network": "인스턴스의 네트워크를 구성할 수 없습니다: rds 서브넷에 남은 IP 주소가 없거나, DB 서브넷 "
                            "그룹의 서브넷이 없어졌거나 가용 영역이 맞지 않습니다. " + _RECREATE,
    "incompatible-parameters": "DB 파라미터 그룹의 값(예: 메모리 관련 설정)이 인스턴스 클래스에 맞지 않아 MySQL 이 "
                               "시작하지 못합니다. 파라미터 그룹을 기본값으로 되돌리고 재부팅하거나, " + _RECREATE,
    "incompatible-option-group": "옵션 그룹이 엔진 버전과 맞지 않습니다. 기본 옵션 그룹으로 바꾸거나, " + _RECREATE,
    "incompatible-restore": "스냅샷에서 복원하지 못했습니다. " + _RECREATE,
    "restore-error": "복원 중 오류가 났습니다. " + _RECREATE,
    "storage-full": "할당된 스토리지가 가득 찼습니다. 콘솔에서 스토리지를 늘리거나(수정 > 할당된 스토리지), "
                    + _RECREATE,
    "inaccessible-encryption-credentials": "스토리지를 암호화한 KMS 키에 접근할 수 없습니다 (키가 비활성화되었거나 "
                                           "삭제 예정). KMS 키를 다시 활성화하거나, " + _RECREATE,
    "inaccessible-encryption-credentials-recoverable": "스토리지를 암호화한 KMS 키에 접근할 수 없습니다. KMS 키를 "
                                                       "다시 활성화하면 인스턴스가 시작됩니다.",
    "insufficient-capacity": "지금 이 가용 영역에 이 인스턴스 클래스의 용량이 없습니다. 잠시 뒤에 다시 만들거나 "
                             "config.Names 의 db_instance_class 를 바꾸세요. " + _RECREATE,
    "stopped": "인스턴스가 중지되어 있습니다. AWS 콘솔에서 시작(작업 > 시작)한 뒤 이 셀을 다시 실행하세요.",
    "stopping": "인스턴스를 중지하는 중입니다. 중지가 끝나면 콘솔에서 시작(작업 > 시작)한 뒤 이 셀을 다시 실행하세요.",
    "deleting": "인스턴스가 삭제되고 있습니다. 삭제가 끝난 뒤(5–10분) 이 셀을 다시 실행하면 새로 만듭니다.",
    ABSENT: Failure("인스턴스가 없습니다: 만든 뒤 다른 곳에서 삭제되었을 수 있습니다. 이 셀을 다시 실행하세요.",
                    after=60),
}


def _status(db: dict[str, Any]) -> str:
    status: str = db["DBInstanceStatus"]
    return status


def _wait_available(lab: Lab) -> None:
    wait_for(lab, f"DB 인스턴스 {lab.names.db_instance}", lambda: _raw_instance(lab), _status, {"available"},
             DB_INSTANCE_FAILED, usual="5–15분", doing=DB_INSTANCE_DOING)


def _wait_deleted(lab: Lab) -> None:
    wait_for(lab, f"DB 인스턴스 {lab.names.db_instance} 삭제", lambda: _raw_instance(lab), _status, {ABSENT},
             usual="5–10분", doing={"deleting": "인스턴스와 스토리지를 삭제하는 중"})


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
    found = find_db_subnet_group(lab)
    if found is not None:
        ownership.require_lab("DB 서브넷 그룹", lab.names.db_subnet_group, ownership.rds_tagged(lab, found))
    else:
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
    """The MySQL instance of Module 2, then wait until it is `available` (5-15 minutes on AWS),
    showing its progress; a state it will not leave (`failed`, `incompatible-network`, ...) stops
    the wait at once with the likely cause (`waiting.WaitFailed`).

    Small and cheap on purpose: single AZ, no public access, no automated backups
    (BackupRetentionPeriod=0), no initial database (the function only runs `select now()`).
    """
    names = lab.names
    found = _raw_instance(lab)
    if found is not None:
        ownership.require_lab("DB 인스턴스", names.db_instance, ownership.has_project_tag(found.get("TagList")))
    else:
        _rds(lab).create_db_instance(
            DBInstanceIdentifier=names.db_instance, Engine=names.db_engine, EngineVersion=names.db_engine_version,
            DBInstanceClass=names.db_instance_class, AllocatedStorage=names.db_storage_gib, StorageType="gp2",
            MasterUsername=names.db_master_user, MasterUserPassword=names.db_master_password, Port=names.db_port,
            DBSubnetGroupName=names.db_subnet_group, VpcSecurityGroupIds=[network.security_group_id(lab, names.rds_sg)],
            PubliclyAccessible=False, MultiAZ=False, BackupRetentionPeriod=0, Tags=lab.tags(2, names.db_instance),
            # encrypted at rest with the account's AWS managed key aws/rds (no extra cost); guardrails often require it
            StorageEncrypted=True,
            # said explicitly: past a version's standard support, RDS enrolls it in paid Extended Support otherwise
            EngineLifecycleSupport=names.db_engine_lifecycle_support)
    _wait_available(lab)
    return require(find_db_instance(lab), f"DB instance {names.db_instance}")


def delete_db_instance(lab: Lab) -> bool:
    """Delete without a final snapshot and wait until it is gone (its subnets and group are free then)."""
    db = _raw_instance(lab)
    if db is None:
        return False
    if db["DBInstanceStatus"] != "deleting":
        _rds(lab).delete_db_instance(DBInstanceIdentifier=lab.names.db_instance, SkipFinalSnapshot=True,
                                     DeleteAutomatedBackups=True)
    _wait_deleted(lab)
    return True


def reset_master_password(lab: Lab) -> None:
    """ModifyDBInstance with the module's master password (applied at once), then wait until `available`."""
    _rds(lab).modify_db_instance(DBInstanceIdentifier=lab.names.db_instance,
                                 MasterUserPassword=lab.names.db_master_password, ApplyImmediately=True)
    _wait_available(lab)

