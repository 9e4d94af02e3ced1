import dataclasses
import json

import pytest
from botocore.exceptions import ClientError

from lab_helpers import iam

SECRET_ARN = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:serverless-app-rds-secret-AbCdEf"
READ_SECRET = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET_ARN}]}

LAMBDA_VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
SECRETS_MANAGER_READ_WRITE_POLICY = "arn:aws:iam::aws:policy/SecretsManagerReadWrite"


def trust(create_role_params) -> list:
    """The statements of a CreateRole request's trust policy."""
    return json.loads(create_role_params["AssumeRolePolicyDocument"])["Statement"]


def test_lambda_role_trusts_lambda_with_vpc_access(lab, calls, rerun, has_lab_tags):
    role = iam.ensure_lambda_role(lab)
    assert role == {"name": "serverless-app-lambda-role", "arn": role["arn"],
                    "trusted_service": ["lambda.amazonaws.com"],
                    "managed_policies": ["AWSLambdaVPCAccessExecutionRole"], "inline_policies": []}
    create = calls.one("CreateRole")
    assert trust(create) == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                              "Action": "sts:AssumeRole"}]
    assert has_lab_tags(create["Tags"], 2)
    assert calls.one("AttachRolePolicy")["PolicyArn"] == LAMBDA_VPC_ACCESS_POLICY
    assert iam.find_lambda_role(lab) == role
    rerun(role, iam.ensure_lambda_role)
    assert iam.delete_lambda_role(lab) is True
    assert iam.find_lambda_role(lab) is None
    assert iam.delete_lambda_role(lab) is False


def test_secrets_manager_read_write_is_attached_then_replaced(lab, calls, rerun):
    iam.ensure_lambda_role(lab)
    role = iam.attach_secrets_manager_read_write(lab)
    assert role["managed_policies"] == ["AWSLambdaVPCAccessExecutionRole", "SecretsManagerReadWrite"]
    rerun(role, iam.attach_secrets_manager_read_write)

    calls.clear()
    policy = iam.ensure_function_secret_policy(lab, SECRET_ARN)
    assert policy == {"role": "serverless-app-lambda-role", "name": "serverless-app-lambda-secret-read",
                      "actions": ["secretsmanager:GetSecretValue"], "resources": [SECRET_ARN]}
    assert json.loads(calls.one("PutRolePolicy")["PolicyDocument"]) == READ_SECRET
    assert iam.find_function_secret_policy(lab) == policy
    rerun(policy, iam.ensure_function_secret_policy, SECRET_ARN)

    assert iam.detach_secrets_manager_read_write(lab) is True
    assert iam.find_lambda_role(lab)["managed_policies"] == ["AWSLambdaVPCAccessExecutionRole"]
    assert iam.detach_secrets_manager_read_write(lab) is False
    assert iam.delete_function_secret_policy(lab) is True
    assert iam.find_function_secret_policy(lab) is None
    assert iam.delete_function_secret_policy(lab) is False


def test_proxy_role_trusts_rds_and_reads_only_the_secret(lab, calls, rerun, has_lab_tags):
    role = iam.ensure_proxy_role(lab, SECRET_ARN)
    assert role["trusted_service"] == ["rds.amazonaws.com"]
    assert role["inline_policies"] == ["serverless-app-rds-proxy-secret-read"]
    assert trust(calls.one("CreateRole"))[0]["Principal"] == {"Service": "rds.amazonaws.com"}
    assert has_lab_tags(calls.one("CreateRole")["Tags"], 3)
    assert json.loads(calls.one("PutRolePolicy")["PolicyDocument"]) == READ_SECRET
    rerun(role, iam.ensure_proxy_role, SECRET_ARN)


def test_deleting_a_role_removes_its_policies_first(lab, calls):
    iam.ensure_proxy_role(lab, SECRET_ARN)
    iam.ensure_lambda_role(lab)
    iam.attach_secrets_manager_read_write(lab)
    iam.ensure_function_secret_policy(lab, SECRET_ARN)
    assert iam.delete_proxy_role(lab) is True
    assert iam.delete_lambda_role(lab) is True
    assert {p["PolicyArn"] for p in calls.params("DetachRolePolicy")} == {LAMBDA_VPC_ACCESS_POLICY,
                                                                          SECRETS_MANAGER_READ_WRITE_POLICY}
    assert len(calls.params("DeleteRolePolicy")) == 2
    assert iam.find_proxy_role(lab) is None and iam.find_lambda_role(lab) is None
    assert iam.delete_proxy_role(lab) is False


def not_assumable_yet(times):
    """A CreateFunction stand-in that fails `times` times as AWS does while a new role propagates."""
    def call():
        call.count += 1
        if call.count <= times:
            raise ClientError({"Error": {"Code": "InvalidParameterValueException",
                                         "Message": "The role defined for the function cannot be assumed by Lambda."}},
                              "CreateFunction")
        return "created"
    call.count = 0
    return call


def test_iam_propagation_is_waited_out_on_aws_only(lab):
    on_aws = dataclasses.replace(lab, target="aws")
    call = not_assumable_yet(2)
    assert iam.after_iam_propagation(on_aws, call, "InvalidParameterValueException") == "created"
    assert call.count == 3
    with pytest.raises(ClientError):
        iam.after_iam_propagation(lab, not_assumable_yet(1), "InvalidParameterValueException")
