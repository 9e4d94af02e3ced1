"""The VPC of the lab: what Module 2's CloudFormation stack creates, and what Module 3 adds to it.

Module 2 (the baseline): VPC `serverless-app` with DNS support and DNS hostnames on, an internet
gateway, a route table that sends 0.0.0.0/0 to it from `cloud9-subnet-a` only, the six private
subnets, `lambda-sg` (no inbound) and `rds-sg` (MySQL from `lambda-sg`).
Module 3: DNS hostnames (Step 1.8-9), `secret-sg` (HTTPS from `lambda-sg`), the Secrets Manager
interface endpoint, and the rule that lets RDS Proxy (which also sits in `rds-sg`) reach the database.

Everything is found again by its Name tag (security groups by group name) inside the lab's VPC.

The subnets keep the module's names (`lambda-subnet-a`, `lambda-subnet-c`, ...), but their two
availability zones are discovered (`availability_zones`): zones of the region where RDS offers the
lab's DB instance class and the Secrets Manager endpoint service is offered, so the lesson runs in
any region (AZ suffixes differ between regions and even between accounts).
"""
from __future__ import annotations

import uuid
import weakref
from typing import Any, TypedDict

from botocore.exceptions import ClientError

from . import ownership
from .config import Lab
from .waiting import ABSENT, error_code, require, retry_while, wait_for

MYSQL = 3306
HTTPS = 443
ZONES_NEEDED = 2  # a DB subnet group and RDS Proxy need subnets in two availability zones
# Lambda releases a deleted function's network interfaces up to ~40 minutes later; until then the
# subnets and security groups they sit in cannot be deleted (DependencyViolation).
ENI_RELEASE_S = 45 * 60.0


class VpcView(TypedDict):
    """The VPC as `find_vpc` shows it."""
    name: str
    id: str
    cidr: str
    state: str  # pending, available
    dns_support: bool  # enableDnsSupport
    dns_hostnames: bool  # enableDnsHostnames: the endpoint's private DNS name needs it


class DnsHostnamesView(TypedDict):
    """What `enable_dns_hostnames` did."""
    vpc: str  # the VPC's name
    id: str
    dns_hostnames: bool
    changed: bool  # False when it was already on


class InternetGatewayView(TypedDict):
    """The internet gateway as `find_internet_gateway` shows it."""
    name: str
    id: str
    attached_to: str | None  # the VPC id, None while detached


class SubnetView(TypedDict):
    """One subnet as `find_subnets` shows it."""
    name: str
    id: str
    az: str
    cidr: str
    public: bool  # MapPublicIpOnLaunch: only cloud9-subnet-a
    state: str


class RouteTableView(TypedDict):
    """The route table as `find_route_table` shows it."""
    name: str
    id: str
    default_route: str | None  # the target (the internet gateway's id) of 0.0.0.0/0, None without that route
    subnets: list[str]  # the associated subnets, by name when they are the lab's


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


class VpcEndpointView(TypedDict):
    """The Secrets Manager interface endpoint as `find_secrets_endpoint` shows it."""
    service: str  # com.amazonaws.<region>.secretsmanager
    id: str
    type: str  # Interface
    state: str  # pending, available, ... (lower case)
    private_dns: bool
    subnets: list[str]  # by name when they are the lab's
    security_groups: list[str]  # by name


def _ec2(lab: Lab):
    return lab.client("ec2")


def tag_spec(lab: Lab, resource_type: str, module: int, name: str | None = None) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": lab.tags(module, name)}]


