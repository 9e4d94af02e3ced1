"""EC2 in moto, for a function's network path and the VPC rules: subnets and their zones, interface endpoints,
security group rules, route tables, a VPC's DNS attributes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .contract import ACCOUNT, assumption


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    cidr: str


@dataclass(frozen=True)
class InterfaceEndpoint:
    service_name: str
    private_dns: bool
    state: str
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class IngressRule:
    protocol: str  # "-1" for all
    from_port: int | None
    to_port: int | None
    source_group_ids: tuple[str, ...]
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class RouteTable:
    associated_subnets: tuple[str, ...]
    main: bool
    default_route_to_nat: bool  # 0.0.0.0/0 goes to a NAT gateway


def _ec2(region: str) -> Any:  # moto's EC2Backend
    from moto.ec2.models import ec2_backends

    with assumption("ec2_backends[account][region] is the region's EC2 backend"):
        return ec2_backends[ACCOUNT][region]


def subnets(region: str, ids: tuple[str, ...]) -> list[Subnet]:
    """The subnets of these ids (those that exist)."""
    ec2 = _ec2(region)
    with assumption("EC2Backend.subnets maps zones to {id: Subnet} with vpc_id and cidr_block"):
        return [Subnet(s.id, s.vpc_id, s.cidr_block) for zone in ec2.subnets.values() for s in zone.values()
                if s.id in ids]


def interface_endpoints(region: str, vpc_id: str) -> list[InterfaceEndpoint]:
    """The VPC's interface endpoints."""
    ec2 = _ec2(region)
    with assumption("EC2Backend.vpc_end_points holds VPCEndPoint with vpc_id, service_name, private_dns_enabled, "
                    "vpc_endpoint_type, state and security_group_ids"):
        return [InterfaceEndpoint(e.service_name, bool(e.private_dns_enabled), e.state,
                                  tuple(e.security_group_ids or ()))
                for e in ec2.vpc_end_points.values()
                if e.vpc_id == vpc_id and str(e.vpc_endpoint_type).lower() == "interface"]


def ingress_rules(region: str, group_id: str) -> list[IngressRule]:
    """A security group's inbound rules (none when the group does not exist)."""
    ec2 = _ec2(region)
    with assumption("SecurityGroup.ingress_rules with ip_protocol, from_port, to_port, source_group, ip_range"):
        group = ec2.get_security_group_from_id(group_id)
        if group is None:
            return []
        return [IngressRule(str(r.ip_protocol), r.from_port, r.to_port,
                            tuple(g for g in [(r.source_group or {}).get("GroupId")] if g),
                            tuple(c for c in [(r.ip_range or {}).get("CidrIp")] if c))
                for r in group.ingress_rules]


def route_tables(region: str, vpc_id: str) -> list[RouteTable]:
    """The VPC's route tables: which subnets each serves, and whether 0.0.0.0/0 goes to a NAT gateway."""
    ec2 = _ec2(region)
    with assumption("EC2Backend.route_tables holds RouteTable with associations (dicts), main_association_id "
                    "and routes (Route with destination_cidr_block and nat_gateway)"):
        return [RouteTable(tuple(a["SubnetId"] for a in t.associations if a.get("SubnetId")),
                           bool(t.main_association_id),
                           any(r.destination_cidr_block == "0.0.0.0/0" and r.nat_gateway for r in t.routes))
                for t in ec2.route_tables.values() if t.vpc_id == vpc_id]




def subnet_zones(region: str, ids: tuple[str, ...]) -> dict[str, str]:
    """Availability Zone of each of these subnets that exists."""
    ec2 = _ec2(region)
    with assumption("EC2Backend.subnets maps zones to {id: Subnet} with availability_zone"):
        return {s.id: s.availability_zone for zone in ec2.subnets.values() for s in zone.values() if s.id in ids}


def vpc_dns(region: str, vpc_id: str) -> tuple[bool, bool] | None:
    """(enableDnsSupport, enableDnsHostnames) of the VPC, or None when it does not exist."""
    from moto.ec2.exceptions import InvalidVPCIdError

    ec2 = _ec2(region)
    with assumption("EC2Backend.get_vpc(id) -> VPC with enable_dns_support and enable_dns_hostnames"):
        try:
            vpc = ec2.get_vpc(vpc_id)
        except InvalidVPCIdError:
            return None
        return (str(vpc.enable_dns_support).lower() == "true", str(vpc.enable_dns_hostnames).lower() == "true")
