"""The region's partition: ARNs and DNS names that are right in every AWS region.

Most regions belong to the `aws` partition (ARNs `arn:aws:...`, host names under `amazonaws.com`);
the China regions to `aws-cn` (`arn:aws-cn:...`, `amazonaws.com.cn`), GovCloud to `aws-us-gov`
(`arn:aws-us-gov:...`, `amazonaws.com`). Which region is in which partition, and each partition's
DNS suffix, come from botocore's partitions data, the same data its endpoint rules use.

    >>> partition.arn(lab, "iam", "policy/SecretsManagerReadWrite", account="aws")
    'arn:aws:iam::aws:policy/SecretsManagerReadWrite'      # 'arn:aws-cn:iam::aws:...' in cn-north-1
"""
from __future__ import annotations

import functools
import re
from typing import Any

import botocore.loaders

from .config import Lab

DEFAULT_PARTITION = "aws"  # where botocore's endpoint rules put a region no partition names


@functools.cache
def _partitions() -> tuple[dict[str, Any], ...]:
    return tuple(botocore.loaders.create_loader().load_data("partitions")["partitions"])


@functools.cache
def _partition_of(region: str) -> dict[str, Any]:
    """The partition that lists `region`, else the one whose region pattern matches it, else `aws`."""
    partitions = _partitions()
    return (next((p for p in partitions if region in p["regions"]), None)
            or next((p for p in partitions if re.match(p["regionRegex"], region)), None)
            or next(p for p in partitions if p["id"] == DEFAULT_PARTITION))


def partition(region: str) -> str:
    """The partition's name, as ARNs spell it: 'aws', 'aws-cn', 'aws-us-gov', ..."""
    name: str = _partition_of(region)["outputs"]["name"]
    return name


def dns_suffix(region: str) -> str:
    """The domain of the region's public endpoints: 'amazonaws.com', 'amazonaws.com.cn', ..."""
    suffix: str = _partition_of(region)["outputs"]["dnsSuffix"]
    return suffix


def arn(lab: Lab, service: str, resource: str, region: str = "", account: str = "") -> str:
    """`arn:<partition>:<service>:<region>:<account>:<resource>` in the lab's partition.

        >>> partition.arn(lab, "execute-api", "abc123/*/GET/", lab.region, "123456789012")
        'arn:aws:execute-api:ap-northeast-2:123456789012:abc123/*/GET/'
    """
    return f"arn:{partition(lab.region)}:{service}:{region}:{account}:{resource}"


def managed_policy_arn(lab: Lab, name: str) -> str:
    """An AWS managed policy's ARN, e.g. managed_policy_arn(lab, "SecretsManagerReadWrite")
    or managed_policy_arn(lab, "service-role/AWSLambdaVPCAccessExecutionRole")."""
    return arn(lab, "iam", f"policy/{name}", account="aws")


def service_principal(service: str) -> str:
    """The principal a trust policy or a resource policy names for an AWS service, e.g. 'lambda.amazonaws.com'.

    Not a DNS name, so not the partition's suffix: the principals of Lambda, RDS and API Gateway
    are `<service>.amazonaws.com` in every partition, the China regions' included.
    """
    return f"{service}.amazonaws.com"