def _name_of(item: dict[str, Any]) -> str | None:
    return next((t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"), None)


def _filters(values: dict[str, str | None]) -> list[dict[str, Any]]:
    """EC2 filters from {"vpc-id": ..., "tag:Name": ...}; None values are left out."""
    return [{"Name": key, "Values": [value]} for key, value in values.items() if value is not None]


# ---------------------------------------------------------------- VPC

def _raw_vpc(lab: Lab) -> dict[str, Any] | None:
    vpcs = _ec2(lab).describe_vpcs(Filters=_filters({"tag:Name": lab.names.vpc}))["Vpcs"]
    return vpcs[0] if vpcs else None


def vpc_id(lab: Lab) -> str:
    """The VPC's id; a LookupError when it does not exist yet."""
    return require(_raw_vpc(lab), f"VPC {lab.names.vpc}")["VpcId"]


def _dns_attribute(lab: Lab, vpc: str, attribute: str) -> bool:
    key = attribute[0].upper() + attribute[1:]
    return _ec2(lab).describe_vpc_attribute(VpcId=vpc, Attribute=attribute)[key]["Value"]


def find_vpc(lab: Lab) -> VpcView | None:
    """The lab's VPC (found by its Name tag) with its two DNS attributes, or None.

        >>> network.find_vpc(lab)["dns_hostnames"]  # True: the baseline turns it on
    """
    vpc = _raw_vpc(lab)
    if vpc is None:
        return None
    return VpcView(name=lab.names.vpc, id=vpc["VpcId"], cidr=vpc["CidrBlock"], state=vpc["State"],
                   dns_support=_dns_attribute(lab, vpc["VpcId"], "enableDnsSupport"),
                   dns_hostnames=_dns_attribute(lab, vpc["VpcId"], "enableDnsHostnames"))


def ensure_vpc(lab: Lab) -> VpcView:
    """The VPC, created with DNS support and DNS hostnames on, as the workshop's CloudFormation stack does."""
    found = _raw_vpc(lab)
    if found is not None:
        ownership.require_lab("VPC", lab.names.vpc, ownership.ec2_tagged(lab, found))
    else:
        ec2 = _ec2(lab)
        vpc = ec2.create_vpc(CidrBlock=lab.names.vpc_cidr,
                             TagSpecifications=tag_spec(lab, "vpc", 2, lab.names.vpc))["Vpc"]["VpcId"]
        ec2.get_waiter("vpc_available").wait(VpcIds=[vpc])
        # ModifyVpcAttribute takes one attribute per call.
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    return require(find_vpc(lab), f"VPC {lab.names.vpc}")


def enable_dns_hostnames(lab: Lab) -> DnsHostnamesView:
    """Module 3 Step 1.8-9: turn on DNS hostnames, which the endpoint's private DNS name needs.

    The baseline VPC already has it on; then this changes nothing.

        >>> network.enable_dns_hostnames(lab)["changed"]  # False on the baseline VPC
    """
    vpc = vpc_id(lab)
    changed = not _dns_attribute(lab, vpc, "enableDnsHostnames")
    if changed:
        _ec2(lab).modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    return DnsHostnamesView(vpc=lab.names.vpc, id=vpc, dns_hostnames=True, changed=changed)


def delete_vpc(lab: Lab) -> bool:
    """Delete the VPC and what is inside it: endpoints, security groups, subnets, route tables, gateway."""
    vpc = _raw_vpc(lab)
    if vpc is None:
        return False
    vpc = vpc["VpcId"]
    _delete_endpoints(lab, vpc)
    for group in _groups(lab, vpc):
        if group["GroupName"] != "default":
            _delete_group(lab, group)
    for subnet in _ec2(lab).describe_subnets(Filters=_filters({"vpc-id": vpc}))["Subnets"]:
        _delete_subnet(lab, subnet["SubnetId"], _name_of(subnet))
    for table in _ec2(lab).describe_route_tables(Filters=_filters({"vpc-id": vpc}))["RouteTables"]:
        if not any(a.get("Main") for a in table["Associations"]):
            _delete_route_table(lab, table)
    gateways = _ec2(lab).describe_internet_gateways(Filters=_filters({"attachment.vpc-id": vpc}))["InternetGateways"]
    for gateway in gateways:
        _delete_gateway(lab, gateway)
    _ec2(lab).delete_vpc(VpcId=vpc)
    return True


# ---------------------------------------------------------------- internet gateway

def _raw_gateway(lab: Lab) -> dict[str, Any] | None:
    gateways = _ec2(lab).describe_internet_gateways(
        Filters=_filters({"tag:Name": lab.names.internet_gateway}))["InternetGateways"]
    return gateways[0] if gateways else None


def find_internet_gateway(lab: Lab) -> InternetGatewayView | None:
    """The internet gateway (by its Name tag) and the VPC it is attached to, or None."""
    gateway = _raw_gateway(lab)
    if gateway is None:
        return None
    attached = [a["VpcId"] for a in gateway["Attachments"] if a["State"] in ("attached", "available")]
    return InternetGatewayView(name=lab.names.internet_gateway, id=gateway["InternetGatewayId"],
                               attached_to=attached[0] if attached else None)


def ensure_internet_gateway(lab: Lab) -> InternetGatewayView:
    """The internet gateway, attached to the VPC (only cloud9-subnet-a routes to it)."""
    vpc = vpc_id(lab)
    ec2 = _ec2(lab)
    gateway = find_internet_gateway(lab)
    if gateway is not None:
        ownership.require_lab("인터넷 게이트웨이", lab.names.internet_gateway, ownership.ec2_tagged(lab, gateway))
    if gateway is None:
        created = ec2.create_internet_gateway(
            TagSpecifications=tag_spec(lab, "internet-gateway", 2, lab.names.internet_gateway))
        gateway = InternetGatewayView(name=lab.names.internet_gateway,
                                      id=created["InternetGateway"]["InternetGatewayId"], attached_to=None)
    if gateway["attached_to"] != vpc:
        ec2.attach_internet_gateway(InternetGatewayId=gateway["id"], VpcId=vpc)
    return require(find_internet_gateway(lab), f"internet gateway {lab.names.internet_gateway}")


def _delete_gateway(lab: Lab, gateway: dict[str, Any]) -> None:
    for attachment in gateway["Attachments"]:
        _ec2(lab).detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=attachment["VpcId"])
    _ec2(lab).delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])


