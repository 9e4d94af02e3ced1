"""The network interfaces Lambda makes in the lab's VPC for its functions (a function in a VPC has them).

Lambda deletes them itself, some time after the function is deleted (up to ~40 minutes), and it uses
the function's role to do so. Cleanup therefore waits until they are gone before it deletes the role,
the security groups and the subnets; deleting those first fails with DependencyViolation.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TypedDict

from . import network
from .core import waiting
from .core.config import Lab

USUAL = "보통 몇 분, 길면 40분"
RELEASING = ("Lambda 가 함수의 역할로 인터페이스를 해제하는 중 "
             "(해제되기 전에는 역할, 보안 그룹, 서브넷을 지울 수 없습니다)")
RELEASE_TIMEOUT_S = 60 * 60.0  # the longest wait before cleanup gives up (and says what is left)


class EniView(TypedDict):
    id: str
    status: str
    description: str


def description_prefix(lab: Lab, function: str | None = None) -> str:
    """Lambda's description of its interfaces for the lab's functions (the measurement functions share the name),
    or for `function`'s."""
    return f"AWS Lambda VPC ENI-{function or lab.names.function}"


def find_enis(lab: Lab, function: str | None = None) -> list[EniView]:
    """Lambda's interfaces for the lab's functions (or `function`'s) in the lab's VPC (empty when none, or no VPC)."""
    vpc = network.find_vpc(lab)
    if vpc is None:
        return []
    found = lab.client("ec2").describe_network_interfaces(Filters=[
        {"Name": "vpc-id", "Values": [vpc["id"]]},
        {"Name": "description", "Values": [description_prefix(lab, function) + "*"]}])["NetworkInterfaces"]
    return [EniView(id=e["NetworkInterfaceId"], status=e.get("Status", ""), description=e.get("Description", ""))
            for e in found]


def find_pending(lab: Lab, function: str | None = None) -> list[EniView] | None:
    """For cleanup: the interfaces still there, or None when there are none."""
    return find_enis(lab, function) or None


def wait_released(lab: Lab, timeout: float | None = None, function: str | None = None) -> bool:
    """Wait until Lambda has released every interface of the lab's functions, with progress; True when there
    were some. TimeoutError (in Korean, naming what is left) past `timeout` (default RELEASE_TIMEOUT_S on AWS)."""
    if not find_enis(lab, function):
        return False
    patient = replace(lab, poll_timeout=timeout if timeout is not None else
                      (RELEASE_TIMEOUT_S if lab.target == "aws" else lab.poll_timeout))
    waiting.wait_for(patient, f"Lambda VPC 네트워크 인터페이스 ({description_prefix(lab, function)}*)",
                     lambda: find_enis(lab, function) or None, lambda left: f"{len(left)}개 남음",
                     lambda left: left is None,
                     usual=USUAL, doing=lambda left: RELEASING)
    return True
