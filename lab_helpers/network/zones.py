"""Which two availability zones the lab's subnets use: zones of the region where this account can use the zone,
RDS offers the lab's DB instance class and the Secrets Manager endpoint service is offered (AZ suffixes differ
between regions and even between accounts).
"""
from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from ..core.config import Lab
from ..core.waiting import error_code
from .lookups import ZONES_NEEDED, ec2_client, raw_subnets, raw_vpc, secrets_service

# The usable zones, found once per Lab (by its EC2 client: config.Lab has no field for them).
_USABLE_ZONES: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def _region_zones(lab: Lab) -> list[str]:
    """The region's availability zones this account can use: available, a real AZ (not a Local
    Zone or Wavelength Zone), and in a zone group that needs no opt-in or is opted in."""
    zones = ec2_client(lab).describe_availability_zones()["AvailabilityZones"]
    return sorted(z["ZoneName"] for z in zones
                  if z.get("State") == "available" and z.get("ZoneType", "availability-zone") == "availability-zone"
                  and z.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in"))


def _endpoint_zones(lab: Lab) -> set[str]:
    """Where the Secrets Manager endpoint service is offered (none when the region lacks it)."""
    try:
        found = ec2_client(lab).describe_vpc_endpoint_services(ServiceNames=[secrets_service(lab)])["ServiceDetails"]
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
    client = ec2_client(lab)
    if client in _USABLE_ZONES:
        return _USABLE_ZONES[client]
    region_zones, endpoint_zones, rds_zones = _region_zones(lab), _endpoint_zones(lab), _rds_zones(lab)
    usable = [z for z in region_zones if z in endpoint_zones and (rds_zones is None or z in rds_zones)]
    if len(usable) < ZONES_NEEDED:
        names = lab.names

        def listed(zones: Iterable[str]) -> str:
            return ", ".join(sorted(zones)) or "없음"

        raise RuntimeError(
            f"{lab.region} 리전에서 이 실습에 쓸 수 있는 가용 영역이 {len(usable)}개뿐입니다 ({listed(usable)}). "
            f"DB 서브넷 그룹과 RDS Proxy 에는 서로 다른 가용 영역 2개가 필요합니다.\n"
            f"- 이 계정이 쓸 수 있는 가용 영역: {listed(region_zones)}\n"
            f"- Secrets Manager 엔드포인트({secrets_service(lab)})를 제공하는 곳: {listed(endpoint_zones)}\n"
            f"- RDS 가 {names.db_instance_class} ({names.db_engine} {names.db_engine_version})을 제공하는 곳: "
            f"{'확인할 수 없음' if rds_zones is None else listed(rds_zones)}\n"
            f"다른 리전을 쓰거나(예: ap-northeast-2), 이 리전에서 제공되는 인스턴스 클래스로 "
            f"config.Names 의 db_instance_class 를 바꾸세요.")
    _USABLE_ZONES[client] = usable
    return usable


def _zone_suffixes(lab: Lab) -> list[str]:
    """The module's AZ suffixes, in the order of config.Names.subnets: ["a", "c"]."""
    return list(dict.fromkeys(s.az_suffix for s in lab.names.subnets))


def zones_by_suffix(lab: Lab, existing: dict[str, dict[str, Any]]) -> dict[str, str]:
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
    vpc = raw_vpc(lab)
    zones = zones_by_suffix(lab, raw_subnets(lab, vpc["VpcId"]) if vpc else {})
    return [zones[suffix] for suffix in _zone_suffixes(lab)]


def zone_for(lab: Lab, suffix: str) -> str:
    """The AZ of the module's suffix ("a" or "c"), as `availability_zones` has them."""
    return dict(zip(_zone_suffixes(lab), availability_zones(lab), strict=True))[suffix]
