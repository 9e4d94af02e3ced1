"""Module 3 Step 1.13-17: the Secrets Manager interface endpoint in the secret subnets, with secret-sg and
private DNS.
"""
from __future__ import annotations

import uuid
from typing import Any, TypedDict

from ..core.config import Lab
from ..core.waiting import ABSENT, require, wait_for
from .lookups import ec2_client, ec2_filters, raw_vpc, secrets_service, security_group_id, tag_spec, vpc_id
from .subnets import find_subnets, subnet_ids


class VpcEndpointView(TypedDict):
    """The Secrets Manager interface endpoint as `find_secrets_endpoint` shows it."""
    service: str  # com.amazonaws.<region>.secretsmanager
    id: str
    type: str  # Interface
    state: str  # pending, available, ... (lower case)
    private_dns: bool
    subnets: list[str]  # by name when they are the lab's
    security_groups: list[str]  # by name


def _raw_endpoints(lab: Lab, vpc: str, service: str | None = None,
                   gone: tuple[str, ...] = ("deleting", "deleted")) -> list[dict[str, Any]]:
    """The VPC's endpoints (of `service`) whose state is not in `gone`."""
    filters = ec2_filters({"vpc-id": vpc, "service-name": service})
    endpoints = ec2_client(lab).describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]
    return [e for e in endpoints if e["State"].lower() not in gone]


def _raw_secrets_endpoint(lab: Lab) -> dict[str, Any] | None:
    vpc = raw_vpc(lab)
    endpoints = _raw_endpoints(lab, vpc["VpcId"], secrets_service(lab)) if vpc else []
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
    state: str = endpoint["State"]
    return state.lower()


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
        ec2_client(lab).create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc_id(lab), ServiceName=secrets_service(lab),
            SubnetIds=subnet_ids(lab, "secret"), SecurityGroupIds=[security_group_id(lab, lab.names.secret_sg)],
            PrivateDnsEnabled=True, TagSpecifications=tag_spec(lab, "vpc-endpoint", 3),
            ClientToken=str(uuid.uuid4()))  # the same token on botocore's retries: never a second endpoint
    # A new endpoint may take a moment to be listed: ABSENT is waited out, not a failure.
    endpoint = wait_for(lab, "Secrets Manager VPC 엔드포인트", lambda: _raw_secrets_endpoint(lab), _endpoint_state,
                        {"available"}, _endpoint_failure, usual="1–3분", doing=ENDPOINT_DOING)
    return _endpoint_view(lab, require(endpoint, "Secrets Manager VPC endpoint"))  # never None once available


def _endpoints_state(left: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({_endpoint_state(e) for e in left})) or ABSENT


def delete_endpoints(lab: Lab, vpc: str, service: str | None = None) -> bool:
    ids = [e["VpcEndpointId"] for e in _raw_endpoints(lab, vpc, service)]
    if ids:
        ec2_client(lab).delete_vpc_endpoints(VpcEndpointIds=ids)
    # Their network interfaces block the subnets and the security group until they are gone.
    wait_for(lab, "VPC 엔드포인트 삭제", lambda: _raw_endpoints(lab, vpc, service, gone=("deleted",)),
             _endpoints_state, {ABSENT}, usual="1–2분", doing=ENDPOINT_DOING)
    return bool(ids)


def delete_secrets_endpoint(lab: Lab) -> bool:
    """Delete the Secrets Manager endpoint and wait until it is gone; False when there was none."""
    vpc = raw_vpc(lab)
    return delete_endpoints(lab, vpc["VpcId"], secrets_service(lab)) if vpc else False
