"""The security groups: lambda-sg (no inbound), rds-sg (MySQL from lambda-sg; Module 3 adds rds-sg to itself for
RDS Proxy), secret-sg (HTTPS from lambda-sg, for the endpoint).
"""
from __future__ import annotations

from typing import Any, TypedDict

from ..core import ownership
from ..core.config import Lab
from ..core.waiting import require, retry_while
from .lookups import (
    HTTPS,
    MYSQL,
    ec2_client,
    ec2_filters,
    eni_timeout,
    raw_group,
    security_group_id,
    tag_spec,
    vpc_groups,
    vpc_id,
)


class SecurityGroupView(TypedDict):
    """A security group as `find_security_group` shows it."""
    name: str
    id: str
    inbound: list[str]  # e.g. "tcp/3306 from lambda-sg"


class SecurityGroupRuleView(TypedDict):
    """The rule `allow_rds_sg_self` adds, as `find_rds_sg_self_rule` shows it."""
    group: str  # the group's name
    id: str  # the SecurityGroupRuleId
    rule: str  # e.g. "tcp/3306 from rds-sg"


def _describe_rules(lab: Lab, group: dict[str, Any]) -> list[str]:
    """Inbound rules as text, e.g. "tcp/3306 from lambda-sg"."""
    names = {g["GroupId"]: g["GroupName"] for g in vpc_groups(lab, group["VpcId"])}
    rules = []
    for perm in group["IpPermissions"]:
        port = f"{perm['IpProtocol']}/{perm.get('FromPort', 'all')}"
        rules += [f"{port} from {names.get(p['GroupId'], p['GroupId'])}" for p in perm.get("UserIdGroupPairs", [])]
        rules += [f"{port} from {r['CidrIp']}" for r in perm.get("IpRanges", [])]
    return rules


def find_security_group(lab: Lab, name: str) -> SecurityGroupView | None:
    """The security group `name` in the lab's VPC, with its inbound rules as text, or None.

        >>> network.find_security_group(lab, "rds-sg")["inbound"]  # ['tcp/3306 from lambda-sg']
    """
    group = raw_group(lab, name)
    if group is None:
        return None
    return SecurityGroupView(name=name, id=group["GroupId"], inbound=_describe_rules(lab, group))


def _ensure_group(lab: Lab, name: str, description: str, module: int) -> None:
    vpc = vpc_id(lab)
    found = raw_group(lab, name)
    if found is not None:
        ownership.require_lab("보안 그룹", name, ownership.ec2_tagged(lab, found))
    else:
        ec2_client(lab).create_security_group(GroupName=name, Description=description, VpcId=vpc,
                                        TagSpecifications=tag_spec(lab, "security-group", module, name))


def _allows(group: dict[str, Any], port: int, source: str) -> bool:
    return any(perm["IpProtocol"] == "tcp" and perm.get("FromPort") == port and perm.get("ToPort") == port
               and any(p["GroupId"] == source for p in perm.get("UserIdGroupPairs", []))
               for perm in group["IpPermissions"])


def _allow(lab: Lab, group_name: str, port: int, source_name: str, description: str,
           module: int) -> SecurityGroupView:
    """Ensure `group_name` admits TCP `port` from members of `source_name`."""
    group = require(raw_group(lab, group_name), f"security group {group_name}")
    source = security_group_id(lab, source_name)
    if not _allows(group, port, source):
        ec2_client(lab).authorize_security_group_ingress(
            GroupId=group["GroupId"],
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                            "UserIdGroupPairs": [{"GroupId": source, "Description": description}]}],
            TagSpecifications=tag_spec(lab, "security-group-rule", module))
    return require(find_security_group(lab, group_name), f"security group {group_name}")


def ensure_lambda_sg(lab: Lab) -> SecurityGroupView:
    """`lambda-sg`: the function's group; no inbound rules (the default outbound allows all)."""
    _ensure_group(lab, lab.names.lambda_sg, "Lambda function of the serverless app", 2)
    return require(find_security_group(lab, lab.names.lambda_sg), f"security group {lab.names.lambda_sg}")


