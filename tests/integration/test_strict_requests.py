"""The local cloud refuses what AWS refuses, with AWS's error code and message, to boto3 and to the AWS CLI alike;
and what AWS accepts (a well-formed action IAM does not know yet) it accepts.

The boto3 clients here skip botocore's own parameter validation, as a raw request or another SDK would, so the
local cloud's answer is what the test sees; the CLI runs with `parameter_validation = false` for the same reason.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lab_helpers.local import lifecycle
from lab_helpers.local.moto import ACCOUNT

REGION = "ap-northeast-2"
AWS_CLI = Path(sys.executable).with_name("aws")


def trust(principal) -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


def policy(**statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def cloud():
    """A cloud of its own: what these tests create stays out of the session's cloud."""
    with lifecycle.fresh("lab-strict-") as info:
        yield info


@pytest.fixture(scope="module")
def client(cloud):
    def make(service: str):
        return boto3.client(service, endpoint_url=cloud["endpoint"], region_name=REGION, aws_access_key_id="lab",
                            aws_secret_access_key="lab",
                            config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    return make


@pytest.fixture(scope="module")
def aws(cloud, tmp_path_factory):
    """`aws <args>` against the local cloud: (exit status, stdout, stderr)."""
    if not AWS_CLI.exists():
        pytest.fail(f"the AWS CLI is not installed next to {sys.executable}: pip install -e '.[test]'")
    config = tmp_path_factory.mktemp("aws-cli") / "config"
    config.write_text(f"[default]\nregion = {REGION}\nparameter_validation = false\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
           "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "AWS_ACCESS_KEY_ID": "lab", "AWS_SECRET_ACCESS_KEY": "lab", "AWS_ENDPOINT_URL": cloud["endpoint"],
           "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""}

    def run(*args: str) -> tuple[int, str, str]:
        done = subprocess.run([str(AWS_CLI), *args], env=env, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    return run


def function_zip() -> bytes:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return package.getvalue()


def refused(call, code: str, message: str) -> None:
    with pytest.raises(ClientError) as error:
        call()
    assert (error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]) == (code, message)


def cli_refused(result: tuple[int, str, str], code: str, operation: str, message: str) -> None:
    status, _, stderr = result
    assert status != 0
    assert f"An error occurred ({code}) when calling the {operation} operation: {message}" in stderr, stderr


@pytest.fixture(scope="module")
def lambda_role(client) -> str:
    role = client("iam").create_role(RoleName="strict-lambda-role",
                                     AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"}))
    return role["Role"]["Arn"]


@pytest.fixture(scope="module")
def one_zone_subnets(client) -> list[str]:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    return [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.91.{n}.0/24", AvailabilityZone=f"{REGION}a")
            ["Subnet"]["SubnetId"] for n in (1, 2)]


# ---------------------------------------------------------------- IAM policy documents

INVALID_SERVICE = 'Invalid principal in policy: "SERVICE":"lambda"'


def test_a_trust_policy_naming_a_service_by_its_short_name_is_refused(client, aws):
    """Cloud level: the check on CreateRole's path, in the query protocol to boto3 and the CLI, nothing created;
    tests/unit/test_strict_checks.py covers each kind of principal IAM cannot resolve."""
    refused(lambda: client("iam").create_role(RoleName="strict-short", AssumeRolePolicyDocument=trust(
        {"Service": "lambda"})), "MalformedPolicyDocument", INVALID_SERVICE)
    cli_refused(aws("iam", "create-role", "--role-name", "strict-short-cli", "--assume-role-policy-document",
                    trust({"Service": "lambda"})), "MalformedPolicyDocument", "CreateRole", INVALID_SERVICE)
    assert "strict-short" not in {r["RoleName"] for r in client("iam").list_roles()["Roles"]}


def test_a_trust_policy_naming_a_role_that_does_not_exist_is_refused(client, lambda_role):
    missing = f"arn:aws:iam::{ACCOUNT}:role/strict-no-such-role"
    refused(lambda: client("iam").update_assume_role_policy(RoleName="strict-lambda-role", PolicyDocument=trust(
        {"AWS": missing})), "MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{missing}"')
    client("iam").update_assume_role_policy(RoleName="strict-lambda-role", PolicyDocument=trust(
        {"AWS": lambda_role, "Service": "lambda.amazonaws.com"}))


def test_a_resource_that_is_neither_an_arn_nor_a_star_is_refused(client, aws, lambda_role):
    document = policy(Effect="Allow", Action="secretsmanager:GetSecretValue", Resource="my-secret")
    message = 'Resource my-secret must be in ARN format or "*".'
    refused(lambda: client("iam").put_role_policy(RoleName="strict-lambda-role", PolicyName="p",
                                                  PolicyDocument=document), "MalformedPolicyDocument", message)
    cli_refused(aws("iam", "create-policy", "--policy-name", "strict-not-arn", "--policy-document", document),
                "MalformedPolicyDocument", "CreatePolicy", message)


def test_a_statement_without_effect_is_refused(client, aws, lambda_role):
    document = policy(Action="secretsmanager:GetSecretValue", Resource="*")
    refused(lambda: client("iam").put_role_policy(RoleName="strict-lambda-role", PolicyName="p",
                                                  PolicyDocument=document),
            "MalformedPolicyDocument", "Syntax errors in policy.")
    cli_refused(aws("iam", "put-role-policy", "--role-name", "strict-lambda-role", "--policy-name", "p",
                    "--policy-document", document), "MalformedPolicyDocument", "PutRolePolicy",
                "Syntax errors in policy.")


def test_an_identity_policy_naming_a_principal_is_refused(client, lambda_role):
    refused(lambda: client("iam").put_role_policy(
        RoleName="strict-lambda-role", PolicyName="p",
        PolicyDocument=policy(Effect="Allow", Principal="*", Action="secretsmanager:GetSecretValue", Resource="*")),
        "MalformedPolicyDocument", "Policy document should not specify a principal.")


def test_a_well_formed_action_iam_does_not_know_is_accepted(client, aws, lambda_role):
    document = policy(Effect="Allow", Action="secretsmanager:NoSuchActionYet", Resource="*")
    client("iam").put_role_policy(RoleName="strict-lambda-role", PolicyName="unknown-action", PolicyDocument=document)
    status, out, err = aws("iam", "create-policy", "--policy-name", "strict-unknown-action",
                           "--policy-document", document)
    assert status == 0, err
    assert json.loads(out)["Policy"]["PolicyName"] == "strict-unknown-action"
    stored = client("iam").get_role_policy(RoleName="strict-lambda-role", PolicyName="unknown-action")
    assert stored["PolicyDocument"]["Statement"][0]["Action"] == "secretsmanager:NoSuchActionYet"


# ---------------------------------------------------------------- botocore's model

def test_a_missing_required_parameter_is_refused_in_each_protocol(client, aws):
    message = ("1 validation error detected: Value null at 'roleName' failed to satisfy constraint: "
               "Member must not be null")
    refused(lambda: client("iam").create_role(AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"})),
            "ValidationError", message)
    no_name = json.dumps({"AssumeRolePolicyDocument": trust({"Service": "lambda.amazonaws.com"})})
    cli_refused(aws("iam", "create-role", "--cli-input-json", no_name), "ValidationError", "CreateRole", message)
    refused(lambda: client("secretsmanager").get_secret_value(), "ValidationException",
            "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: "
            "Member must not be null")
    refused(lambda: client("ec2").create_subnet(CidrBlock="10.92.1.0/24"), "MissingParameter",
            "The request must contain the parameter VpcId")


def test_an_enum_value_aws_does_not_have_is_refused(client, aws, lambda_role, one_zone_subnets):
    message = ("1 validation error detected: Value 'ORACLE' at 'engineFamily' failed to satisfy constraint: "
               "Member must satisfy enum value set: [MYSQL, POSTGRESQL, SQLSERVER]")
    args = {"DBProxyName": "strict-oracle", "EngineFamily": "ORACLE", "RoleArn": lambda_role,
            "Auth": [{"AuthScheme": "SECRETS", "SecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:x"}],
            "VpcSubnetIds": one_zone_subnets}
    refused(lambda: client("rds").create_db_proxy(**args), "ValidationError", message)
    cli_refused(aws("rds", "create-db-proxy", "--db-proxy-name", "strict-oracle", "--engine-family", "ORACLE",
                    "--role-arn", lambda_role, "--auth", json.dumps(args["Auth"]),
                    "--vpc-subnet-ids", *one_zone_subnets), "ValidationError", "CreateDBProxy", message)
    with pytest.raises(ClientError) as error:
        client("lambda").create_function(FunctionName="strict-runtime", Runtime="python9", Role=lambda_role,
                                          Handler="app.handler", Code={"ZipFile": b"PK"})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert error.value.response["Error"]["Message"].startswith(
        "1 validation error detected: Value 'python9' at 'runtime' failed to satisfy constraint: "
        "Member must satisfy enum value set: [")


def test_a_name_longer_than_the_model_allows_is_refused(client):
    refused(lambda: client("iam").create_role(RoleName="r" * 65, AssumeRolePolicyDocument=trust(
        {"Service": "lambda.amazonaws.com"})), "ValidationError",
        f"1 validation error detected: Value '{'r' * 65}' at 'roleName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64")


# ---------------------------------------------------------------- the services' cross-resource rules

def test_a_db_subnet_group_in_one_zone_is_refused(client, one_zone_subnets):
    refused(lambda: client("rds").create_db_subnet_group(DBSubnetGroupName="strict-one-zone",
                                                         DBSubnetGroupDescription="one zone",
                                                         SubnetIds=one_zone_subnets),
            "DBSubnetGroupDoesNotCoverEnoughAZs",
            "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
            f"Current AZ coverage: {REGION}a. Add subnets to cover at least 2 AZs.")


def test_a_proxy_with_its_subnets_in_one_zone_is_refused(client, aws, one_zone_subnets):
    role = client("iam").create_role(RoleName="strict-proxy-role",
                                     AssumeRolePolicyDocument=trust({"Service": "rds.amazonaws.com"}))["Role"]["Arn"]
    auth = [{"AuthScheme": "SECRETS", "SecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:x"}]
    message = f"The DB proxy's subnets must cover at least 2 Availability Zones. Current AZ coverage: {REGION}a."
    refused(lambda: client("rds").create_db_proxy(DBProxyName="strict-one-zone", EngineFamily="MYSQL", RoleArn=role,
                                                  Auth=auth, VpcSubnetIds=one_zone_subnets), "InvalidSubnet", message)
    cli_refused(aws("rds", "create-db-proxy", "--db-proxy-name", "strict-one-zone", "--engine-family", "MYSQL",
                    "--role-arn", role, "--auth", json.dumps(auth), "--vpc-subnet-ids", *one_zone_subnets),
                "InvalidSubnet", "CreateDBProxy", message)


def test_a_function_whose_role_lambda_cannot_assume_is_refused(client, aws, tmp_path):
    role = client("iam").create_role(RoleName="strict-ec2-role",
                                     AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))["Role"]["Arn"]
    message = "The role defined for the function cannot be assumed by Lambda."
    refused(lambda: client("lambda").create_function(FunctionName="strict-wrong-role", Runtime="python3.12", Role=role,
                                                     Handler="app.handler", Code={"ZipFile": b"PK"}),
            "InvalidParameterValueException", message)
    (tmp_path / "function.zip").write_bytes(function_zip())
    cli_refused(aws("lambda", "create-function", "--function-name", "strict-wrong-role", "--runtime", "python3.12",
                    "--role", role, "--handler", "app.handler", "--zip-file", f"fileb://{tmp_path / 'function.zip'}"),
                "InvalidParameterValueException", "CreateFunction", message)


def test_a_vpc_function_whose_role_cannot_make_network_interfaces_is_refused(client, lambda_role, one_zone_subnets):
    refused(lambda: client("lambda").create_function(
        FunctionName="strict-no-eni", Runtime="python3.12", Role=lambda_role, Handler="app.handler",
        Code={"ZipFile": b"PK"}, VpcConfig={"SubnetIds": one_zone_subnets[:1], "SecurityGroupIds": []}),
        "InvalidParameterValueException",
        "The provided execution role does not have permissions to call CreateNetworkInterface on EC2")


def test_private_dns_for_an_endpoint_needs_the_vpc_s_dns_hostnames(client, one_zone_subnets):
    ec2 = client("ec2")
    vpc = ec2.describe_subnets(SubnetIds=one_zone_subnets[:1])["Subnets"][0]["VpcId"]
    endpoint = {"VpcId": vpc, "ServiceName": f"com.amazonaws.{REGION}.secretsmanager", "VpcEndpointType": "Interface",
                "SubnetIds": one_zone_subnets[:1], "PrivateDnsEnabled": True}
    refused(lambda: ec2.create_vpc_endpoint(**endpoint), "InvalidParameter",
            "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true "
            f"for {vpc}")
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    assert ec2.create_vpc_endpoint(**endpoint)["VpcEndpoint"]["PrivateDnsEnabled"] is True


def test_lambda_refuses_a_principal_that_is_not_a_service_s_full_name(client, lambda_role):
    client("lambda").create_function(FunctionName="strict-permissions", Runtime="python3.12", Role=lambda_role,
                                     Handler="app.handler", Code={"ZipFile": function_zip()})
    refused(lambda: client("lambda").add_permission(FunctionName="strict-permissions", StatementId="s",
                                                    Action="lambda:InvokeFunction", Principal="apigateway"),
            "InvalidParameterValueException",
            "The provided principal was invalid. Please check the principal and try again.")
    client("lambda").add_permission(FunctionName="strict-permissions", StatementId="s",
                                    Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com")


@pytest.mark.parametrize("command", [
    "sts get-caller-identity", "iam list-roles", "ec2 describe-vpcs", "ec2 describe-subnets",
    "rds describe-db-instances", "rds describe-db-proxies", "secretsmanager list-secrets", "lambda list-functions",
    "apigateway get-rest-apis", "logs describe-log-groups"])
def test_a_learner_s_everyday_cli_calls_go_through(aws, command):
    status, out, err = aws(*command.split())
    assert status == 0, err
    json.loads(out)
