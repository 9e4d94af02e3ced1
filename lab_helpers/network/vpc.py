"""Module 2's VPC shell: the VPC with its DNS attributes (and Module 3 Step 1.8-9, DNS hostnames), the internet
gateway, the route table of cloud9-subnet-a; and deleting the whole VPC.
"""
from __future__ import annotations

from typing import Any, TypedDict

from ..core import ownership
from ..core.config import Lab
from ..core.waiting import require
from .endpoint import delete_endpoints
from .lookups import ec2_client, ec2_filters, name_of, raw_vpc, tag_spec, vpc_groups, vpc_id
from .security_groups import delete_group
from .subnets import delete_subnet, find_subnets


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


class RouteTableView(TypedDict):
    """The route table as `find_route_table` shows it."""
    name: str
    id: str
    default_route: str | None  # the target (the internet gateway's id) of 0.0.0.0/0, None without that route
    subnets: list[str]  # the associated subnets, by name when they are the lab's


def _dns_attribute(lab: Lab, vpc: str, attribute: str) -> bool:
    key = attribute[0].upper() + attribute[1:]
    value: bool = ec2_client(lab).describe_vpc_attribute(VpcId=vpc, Attribute=attribute)[key]["Value"]
    return value


def find_vpc(lab: Lab) -> VpcView | None:
    """The lab's VPC (found by its Name tag) with its two DNS attributes, or None.

        >>> network.find_vpc(lab)["dns_hostnames"]  # True: the baseline turns it on
    """
    vpc = raw_vpc(lab)
    if vpc is None:
        return None
    return VpcView(name=lab.names.vpc, id=vpc["VpcId"], cidr=vpc["CidrBlock"], state=vpc["State"],
                   dns_support=_dns_attribute(lab, vpc["VpcId"], "enableDnsSupport"),
                   dns_hostnames=_dns_attribute(lab, vpc["VpcId"], "enableDnsHostnames"))


def ensure_vpc(lab: Lab) -> VpcView:
    """The VPC, created with DNS support and DNS hostnames on, as the workshop's CloudFormation stack does."""
    found = raw_vpc(lab)
    if found is not None:
        ownership.require_lab("VPC", lab.names.vpc, ownership.ec2_tagged(lab, found))
    else:
        ec2 = ec2_client(lab)
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
        ec2_client(lab).modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    return DnsHostnamesView(vpc=lab.names.vpc, id=vpc, dns_hostnames=True, changed=changed)


def delete_vpc(lab: Lab) -> bool:
    """Delete the VPC and what is inside it: endpoints, security groups, subnets, route tables, gateway."""
    vpc = raw_vpc(lab)
    if vpc is None:
        return False
    vpc = vpc["VpcId"]
    delete_endpoints(lab, vpc)
    for group in vpc_groups(lab, vpc):
        if group["GroupName"] != "default":
            delete_group(lab, group)
    for subnet in ec2_client(lab).describe_subnets(Filters=ec2_filters({"vpc-id": vpc}))["Subnets"]:
        delete_subnet(lab, subnet["SubnetId"], name_of(subnet))
    for table in ec2_client(lab).describe_route_tables(Filters=ec2_filters({"vpc-id": vpc}))["RouteTables"]:
        if not any(a.get("Main") for a in table["Associations"]):
            _delete_route_table(lab, table)
    gateways = ec2_client(lab).describe_internet_gateways(
        Filters=ec2_filters({"attachment.vpc-id": vpc}))["InternetGateways"]
    for gateway in gateways:
        _delete_gateway(lab, gateway)
    ec2_client(lab).delete_vpc(VpcId=vpc)
    return True


def _raw_gateway(lab: Lab) -> dict[str, Any] | None:
    gateways = ec2_client(lab).describe_internet_gateways(
        Filters=ec2_filters({"tag:Name": lab.names.internet_gateway}))["InternetGateways"]
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
    ec2 = ec2_client(lab)
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
        ec2_client(lab).detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"],
                                                VpcId=attachment["VpcId"])
    ec2_client(lab).delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])


def delete_internet_gateway(lab: Lab) -> bool:
    """Detach the internet gateway from its VPC and delete it; False when it was already gone."""
    gateway = _raw_gateway(lab)
    if gateway is None:
        return False
    _delete_gateway(lab, gateway)
    return True


def _raw_route_table(lab: Lab) -> dict[str, Any] | None:
    tables = ec2_client(lab).describe_route_tables(
        Filters=ec2_filters({"tag:Name": lab.names.route_table}))["RouteTables"]
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
    ec2 = ec2_client(lab)
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
        ec2_client(lab).disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    ec2_client(lab).delete_route_table(RouteTableId=table["RouteTableId"])


def delete_route_table(lab: Lab) -> bool:
    """Disassociate the route table from its subnets and delete it; False when it was already gone."""
    table = _raw_route_table(lab)
    if table is None:
        return False
    _delete_route_table(lab, table)
    return True
