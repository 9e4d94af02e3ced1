"""What a function's own AWS calls can reach (lab_helpers/local/vpc/function_access.py), on in-process moto.

On AWS a function in a VPC reaches Secrets Manager only through an interface endpoint with private DNS whose
security group admits HTTPS from the function's group, or a NAT route; then its role's policies decide. The
lesson-level tests show the learner's view (a timeout, AccessDeniedException); these pin each rule down.
"""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from lab_helpers.local import moto
from lab_helpers.local.gateway import Request
from lab_helpers.local.vpc import function_access
from lab_helpers.local.vpc.function_access import FunctionAccess

REGION = "ap-northeast-2"
READ_SECRET = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}


@pytest.fixture
def vpc(monkeypatch):
    """A VPC with two subnets, the function's group and the endpoint's group (no rule yet), a role, a secret."""
    monkeypatch.setattr(function_access, "HANG_SECONDS", 0.0)  # the call "hangs" without waiting a minute
    with mock_aws(config={"iam": {"load_aws_managed_policies": False}}):
        ec2 = boto3.client("ec2", REGION)
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = tuple(ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24",
                                          AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
                        for i, zone in ((1, "a"), (2, "c")))
        lambda_sg = ec2.create_security_group(GroupName="lambda-sg", Description="f", VpcId=vpc_id)["GroupId"]
        secret_sg = ec2.create_security_group(GroupName="secret-sg", Description="e", VpcId=vpc_id)["GroupId"]
        iam = boto3.client("iam", REGION)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "lambda.amazonaws.com"}}]}
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        boto3.client("secretsmanager", REGION).create_secret(Name="lab/db", SecretString="{}")
        fn = moto.awslambda.DeployedFunction(REGION, "fn", f"arn:aws:lambda:{REGION}:{moto.ACCOUNT}:function:fn",
                                           "", b"", "app.handler", "python3.12", 3.0, 128, {}, role, subnets,
                                           (lambda_sg,))
        access = FunctionAccess()
        yield {"ec2": ec2, "iam": iam, "vpc_id": vpc_id, "subnets": subnets, "lambda_sg": lambda_sg,
               "secret_sg": secret_sg, "access": access, "key": access.credentials_for(fn)["AWS_ACCESS_KEY_ID"]}


def _get_secret(key: str | None, service: str = "secretsmanager") -> Request:
    headers = {"x-amz-target": "secretsmanager.GetSecretValue", "content-type": "application/x-amz-json-1.1"}
    return Request("POST", "/", "", headers, json.dumps({"SecretId": "lab/db"}).encode(), service, REGION, key)


def _endpoint(vpc, private_dns: bool = True) -> None:
    vpc["ec2"].create_vpc_endpoint(VpcId=vpc["vpc_id"], VpcEndpointType="Interface",
                                   ServiceName=f"com.amazonaws.{REGION}.secretsmanager", SubnetIds=list(vpc["subnets"]),
                                   SecurityGroupIds=[vpc["secret_sg"]], PrivateDnsEnabled=private_dns)


def _admit_https_from_lambda_sg(vpc) -> None:
    vpc["ec2"].authorize_security_group_ingress(GroupId=vpc["secret_sg"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": vpc["lambda_sg"]}]}])


def test_without_an_endpoint_the_call_gets_no_answer(vpc):
    assert vpc["access"].check(_get_secret(vpc["key"])) == (504, {}, b"")


def test_an_endpoint_whose_group_does_not_admit_the_function_is_no_path(vpc):
    _endpoint(vpc)
    assert vpc["access"].check(_get_secret(vpc["key"]))[0] == 504


def test_an_endpoint_without_private_dns_is_no_path(vpc):
    _admit_https_from_lambda_sg(vpc)
    _endpoint(vpc, private_dns=False)
    assert vpc["access"].check(_get_secret(vpc["key"]))[0] == 504


def test_with_the_endpoint_the_role_decides(vpc):
    _admit_https_from_lambda_sg(vpc)
    _endpoint(vpc)
    status, headers, body = vpc["access"].check(_get_secret(vpc["key"]))
    assert (status, headers["x-amzn-ErrorType"]) == (400, "AccessDeniedException")
    message = json.loads(body)["Message"]
    assert "assumed-role/fn-role/fn is not authorized to perform: secretsmanager:GetSecretValue" in message
    assert ":secret:lab/db-" in message  # the secret's ARN, as AWS names the resource
    vpc["iam"].put_role_policy(RoleName="fn-role", PolicyName="read", PolicyDocument=json.dumps(READ_SECRET))
    assert vpc["access"].check(_get_secret(vpc["key"])) is None  # allowed: the call goes on to the service


def test_an_https_rule_by_cidr_covering_the_subnets_admits_too(vpc):
    vpc["ec2"].authorize_security_group_ingress(GroupId=vpc["secret_sg"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
    _endpoint(vpc)
    vpc["iam"].put_role_policy(RoleName="fn-role", PolicyName="read", PolicyDocument=json.dumps(READ_SECRET))
    assert vpc["access"].check(_get_secret(vpc["key"])) is None


def test_a_nat_route_is_a_path(vpc):
    ec2 = vpc["ec2"]
    public = ec2.create_subnet(VpcId=vpc["vpc_id"], CidrBlock="10.0.9.0/24")["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    table = ec2.create_route_table(VpcId=vpc["vpc_id"])["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    ec2.associate_route_table(RouteTableId=table, SubnetId=vpc["subnets"][0])
    assert function_access.reachable(function_access.Caller(REGION, "fn", "r", vpc["subnets"], ()), "secretsmanager")


def test_calls_not_made_by_a_function_or_to_other_services_are_not_checked(vpc):
    assert vpc["access"].check(_get_secret("AKIDLEARNER")) is None  # the learner's own calls
    assert vpc["access"].check(_get_secret(None)) is None  # unsigned (the stage URL)
    assert vpc["access"].check(_get_secret(vpc["key"], service="logs")) is None


def test_each_function_gets_its_own_stable_key(vpc):
    other = moto.awslambda.DeployedFunction(REGION, "other", f"arn:aws:lambda:{REGION}:1:function:other", "", b"", "h",
                                          "python3.12", 3.0, 128, {}, "r", (), ())
    first, again = vpc["access"].credentials_for(other), vpc["access"].credentials_for(other)
    assert first == again and first["AWS_ACCESS_KEY_ID"] != vpc["key"]
    assert first["AWS_ACCESS_KEY_ID"].startswith("ASIA")  # temporary credentials, as a role session's
