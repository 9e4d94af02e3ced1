"""Any region: the two AZs are discovered (where the account can use the zone, RDS offers the lab's
DB instance class and the Secrets Manager endpoint service is offered), and ARNs and DNS names come
from the region's partition (aws, aws-cn, aws-us-gov)."""
import contextlib

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from lab_helpers import api, iam, network
from lab_helpers.core import partition
from lab_helpers.core.config import NAMES, Lab

ENDPOINT_SERVICE = "com.amazonaws.{region}.secretsmanager"
MOTO_CONFIG = {"iam": {"load_aws_managed_policies": True}}

LAMBDA_VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
SECRETS_MANAGER_READ_WRITE_POLICY = "arn:aws:iam::aws:policy/SecretsManagerReadWrite"


def aws_lab(region: str) -> Lab:
    session = boto3.Session(region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
    return Lab(target="aws", region=region, session=session, poll_interval=0)


@contextlib.contextmanager
def moto_lab_in(region: str):
    with mock_aws(config=MOTO_CONFIG):
        session = boto3.Session(region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
        yield Lab(target="local", region=region, session=session, poll_interval=0)


def zone(name: str, state: str = "available", zone_type: str = "availability-zone",
         opt_in: str = "opt-in-not-required") -> dict:
    return {"ZoneName": name, "State": state, "ZoneType": zone_type, "OptInStatus": opt_in}


def option(version: str, zones: list[str]) -> dict:
    return {"Engine": "mysql", "EngineVersion": version, "DBInstanceClass": NAMES.db_instance_class,
            "AvailabilityZones": [{"Name": z} for z in zones]}


@contextlib.contextmanager
def discovery(lab: Lab, zones: list[dict], endpoint_zones: list[str] | None, *rds_pages: list[dict]):
    """Stub what `availability_zones` asks on AWS: no VPC yet, the region's zones, the endpoint
    service (None: not offered in the region), RDS's orderable options (one list per page)."""
    ec2, rds = Stubber(lab.client("ec2")), Stubber(lab.client("rds"))
    ec2.add_response("describe_vpcs", {"Vpcs": []}, {"Filters": [{"Name": "tag:Name", "Values": [NAMES.vpc]}]})
    ec2.add_response("describe_availability_zones", {"AvailabilityZones": zones}, {})
    service = ENDPOINT_SERVICE.format(region=lab.region)
    if endpoint_zones is None:
        ec2.add_client_error("describe_vpc_endpoint_services", "InvalidServiceName",
                             expected_params={"ServiceNames": [service]})
    else:
        ec2.add_response("describe_vpc_endpoint_services",
                         {"ServiceDetails": [{"ServiceName": service, "AvailabilityZones": endpoint_zones}]},
                         {"ServiceNames": [service]})
    request = {"Engine": "mysql", "DBInstanceClass": NAMES.db_instance_class, "Vpc": True}
    for n, page in enumerate(rds_pages):
        marker = {"Marker": f"page-{n + 1}"} if n + 1 < len(rds_pages) else {}
        rds.add_response("describe_orderable_db_instance_options", {"OrderableDBInstanceOptions": page, **marker},
                         {**request, "Marker": f"page-{n}"} if n else request)
    with ec2, rds:
        yield
    ec2.assert_no_pending_responses()
    rds.assert_no_pending_responses()


def test_the_module_s_a_and_c_where_both_are_usable():
    lab = aws_lab("ap-northeast-2")
    names = [f"ap-northeast-2{s}" for s in "abcd"]
    with discovery(lab, [zone(n) for n in names], names, [option("8.4.3", names)]):
        assert network.availability_zones(lab) == ["ap-northeast-2a", "ap-northeast-2c"]


def test_where_the_endpoint_service_lacks_c_the_next_usable_zone():
    lab = aws_lab("ap-northeast-2")
    names = [f"ap-northeast-2{s}" for s in "abcd"]
    with discovery(lab, [zone(n) for n in names], ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2d"],
                   [option("8.4.3", names)]):
        assert network.availability_zones(lab) == ["ap-northeast-2a", "ap-northeast-2b"]


def test_an_account_whose_us_west_1_has_no_a():
    """us-west-1's AZ names are per account: some have b and c only."""
    lab = aws_lab("us-west-1")
    names = ["us-west-1b", "us-west-1c"]
    with discovery(lab, [zone(n) for n in names], names, [option("8.4.5", names)]):
        assert network.availability_zones(lab) == ["us-west-1b", "us-west-1c"]


def test_ca_central_1_has_no_c_and_rds_only_some_zones():
    lab = aws_lab("ca-central-1")
    names = ["ca-central-1a", "ca-central-1b", "ca-central-1d"]
    with discovery(lab, [zone(n) for n in names], names,
                   [option("8.0.40", ["ca-central-1a"]), option("8.4.3", ["ca-central-1b"])],  # 8.0: another version
                   [option("8.4.4", ["ca-central-1b", "ca-central-1d"])]):  # a second page
        assert network.availability_zones(lab) == ["ca-central-1b", "ca-central-1d"]
        assert network.usable_availability_zones(lab) == ["ca-central-1b", "ca-central-1d"]  # remembered: no calls


def test_zones_the_account_cannot_use_are_left_out():
    lab = aws_lab("us-west-2")
    zones = [zone("us-west-2a", state="impaired"), zone("us-west-2b"), zone("us-west-2c"),
             zone("us-west-2-lax-1a", zone_type="local-zone", opt_in="opted-in"),
             zone("us-west-2d", opt_in="not-opted-in")]
    offered = [z["ZoneName"] for z in zones]
    with discovery(lab, zones, offered, [option("8.4.3", offered)]):
        assert network.availability_zones(lab) == ["us-west-2b", "us-west-2c"]


def test_one_usable_zone_is_a_clear_error_in_korean():
    lab = aws_lab("ap-northeast-2")
    names = [f"ap-northeast-2{s}" for s in "abc"]
    with discovery(lab, [zone(n) for n in names], ["ap-northeast-2a", "ap-northeast-2b"],
                   [option("8.4.3", ["ap-northeast-2b", "ap-northeast-2c"])]), \
            pytest.raises(RuntimeError) as error:
        network.availability_zones(lab)
    message = str(error.value)
    assert message.startswith("ap-northeast-2 리전에서 이 실습에 쓸 수 있는 가용 영역이 1개뿐입니다 (ap-northeast-2b).")
    assert "서로 다른 가용 영역 2개가 필요합니다" in message
    assert ("- Secrets Manager 엔드포인트(com.amazonaws.ap-northeast-2.secretsmanager)를 제공하는 곳: "
            "ap-northeast-2a, ap-northeast-2b") in message
    assert "- RDS 가 db.t4g.micro (mysql 8.4)을 제공하는 곳: ap-northeast-2b, ap-northeast-2c" in message


def test_a_region_without_the_endpoint_service_or_the_class():
    lab = aws_lab("ap-northeast-2")
    names = [f"ap-northeast-2{s}" for s in "ac"]
    with discovery(lab, [zone(n) for n in names], None, []), pytest.raises(RuntimeError) as error:
        network.availability_zones(lab)
    assert "0개뿐입니다 (없음)" in str(error.value)
    assert "제공하는 곳: 없음" in str(error.value)
    assert "db_instance_class 를 바꾸세요" in str(error.value)


def test_on_the_local_cloud_ap_northeast_2_keeps_a_and_c(lab, calls):
    """moto answers the zones and the endpoint service but keeps no orderable options for MySQL:
    the local target then counts every zone (and the lesson's outputs stay as they are)."""
    assert network.usable_availability_zones(lab) == [f"ap-northeast-2{s}" for s in "abcd"]
    assert network.availability_zones(lab) == ["ap-northeast-2a", "ap-northeast-2c"]
    network.ensure_vpc(lab)
    assert {s["az"] for s in network.ensure_subnets(lab)} == {"ap-northeast-2a", "ap-northeast-2c"}
    assert calls.names().count("DescribeAvailabilityZones") == 1  # discovered once for this Lab


def test_subnets_follow_the_discovered_zones_in_a_region_without_c():
    with moto_lab_in("us-west-1") as lab:  # moto's us-west-1 has a and b
        network.ensure_vpc(lab)
        subnets = network.ensure_subnets(lab)
        assert {(s["name"], s["az"]) for s in subnets if s["name"].startswith("rds-")} == {
            ("rds-subnet-a", "us-west-1a"), ("rds-subnet-c", "us-west-1b")}
        assert network.zone_for(lab, "c") == "us-west-1b"


def test_once_subnets_exist_their_zones_are_the_lab_s(lab):
    vpc = network.ensure_vpc(lab)["id"]
    lab.client("ec2").create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="ap-northeast-2b",
                                    TagSpecifications=[{"ResourceType": "subnet", "Tags": [
                                        {"Key": "Name", "Value": "lambda-subnet-a"}]}])
    assert network.availability_zones(lab) == ["ap-northeast-2b", "ap-northeast-2c"]
    subnets = {s["name"]: s["az"] for s in network.ensure_subnets(lab)}
    assert subnets["rds-subnet-a"] == subnets["cloud9-subnet-a"] == "ap-northeast-2b"
    assert subnets["rds-subnet-c"] == "ap-northeast-2c"


# ---------------------------------------------------------------- partitions

@pytest.mark.parametrize(("region", "name", "suffix"), [
    ("ap-northeast-2", "aws", "amazonaws.com"),
    ("us-east-1", "aws", "amazonaws.com"),
    ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
    ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ("ap-southeast-99", "aws", "amazonaws.com"),  # a region botocore does not list yet: by its pattern
    ("cn-south-9", "aws-cn", "amazonaws.com.cn"),
])
def test_partition_and_dns_suffix_of_a_region(region, name, suffix):
    assert (partition.partition(region), partition.dns_suffix(region)) == (name, suffix)


@pytest.mark.parametrize(("region", "arn_partition", "suffix"), [
    ("ap-northeast-2", "aws", "amazonaws.com"),
    ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
])
def test_arns_and_urls_follow_the_partition(region, arn_partition, suffix):
    lab = aws_lab(region)
    assert partition.arn(lab, "execute-api", "abc123/*/GET/", region, "123456789012") == (
        f"arn:{arn_partition}:execute-api:{region}:123456789012:abc123/*/GET/")
    assert partition.managed_policy_arn(lab, iam.SECRETS_MANAGER_READ_WRITE) == (
        f"arn:{arn_partition}:iam::aws:policy/SecretsManagerReadWrite")
    assert partition.managed_policy_arn(lab, iam.LAMBDA_VPC_ACCESS) == (
        f"arn:{arn_partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    function = f"arn:{arn_partition}:lambda:{region}:123456789012:function:{NAMES.function}"
    assert api._invocation_uri(lab, function) == (
        f"arn:{arn_partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function}/invocations")
    assert api._url(lab, "abc123") == f"https://abc123.execute-api.{region}.{suffix}/dev"
    assert partition.service_principal("lambda") == "lambda.amazonaws.com"  # a principal, the same everywhere


def test_the_workshop_region_keeps_its_exact_arns(lab):
    """ap-northeast-2: the same ARNs as the literals they replace."""
    assert partition.managed_policy_arn(lab, iam.LAMBDA_VPC_ACCESS) == LAMBDA_VPC_ACCESS_POLICY
    assert partition.managed_policy_arn(lab, iam.SECRETS_MANAGER_READ_WRITE) == SECRETS_MANAGER_READ_WRITE_POLICY
    assert api._invocation_uri(lab, "F") == (
        "arn:aws:apigateway:ap-northeast-2:lambda:path/2015-03-31/functions/F/invocations")


def test_in_a_china_region_the_role_gets_the_aws_cn_managed_policies(calls):
    with moto_lab_in("cn-north-1") as lab:
        lab.session.events.register("before-parameter-build.*.*", calls.record)
        lab._clients.clear()
        role = iam.ensure_lambda_role(lab)
        assert role["arn"].startswith("arn:aws-cn:iam::")
        assert calls.one("AttachRolePolicy")["PolicyArn"] == (
            "arn:aws-cn:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
        iam.attach_secrets_manager_read_write(lab)
        assert iam.detach_secrets_manager_read_write(lab) is True
        assert calls.params("DetachRolePolicy") == [{"RoleName": NAMES.lambda_role,
                                                     "PolicyArn": "arn:aws-cn:iam::aws:policy/SecretsManagerReadWrite"}]
