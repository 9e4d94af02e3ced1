"""EC2's DryRun on the local cloud, as on AWS: checked, answered DryRunOperation (412), nothing created."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from lab_helpers import preflight


def test_a_dry_run_creates_nothing_and_answers_dry_run_operation(lab):
    ec2 = lab.client("ec2")
    before = len(ec2.describe_vpcs()["Vpcs"])
    with pytest.raises(ClientError) as answered:
        ec2.create_vpc(CidrBlock="10.9.0.0/16", DryRun=True)
    error = answered.value.response
    assert error["Error"] == {"Code": "DryRunOperation",
                              "Message": "Request would have succeeded, but DryRun flag is set."}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert len(ec2.describe_vpcs()["Vpcs"]) == before
    preflight.tags_accepted(lab)  # 00's pre-flight: the dry run of the lab's tagged VPC passes, and makes none
    assert len(ec2.describe_vpcs()["Vpcs"]) == before
