"""Cleanup waits for Lambda to release its functions' network interfaces before it deletes the role,
security groups and subnets (botocore's Stubber plays EC2)."""
from __future__ import annotations

import pytest
from botocore.stub import Stubber

from lab_helpers import lambda_enis, network
from lab_helpers.core.config import Lab


def eni(n: int, status: str = "in-use") -> dict:
    return {"NetworkInterfaceId": f"eni-{n:08x}", "Status": status,
            "Description": f"AWS Lambda VPC ENI-serverless-app-lambda-{n}"}


@pytest.fixture
def stubbed(monkeypatch):
    lab = Lab(target="aws", poll_interval=0, poll_timeout=5)
    monkeypatch.setattr(network, "find_vpc", lambda lab: {"id": "vpc-1"})
    ec2 = lab.session.client("ec2", region_name=lab.region)
    lab._clients["ec2"] = ec2
    with Stubber(ec2) as stub:
        yield lab, stub


def answer(stub: Stubber, *interfaces: dict) -> None:
    stub.add_response("describe_network_interfaces", {"NetworkInterfaces": list(interfaces)}, {
        "Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]},
                    {"Name": "description", "Values": ["AWS Lambda VPC ENI-serverless-app-lambda*"]}]})


def test_the_wait_ends_when_lambda_has_released_every_interface(stubbed):
    lab, stub = stubbed
    answer(stub, eni(1), eni(2))  # first look
    answer(stub, eni(1), eni(2))
    answer(stub, eni(1, "available"))
    answer(stub)
    assert lambda_enis.wait_released(lab) is True
    stub.assert_no_pending_responses()


def test_nothing_to_wait_for(stubbed):
    lab, stub = stubbed
    answer(stub)
    assert lambda_enis.wait_released(lab) is False


def test_interfaces_that_stay_end_the_wait_with_what_is_left(stubbed):
    lab, stub = stubbed
    for _ in range(200):
        answer(stub, eni(7))
    with pytest.raises(TimeoutError) as raised:
        lambda_enis.wait_released(lab, timeout=0.0)
    assert "Lambda VPC 네트워크 인터페이스" in str(raised.value) and "1개 남음" in str(raised.value)