def ensure_rds_sg(lab: Lab) -> SecurityGroupView:
    """`rds-sg`: the database's group, admitting MySQL from `lambda-sg`."""
    _ensure_group(lab, lab.names.rds_sg, "RDS database of the serverless app", 2)
    return _allow(lab, lab.names.rds_sg, MYSQL, lab.names.lambda_sg, f"MySQL from {lab.names.lambda_sg}", 2)


def allow_rds_sg_self(lab: Lab) -> SecurityGroupView:
    """Module 3: let `rds-sg` admit MySQL from itself.

    Step 2.7 puts RDS Proxy into `rds-sg`, the database's own group. The proxy then connects to
    the database as a member of `rds-sg`, but `rds-sg` only admits `lambda-sg`, so on real AWS
    the proxy's target never becomes AVAILABLE. The module's text does not add this rule; a
    self-referencing rule is the smallest fix (no new group, nothing opened to anyone else).
    """
    return _allow(lab, lab.names.rds_sg, MYSQL, lab.names.rds_sg, "MySQL from RDS Proxy (also in this group)", 3)


def _rds_sg_self_rule(lab: Lab) -> dict[str, Any] | None:
    """The inbound rule of `rds-sg` that admits MySQL from `rds-sg` itself (a SecurityGroupRule)."""
    group = raw_group(lab, lab.names.rds_sg)
    if group is None:
        return None
    rules = ec2_client(lab).describe_security_group_rules(
        Filters=ec2_filters({"group-id": group["GroupId"]}))["SecurityGroupRules"]
    return next((r for r in rules if not r["IsEgress"] and r["IpProtocol"] == "tcp" and r.get("FromPort") == MYSQL
                 and r.get("ReferencedGroupInfo", {}).get("GroupId") == group["GroupId"]), None)


def find_rds_sg_self_rule(lab: Lab) -> SecurityGroupRuleView | None:
    """The rule `allow_rds_sg_self` adds, with its id (cleanup checks the rule's own lab tags)."""
    rule = _rds_sg_self_rule(lab)
    if rule is None:
        return None
    return SecurityGroupRuleView(group=lab.names.rds_sg, id=rule["SecurityGroupRuleId"],
                                 rule=f"tcp/{MYSQL} from {lab.names.rds_sg}")


def revoke_rds_sg_self(lab: Lab) -> bool:
    """Undo `allow_rds_sg_self` (Module 3 cleanup): `rds-sg` admits `lambda-sg` only again."""
    rule = _rds_sg_self_rule(lab)
    if rule is None:
        return False
    ec2_client(lab).revoke_security_group_ingress(GroupId=rule["GroupId"],
                                                  SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    return True


def ensure_secret_sg(lab: Lab) -> SecurityGroupView:
    """Module 3 Step 1.10-12: `secret-sg` for the Secrets Manager endpoint, admitting HTTPS from `lambda-sg`."""
    _ensure_group(lab, lab.names.secret_sg, "Secrets Manager VPC endpoint", 3)
    return _allow(lab, lab.names.secret_sg, HTTPS, lab.names.lambda_sg, f"HTTPS from {lab.names.lambda_sg}", 3)


def delete_group(lab: Lab, group: dict[str, Any]) -> None:
    """Revoke every rule that names the group (AWS refuses to delete a referenced group), then delete it."""
    target = group["GroupId"]
    ec2 = ec2_client(lab)
    groups = [g["GroupId"] for g in vpc_groups(lab, group["VpcId"])]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": groups}])["SecurityGroupRules"]
    for rule in rules:
        if not rule["IsEgress"] and rule.get("ReferencedGroupInfo", {}).get("GroupId") == target:
            ec2.revoke_security_group_ingress(GroupId=rule["GroupId"],
                                              SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    # Network interfaces of deleted functions, databases and endpoints are released late on AWS.
    retry_while(lab, lambda: ec2.delete_security_group(GroupId=target), "DependencyViolation",
                timeout=eni_timeout(lab), what=f"보안 그룹 {group['GroupName']} 삭제",
                usual="Lambda 함수를 지운 뒤 최대 40분",
                doing="Lambda·RDS·엔드포인트가 쓰던 네트워크 인터페이스(ENI)가 해제되기를 기다리는 중")


def delete_security_group(lab: Lab, name: str) -> bool:
    """Delete the security group `name` (and the rules that name it); False when it was already gone."""
    group = raw_group(lab, name)
    if group is None:
        return False
    delete_group(lab, group)
    return True
