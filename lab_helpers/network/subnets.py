"""The module's six private subnets and cloud9-subnet-a, by name, in the two zones `zones` chooses.
"""
from __future__ import annotations

from typing import TypedDict

from ..core.config import Lab
from ..core.waiting import require, retry_while
from .lookups import ec2_client, eni_timeout, raw_subnets, raw_vpc, tag_spec, vpc_id
from .zones import zones_by_suffix


class SubnetView(TypedDict):
    """One subnet as `find_subnets` shows it."""
    name: str
    id: str
    az: str
    cidr: str
    public: bool  # MapPublicIpOnLaunch: only cloud9-subnet-a
    state: str


def find_subnets(lab: Lab) -> list[SubnetView]:
    """The lab's subnets that exist, in the order of config.Names.subnets.

        >>> [s["name"] for s in network.find_subnets(lab)]  # ['lambda-subnet-a', 'lambda-subnet-c', ...]
    """
    vpc = raw_vpc(lab)
    found = raw_subnets(lab, vpc["VpcId"]) if vpc else {}
    return [SubnetView(name=s.name, id=found[s.name]["SubnetId"], az=found[s.name]["AvailabilityZone"],
                       cidr=found[s.name]["CidrBlock"], public=found[s.name]["MapPublicIpOnLaunch"],
                       state=found[s.name]["State"])
            for s in lab.names.subnets if s.name in found]


def ensure_subnets(lab: Lab) -> list[SubnetView]:
    """The seven subnets in the lab's two AZs (`availability_zones`: the "-a" subnets in the first,
    the "-c" subnets in the second); cloud9-subnet-a gives its instances public IPs."""
    vpc = vpc_id(lab)
    ec2 = ec2_client(lab)
    existing = raw_subnets(lab, vpc)
    if all(subnet.name in existing for subnet in lab.names.subnets):
        return find_subnets(lab)
    zones = zones_by_suffix(lab, existing)
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


def delete_subnet(lab: Lab, subnet: str, name: str | None) -> None:
    # On AWS, the network interfaces of a deleted Lambda function or database are released
    # minutes later; until then the subnet reports DependencyViolation.
    retry_while(lab, lambda: ec2_client(lab).delete_subnet(SubnetId=subnet), "DependencyViolation",
                timeout=eni_timeout(lab), what=f"서브넷 {name or subnet} 삭제",
                usual="Lambda 함수를 지운 뒤 최대 40분",
                doing="Lambda·RDS 가 쓰던 네트워크 인터페이스(ENI)가 해제되기를 기다리는 중")


def delete_subnets(lab: Lab) -> bool:
    """Delete the lab's subnets; False when none was left."""
    subnets = find_subnets(lab)
    for subnet in subnets:
        delete_subnet(lab, subnet["id"], subnet["name"])
    return bool(subnets)
