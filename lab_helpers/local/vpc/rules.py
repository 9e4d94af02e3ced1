"""What EC2 checks across resources when an interface VPC endpoint is created.

An interface endpoint with private DNS turned on (PrivateDnsEnabled true) needs its VPC's DNS resolution and DNS
hostnames both on: InvalidParameter "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames
VPC attributes set to true for vpc-...". A VPC that does not exist is left to EC2's own answer (moto's).
"""
from __future__ import annotations

from typing import Any

from .. import moto
from ..validation.refusal import Refusal


def create_vpc_endpoint(region: str, params: dict[str, Any]) -> None:
    interface = str(params.get("VpcEndpointType", "Gateway")).lower() == "interface"
    if not (interface and params.get("PrivateDnsEnabled") is True):
        return
    dns = moto.ec2.vpc_dns(region, params.get("VpcId", ""))
    if dns is not None and not all(dns):
        raise Refusal("InvalidParameter", "Enabling private DNS requires both enableDnsSupport and "
                      f"enableDnsHostnames VPC attributes set to true for {params['VpcId']}")


RULES = {"CreateVpcEndpoint": create_vpc_endpoint}