def delete_internet_gateway(lab: Lab) -> bool:
    """Detach the internet gateway from its VPC and delete it; False when it was already gone."""
    gateway = _raw_gateway(lab)
    if gateway is None:
        return False
    _delete_gateway(lab, gateway)
    return True


# ---------------------------------------------------------------- availability zones

# The usable zones, found once per Lab (by its EC2 client: config.Lab has no field for them).
_USABLE_ZONES: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def _region_zones(lab: Lab) -> list[str]:
    """The region's availability zones this account can use: available, a real AZ (not a Local
    Zone or Wavelength Zone), and in a zone group that needs no opt-in or is opted in."""
    zones = _ec2(lab).describe_availability_zones()["AvailabilityZones"]
    return sorted(z["ZoneName"] for z in zones
                  if z.get("State") == "available" and z.get("ZoneType", "availability-zone") == "availability-zone"
                  and z.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in"))


def _endpoint_zones(lab: Lab) -> set[str]:
    """Where the Secrets Manager endpoint service is offered (none when the region lacks it)."""
    try:
        found = _ec2(lab).describe_vpc_endpoint_services(ServiceNames=[_secrets_service(lab)])["ServiceDetails"]
    except ClientError as e:
        if error_code(e) == "InvalidServiceName":
            return set()
        raise
    return {zone for service in found for zone in service.get("AvailabilityZones", [])}


def _rds_zones(lab: Lab) -> set[str] | None:
    """Where RDS offers the lab's instance class for its engine version, in a VPC.

    None on the local target when the answer is empty: the local cloud (moto) keeps no orderable
    options for MySQL, so it cannot tell; every zone counts there. On AWS an empty answer means
    the region does not offer the class, which the caller reports.
    """
    names = lab.names
    version = names.db_engine_version
    zones: set[str] = set()
    pages = lab.client("rds").get_paginator("describe_orderable_db_instance_options").paginate(
        Engine=names.db_engine, DBInstanceClass=names.db_instance_class, Vpc=True)
    for page in pages:
        for option in page["OrderableDBInstanceOptions"]:
            # EngineVersion is a full version (8.0.40); the lab asks for a major one (8.0)
            if option["EngineVersion"] == version or option["EngineVersion"].startswith(version + "."):
                zones.update(z["Name"] for z in option.get("AvailabilityZones", []))
    if not zones and lab.target == "local":
        return None
    return zones


def usable_availability_zones(lab: Lab) -> list[str]:
    """The region's zones (in name order) where the lab can put its subnets: where this account can
    use the zone, RDS offers the lab's DB instance class, and the Secrets Manager endpoint service
    is offered. A RuntimeError saying why when there are fewer than two.

        >>> network.usable_availability_zones(lab)  # ['ap-northeast-2a', 'ap-northeast-2b', ...]
    """
    client = _ec2(lab)
    if client in _USABLE_ZONES:
        return _USABLE_ZONES[client]
    region_zones, endpoint_zones, rds_zones = _region_zones(lab), _endpoint_zones(lab), _rds_zones(lab)
    usable = [z for z in region_zones if z in endpoint_zones and (rds_zones is None or z in rds_zones)]
    if len(usable) < ZONES_NEEDED:
        names = lab.names

        def listed(zones) -> str:
            return ", ".join(sorted(zones)) or "없음"

        raise RuntimeError(
            f"{lab.region} 리전에서 이 실습에 쓸 수 있는 가용 영역이 {len(usable)}개뿐입니다 ({listed(usable)}). "
            f"DB 서브넷 그룹과 RDS Proxy 에는 서로 다른 가용 영역 2개가 필요합니다.\n"
            f"- 이 계정이 쓸 수 있는 가용 영역: {listed(region_zones)}\n"
            f"- Secrets Manager 엔드포인트({_secrets_service(lab)})를 제공하는 곳: {listed(endpoint_zones)}\n"
            f"- RDS 가 {names.db_instance_class} ({names.db_engine} {names.db_engine_version})을 제공하는 곳: "
            f"{'확인할 수 없음' if rds_zones is None else listed(rds_zones)}\n"
            f"다른 리전을 쓰거나(예: ap-northeast-2), 이 리전에서 제공되는 인스턴스 클래스로 "
            f"config.Names 의 db_instance_class 를 바꾸세요.")
    _USABLE_ZONES[client] = usable
    return usable


def _zone_suffixes(lab: Lab) -> list[str]:
    """The module's AZ suffixes, in the order of config.Names.subnets: ["a", "c"]."""
    return list(dict.fromkeys(s.az_suffix for s in lab.names.subnets))


def _zones_by_suffix(lab: Lab, existing: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The AZ of each module suffix: where the lab's subnets of that suffix already are, else chosen
    from the usable zones: the module's own zone (region + suffix) when usable and still free, then
    the first free ones in name order. (In ap-northeast-2 that keeps the module's a and c; where
    region + "c" is missing, e.g. some accounts' us-west-1, the next usable zone is taken.)"""
    zones: dict[str, str] = {}
    for subnet in lab.names.subnets:
        if subnet.name in existing:
            zones.setdefault(subnet.az_suffix, existing[subnet.name]["AvailabilityZone"])
    missing = [suffix for suffix in _zone_suffixes(lab) if suffix not in zones]
    if not missing:
        return zones
    usable = usable_availability_zones(lab)
    for suffix in missing:
        own = lab.region + suffix
        if own in usable and own not in zones.values():
            zones[suffix] = own
    for suffix in missing:
        if suffix not in zones:
            free = [zone for zone in usable if zone not in zones.values()]
            if not free:
                raise RuntimeError(f"서브넷 {suffix} 쪽에 쓸 가용 영역이 남지 않았습니다: 이미 있는 서브넷의 가용 영역 "
                                   f"{', '.join(sorted(zones.values()))} 외에 쓸 수 있는 곳이 없습니다. "
                                   f"delete_subnets 로 서브넷을 지우고 다시 만드세요.")
            zones[suffix] = free[0]
    return zones


def availability_zones(lab: Lab) -> list[str]:
    """The lab's two AZs, in the order of the module's suffixes ("a", "c"): where the lab's subnets
    already are, else discovered (`usable_availability_zones`).

        >>> network.availability_zones(lab)  # ['ap-northeast-2a', 'ap-northeast-2c']
    """
    vpc = _raw_vpc(lab)
    zones = _zones_by_suffix(lab, _raw_subnets(lab, vpc["VpcId"]) if vpc else {})
    return [zones[suffix] for suffix in _zone_suffixes(lab)]


def zone_for(lab: Lab, suffix: str) -> str:
    """The AZ of the module's suffix ("a" or "c"), as `availability_zones` has them."""
    return dict(zip(_zone_suffixes(lab), availability_zones(lab), strict=True))[suffix]


# ---------------------------------------------------------------- subnets

def _raw_subnets(lab: Lab, vpc: str) -> dict[str, dict[str, Any]]:
    """The lab's subnets in the VPC, by Name tag."""
    subnets = _ec2(lab).describe_subnets(Filters=_filters({"vpc-id": vpc}))["Subnets"]
    wanted = {s.name for s in lab.names.subnets}
    return {_name_of(s): s for s in subnets if _name_of(s) in wanted}


def find_subnets(lab: Lab) -> list[SubnetView]:
    """The lab's subnets that exist, in the order of config.Names.subnets.

        >>> [s["name"] for s in network.find_subnets(lab)]  # ['lambda-subnet-a', 'lambda-subnet-c', ...]
    """
    vpc = _raw_vpc(lab)
    found = _raw_subnets(lab, vpc["VpcId"]) if vpc else {}
    return [SubnetView(name=s.name, id=found[s.name]["SubnetId"], az=found[s.name]["AvailabilityZone"],
                       cidr=found[s.name]["CidrBlock"], public=found[s.name]["MapPublicIpOnLaunch"],
                       state=found[s.name]["State"])
            for s in lab.names.subnets if s.name in found]


def ensure_subnets(lab: Lab) -> list[SubnetView]:
    """The seven subnets in the lab's two AZs (`availability_zones`: the "-a" subnets in the first,
    the "-c" subnets in the second); cloud9-subnet-a gives its instances public IPs."""
    vpc = vpc_id(lab)
    ec2 = _ec2(lab)
    existing = _raw_subnets(lab, vpc)
    if all(subnet.name in existing for subnet in lab.names.subnets):
        return find_subnets(lab)
    zones = _zones_by_suffix(lab, existing)
    for subnet in lab.names.subnets:
        if subnet.name in existing:
            continue
        created = ec2.create_subnet(VpcId=vpc, CidrBlock=subnet.cidr, AvailabilityZone=zones[subnet.az_suffix],
                                    TagSpecifications=tag_spec(lab, "subnet", 2, subnet.name))["Subnet"]["SubnetId"]
        if subnet.public:
            ec2.modify_subnet_attribute(SubnetId=created, MapPublicIpOnLaunch={"Value": True})
    return find_subnets(lab)


def subnet_ids(lab: Lab, tier: str) -> list[str]:
    """The ids of one tier's subnets ("lambda", "rds", "secret", "cloud9"), in config order.

        >>> network.subnet_ids(lab, "rds")  # ['subnet-...', 'subnet-...']: rds-subnet-a, rds-subnet-c
    """
    found = {s["name"]: s["id"] for s in find_subnets(lab)}
    return [require(found.get(name), f"subnet {name}") for name in lab.names.subnet_names(tier)]


def _eni_timeout(lab: Lab) -> float | None:
    return max(lab.poll_timeout, ENI_RELEASE_S) if lab.target == "aws" else None


def _delete_subnet(lab: Lab, subnet: str, name: str | None) -> None:
    # On AWS, the network interfaces of a deleted Lambda function or database are released
    # minutes later; until then the subnet reports DependencyViolation.
    retry_while(lab, lambda: _ec2(lab).delete_subnet(SubnetId=subnet), "DependencyViolation",
                timeout=_eni_timeout(lab), what=f"서브넷 {name or subnet} 삭제",
                usual="Lambda 함수를 지운 뒤 최대 40분",
                doing="Lambda·RDS 가 쓰던 네트워크 인터페이스(ENI)가 해제되기를 기다리는 중")


def delete_subnets(lab: Lab) -> bool:
    """Delete the lab's subnets; False when none was left."""
    subnets = find_subnets(lab)
    for subnet in subnets:
        _delete_subnet(lab, subnet["id"], subnet["name"])
    return bool(subnets)


# ---------------------------------------------------------------- route table

def _raw_route_table(lab: Lab) -> dict[str, Any] | None:
    tables = _ec2(lab).describe_route_tables(Filters=_filters({"tag:Name": lab.names.route_table}))["RouteTables"]
    return tables[0] if tables else None


def _public_subnet_ids(lab: Lab) -> list[str]:
    public = {s.name for s in lab.names.subnets if s.public}
    return [s["id"] for s in find_subnets(lab) if s["name"] in public]


def find_route_table(lab: Lab) -> RouteTableView | None:
    """The route table (by its Name tag): its default route and the subnets associated with it, or None."""
    table = _raw_route_table(lab)
    if table is None:
        return None
    names = {s["id"]: s["name"] for s in find_subnets(lab)}
    default = [r.get("GatewayId") for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    return RouteTableView(name=lab.names.route_table, id=table["RouteTableId"],
                          default_route=default[0] if default else None,
                          subnets=[names.get(a["SubnetId"], a["SubnetId"])
                                   for a in table["Associations"] if a.get("SubnetId")])


def ensure_route_table(lab: Lab) -> RouteTableView:
    """The route table with 0.0.0.0/0 to the internet gateway, associated with the public subnet only."""
    vpc = vpc_id(lab)
    gateway = require(find_internet_gateway(lab), f"internet gateway {lab.names.internet_gateway}")["id"]
    ec2 = _ec2(lab)
    table = _raw_route_table(lab) or ec2.create_route_table(
        VpcId=vpc, TagSpecifications=tag_spec(lab, "route-table", 2, lab.names.route_table))["RouteTable"]
    if not any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table["Routes"]):
        ec2.create_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    associated = {a.get("SubnetId") for a in table["Associations"]}
    for subnet in _public_subnet_ids(lab):
        if subnet not in associated:
            ec2.associate_route_table(RouteTableId=table["RouteTableId"], SubnetId=subnet)
    return require(find_route_table(lab), f"route table {lab.names.route_table}")


def _delete_route_table(lab: Lab, table: dict[str, Any]) -> None:
    for association in table["Associations"]:
        _ec2(lab).disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    _ec2(lab).delete_route_table(RouteTableId=table["RouteTableId"])


def delete_route_table(lab: Lab) -> bool:
    """Disassociate the route table from its subnets and delete it; False when it was already gone."""
    table = _raw_route_table(lab)
    if table is None:
        return False
    _delete_route_table(lab, table)
    return True


# ---------------------------------------------------------------- security groups

def _groups(lab: Lab, vpc: str, name: str | None = None) -> list[dict[str, Any]]:
    filters = _filters({"vpc-id": vpc, "group-name": name})
    return _ec2(lab).describe_security_groups(Filters=filters)["SecurityGroups"]


def _raw_group(lab: Lab, name: str) -> dict[str, Any] | None:
    vpc = _raw_vpc(lab)
    groups = _groups(lab, vpc["VpcId"], name) if vpc else []
    return groups[0] if groups else None


def security_group_id(lab: Lab, name: str) -> str:
    """The id of the security group `name` in the lab's VPC; a LookupError when it does not exist yet."""
    return require(_raw_group(lab, name), f"security group {name}")["GroupId"]


def _describe_rules(lab: Lab, group: dict[str, Any]) -> list[str]:
    """Inbound rules as text, e.g. "tcp/3306 from lambda-sg"."""
    names = {g["GroupId"]: g["GroupName"] for g in _groups(lab, group["VpcId"])}
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
    group = _raw_group(lab, name)
    if group is None:
        return None
    return SecurityGroupView(name=name, id=group["GroupId"], inbound=_describe_rules(lab, group))


def _ensure_group(lab: Lab, name: str, description: str, module: int) -> None:
    vpc = vpc_id(lab)
    found = _raw_group(lab, name)
    if found is not None:
        ownership.require_lab("보안 그룹", name, ownership.ec2_tagged(lab, found))
    else:
        _ec2(lab).create_security_group(GroupName=name, Description=description, VpcId=vpc,
                                        TagSpecifications=tag_spec(lab, "security-group", module, name))


def _allows(group: dict[str, Any], port: int, source: str) -> bool:
    return any(perm["IpProtocol"] == "tcp" and perm.get("FromPort") == port and perm.get("ToPort") == port
               and any(p["GroupId"] == source for p in perm.get("UserIdGroupPairs", []))
               for perm in group["IpPermissions"])


def _allow(lab: Lab, group_name: str, port: int, source_name: str, description: str,
           module: int) -> SecurityGroupView:
    """Ensure `group_name` admits TCP `port` from members of `source_name`."""
    group = require(_raw_group(lab, group_name), f"security group {group_name}")
    source = security_group_id(lab, source_name)
    if not _allows(group, port, source):
        _ec2(lab).authorize_security_group_ingress(
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
    group = _raw_group(lab, lab.names.rds_sg)
    if group is None:
        return None
    rules = _ec2(lab).describe_security_group_rules(
        Filters=_filters({"group-id": group["GroupId"]}))["SecurityGroupRules"]
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
    _ec2(lab).revoke_security_group_ingress(GroupId=rule["GroupId"], SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    return True


def ensure_secret_sg(lab: Lab) -> SecurityGroupView:
    """Module 3 Step 1.10-12: `secret-sg` for the Secrets Manager endpoint, admitting HTTPS from `lambda-sg`."""
    _ensure_group(lab, lab.names.secret_sg, "Secrets Manager VPC endpoint", 3)
    return _allow(lab, lab.names.secret_sg, HTTPS, lab.names.lambda_sg, f"HTTPS from {lab.names.lambda_sg}", 3)


def _delete_group(lab: Lab, group: dict[str, Any]) -> None:
    """Revoke every rule that names the group (AWS refuses to delete a referenced group), then delete it."""
    target = group["GroupId"]
    ec2 = _ec2(lab)
    groups = [g["GroupId"] for g in _groups(lab, group["VpcId"])]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": groups}])["SecurityGroupRules"]
    for rule in rules:
        if not rule["IsEgress"] and rule.get("ReferencedGroupInfo", {}).get("GroupId") == target:
            ec2.revoke_security_group_ingress(GroupId=rule["GroupId"],
                                              SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    # Network interfaces of deleted functions, databases and endpoints are released late on AWS.
    retry_while(lab, lambda: ec2.delete_security_group(GroupId=target), "DependencyViolation",
                timeout=_eni_timeout(lab), what=f"보안 그룹 {group['GroupName']} 삭제",
                usual="Lambda 함수를 지운 뒤 최대 40분",
                doing="Lambda·RDS·엔드포인트가 쓰던 네트워크 인터페이스(ENI)가 해제되기를 기다리는 중")


def delete_security_group(lab: Lab, name: str) -> bool:
    """Delete the security group `name` (and the rules that name it); False when it was already gone."""
    group = _raw_group(lab, name)
    if group is None:
        return False
    _delete_group(lab, group)
    return True


# ---------------------------------------------------------------- Secrets Manager interface endpoint

def _secrets_service(lab: Lab) -> str:
    return f"com.amazonaws.{lab.region}.secretsmanager"


def _raw_endpoints(lab: Lab, vpc: str, service: str | None = None,
                   gone: tuple[str, ...] = ("deleting", "deleted")) -> list[dict[str, Any]]:
    """The VPC's endpoints (of `service`) whose state is not in `gone`."""
    filters = _filters({"vpc-id": vpc, "service-name": service})
    endpoints = _ec2(lab).describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]
    return [e for e in endpoints if e["State"].lower() not in gone]


def _raw_secrets_endpoint(lab: Lab) -> dict[str, Any] | None:
    vpc = _raw_vpc(lab)
    endpoints = _raw_endpoints(lab, vpc["VpcId"], _secrets_service(lab)) if vpc else []
    return endpoints[0] if endpoints else None


def _endpoint_view(lab: Lab, endpoint: dict[str, Any]) -> VpcEndpointView:
    subnets = {s["id"]: s["name"] for s in find_subnets(lab)}
    return VpcEndpointView(service=endpoint["ServiceName"], id=endpoint["VpcEndpointId"],
                           type=endpoint["VpcEndpointType"], state=endpoint["State"].lower(),
                           private_dns=endpoint.get("PrivateDnsEnabled", False),
                           subnets=[subnets.get(s, s) for s in endpoint["SubnetIds"]],
                           security_groups=[g["GroupName"] for g in endpoint["Groups"]])


def find_secrets_endpoint(lab: Lab) -> VpcEndpointView | None:
    """The VPC's Secrets Manager endpoint (unless it is being deleted), or None.

        >>> network.find_secrets_endpoint(lab)["state"]  # 'available' once Step 1.17 is done
    """
    endpoint = _raw_secrets_endpoint(lab)
    return _endpoint_view(lab, endpoint) if endpoint else None


# DescribeVpcEndpoints' State (botocore's ec2 State), in lower case.
ENDPOINT_DOING = {
    "pending": "secret 서브넷마다 네트워크 인터페이스를 만들고 private DNS 이름을 연결하는 중",
    "pendingacceptance": "엔드포인트 서비스가 연결을 수락하기를 기다리는 중",
    "deleting": "엔드포인트와 그 네트워크 인터페이스를 삭제하는 중",
}
_RECREATE_ENDPOINT = ("엔드포인트를 지우고(network.delete_secrets_endpoint(lab)) 02_vpc_endpoint 노트북을 "
                      "다시 실행하세요.")
ENDPOINT_FAILED = {
    "failed": "엔드포인트를 만들지 못했습니다. secret 서브넷의 가용 영역에서 이 서비스가 제공되지 않거나, "
              "서브넷에 남은 IP 주소가 없거나, 같은 서비스의 private DNS 이름을 쓰는 엔드포인트가 VPC 에 이미 "
              "있을 수 있습니다. "
              + _RECREATE_ENDPOINT,
    "partial": "일부 secret 서브넷에만 엔드포인트가 만들어졌습니다 (그 가용 영역에 서비스가 없거나 IP 주소가 부족). "
               + _RECREATE_ENDPOINT,
    "rejected": "엔드포인트 서비스가 연결 요청을 거절했습니다. 서비스 이름이 맞는지 확인하고 " + _RECREATE_ENDPOINT,
    "expired": "연결 요청이 수락되지 않은 채 만료되었습니다. " + _RECREATE_ENDPOINT,
}


def _endpoint_state(endpoint: dict[str, Any]) -> str:
    return endpoint["State"].lower()


def _endpoint_failure(endpoint: dict[str, Any] | None) -> str | None:
    """The likely cause of a failed endpoint, with the error AWS recorded on it (LastError)."""
    cause = ENDPOINT_FAILED.get(_endpoint_state(endpoint)) if endpoint else None
    error = (endpoint or {}).get("LastError") or {}
    if cause and error:
        cause += f" (AWS: {error.get('Code')}: {error.get('Message')})"
    return cause


def ensure_secrets_endpoint(lab: Lab) -> VpcEndpointView:
    """Module 3 Step 1.13-17: the Secrets Manager interface endpoint in the secret subnets, with
    `secret-sg` and private DNS, so `secretsmanager.<region>.<dns suffix>` resolves to it inside
    the VPC (the Lambda subnets have no route to the internet). Waits until it is `available`
    (1-3 minutes on AWS), showing its progress; `failed` and the like stop the wait at once with
    the likely cause (`waiting.WaitFailed`)."""
    if find_secrets_endpoint(lab) is None:
        _ec2(lab).create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc_id(lab), ServiceName=_secrets_service(lab),
            SubnetIds=subnet_ids(lab, "secret"), SecurityGroupIds=[security_group_id(lab, lab.names.secret_sg)],
            PrivateDnsEnabled=True, TagSpecifications=tag_spec(lab, "vpc-endpoint", 3),
            ClientToken=str(uuid.uuid4()))  # the same token on botocore's retries: never a second endpoint
    # A new endpoint may take a moment to be listed: ABSENT is waited out, not a failure.
    endpoint = wait_for(lab, "Secrets Manager VPC 엔드포인트", lambda: _raw_secrets_endpoint(lab), _endpoint_state,
                        {"available"}, _endpoint_failure, usual="1–3분", doing=ENDPOINT_DOING)
    return _endpoint_view(lab, require(endpoint, "Secrets Manager VPC endpoint"))  # never None once available


def _endpoints_state(left: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({_endpoint_state(e) for e in left})) or ABSENT


def _delete_endpoints(lab: Lab, vpc: str, service: str | None = None) -> bool:
    ids = [e["VpcEndpointId"] for e in _raw_endpoints(lab, vpc, service)]
    if ids:
        _ec2(lab).delete_vpc_endpoints(VpcEndpointIds=ids)
    # Their network interfaces block the subnets and the security group until they are gone.
    wait_for(lab, "VPC 엔드포인트 삭제", lambda: _raw_endpoints(lab, vpc, service, gone=("deleted",)),
             _endpoints_state, {ABSENT}, usual="1–2분", doing=ENDPOINT_DOING)
    return bool(ids)


def delete_secrets_endpoint(lab: Lab) -> bool:
    """Delete the Secrets Manager endpoint and wait until it is gone; False when there was none."""
    vpc = _raw_vpc(lab)
    return _delete_endpoints(lab, vpc["VpcId"], _secrets_service(lab)) if vpc else False
