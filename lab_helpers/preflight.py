"""Pre-flight on AWS (notebook 00, before anything bills): what would make the lab fail half-way is found first.

- RDS Proxy offered in the region (a region without it would fail in 03, with the DB already billing);
- room for one more VPC and internet gateway under the region's quotas (Service Quotas, with the current
  usage; AWS's defaults are 5 each, so the 5th learner on a shared account would fail in 00);
- the organisation's policies (SCPs) letting the lab create a tagged resource: EC2's dry run of the lab's
  CreateVpc, with its tags, answers as the real call would, and creates nothing.

Each failure is a `PreflightFailed` whose message is one Korean sentence saying what to do.
"""
from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError

from . import network
from .core.config import Lab
from .core.waiting import error_code

# Service Quotas codes (service "vpc"): VPCs per Region, internet gateways per Region; AWS's defaults
VPC_QUOTA, IGW_QUOTA = "L-F678F1CE", "L-A4707A72"
DEFAULT_QUOTAS = {VPC_QUOTA: 5, IGW_QUOTA: 5}
NOT_OFFERED = ("InvalidAction", "UnsupportedOperation", "UnknownOperationException", "UnrecognizedClientException")


class PreflightFailed(RuntimeError):
    """The lab cannot run here as things are; the message says what to do. Nothing was created."""


def check(lab: Lab) -> None:
    """Every pre-flight check, cheapest first; raises `PreflightFailed` at the first that fails."""
    rds_proxy_offered(lab)
    room_for_one_more_lab(lab)
    tags_accepted(lab)


def rds_proxy_offered(lab: Lab) -> None:
    """RDS Proxy answers in the region (DescribeDBProxies is a read: it creates nothing)."""
    try:
        lab.client("rds").describe_db_proxies(MaxRecords=20)
    except EndpointConnectionError:
        raise PreflightFailed(f"{lab.region} 리전에서 RDS 에 연결할 수 없습니다: 리전 이름을 확인하거나 RDS Proxy 를 "
                              "제공하는 다른 리전(예: 'ap-northeast-2')으로 00 을 다시 실행하세요. 아무것도 만들지 "
                              "않았습니다.") from None
    except ClientError as e:
        if error_code(e) in NOT_OFFERED:
            raise PreflightFailed(f"{lab.region} 리전은 RDS Proxy 를 제공하지 않습니다 ({error_code(e)}): RDS Proxy "
                                  "를 제공하는 리전(예: 'ap-northeast-2', 'us-east-1')을 region 으로 골라 00 을 다시 "
                                  "실행하세요. 아무것도 만들지 않았습니다.") from None
        raise


def quota(lab: Lab, code: str) -> int:
    """The region's quota `code` of service "vpc" (Service Quotas), else AWS's default when it cannot be read."""
    try:
        value = lab.client("service-quotas").get_service_quota(ServiceCode="vpc", QuotaCode=code)["Quota"]["Value"]
        return int(value)
    except (ClientError, EndpointConnectionError, KeyError):  # not allowed to read it, or never changed: the default
        return DEFAULT_QUOTAS[code]


def room_for_one_more_lab(lab: Lab) -> None:
    """One more VPC and internet gateway fit under the quotas (a re-run with the lab's own VPC needs none)."""
    if network.find_vpc(lab) is not None:
        return
    ec2 = lab.client("ec2")
    used = {VPC_QUOTA: len(ec2.describe_vpcs()["Vpcs"]),
            IGW_QUOTA: len(ec2.describe_internet_gateways()["InternetGateways"])}
    for code, what in ((VPC_QUOTA, "VPC"), (IGW_QUOTA, "인터넷 게이트웨이")):
        limit = quota(lab, code)
        if used[code] >= limit:
            raise PreflightFailed(
                f"{lab.region} 리전의 {what}가 한도에 이르렀습니다 ({used[code]}/{limit}개): 쓰지 않는 {what}를 "
                f"지우거나 Service Quotas 에서 한도 증가(Amazon VPC, {code})를 요청한 뒤 00 을 다시 실행하세요. "
                "아무것도 만들지 않았습니다.")


def tags_accepted(lab: Lab) -> None:
    """The organisation's policies let the lab create its VPC with the lab's tags (EC2's dry run)."""
    try:
        lab.client("ec2").create_vpc(CidrBlock=lab.names.vpc_cidr, DryRun=True,
                                     TagSpecifications=network.tag_spec(lab, "vpc", 2, lab.names.vpc))
    except ClientError as e:
        if error_code(e) == "DryRunOperation":
            return
        if error_code(e) == "UnauthorizedOperation":
            raise PreflightFailed(
                "AWS 계정의 정책(조직의 SCP 나 IAM 정책)이 이 실습의 VPC 생성을 거부했습니다: 필요한 태그나 "
                "권한 경계를 관리자에게 확인해 00 의 tags (예: \"CostCenter=1234\") 와 permissions_boundary 에 주고 "
                "다시 실행하세요. 아무것도 만들지 않았습니다.") from None
        raise
    raise PreflightFailed("EC2 가 DryRun 요청에 DryRunOperation 으로 답하지 않았습니다: 다시 실행하세요.")
