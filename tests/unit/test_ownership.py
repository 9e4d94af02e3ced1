"""The lab never adopts, changes or deletes a resource of its name that lacks its tags (a learner's own
from the original workshop, or another learner's): it stops and names it (in Korean)."""
from __future__ import annotations

import pytest

from lab_helpers import baseline, iam, lambda_fn, secrets
from lab_helpers.cleanup import KEPT, cleanup
from lab_helpers.core import ownership


def test_a_hand_made_function_of_the_lab_s_name_is_named_and_left_unchanged(lab, network_ready, module2_package):
    role = iam.ensure_lambda_role(lab)["arn"]
    lam = lab.client("lambda")
    lam.create_function(FunctionName=lab.names.function, Runtime="python3.12", Role=role,  # no tags: not the lab's
                        Handler="lambda_function.lambda_handler", Code={"ZipFile": module2_package})
    before = lam.get_function_configuration(FunctionName=lab.names.function)["CodeSha256"]
    with pytest.raises(ownership.NotTheLabs) as refused:
        lambda_fn.ensure_function(lab, lambda_fn.build_package("module3"), {"SECRET_NAME": "x", "DB_HOST": "y"})
    message = str(refused.value)
    assert f"Lambda 함수 '{lab.names.function}' 가 이미 있지만 이 실습의 태그" in message and "learner" in message
    assert lam.get_function_configuration(FunctionName=lab.names.function)["CodeSha256"] == before
    # and cleanup leaves it, saying so
    rows = {row["name"]: row["result"] for row in cleanup(lab, "all") if row["resource"] == "Lambda 함수"}
    assert rows == {lab.names.function: KEPT}
    assert lambda_fn.find_function(lab) is not None


def test_the_baseline_stops_at_a_hand_made_vpc_of_the_module_s_name(lab):
    lab.client("ec2").create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": lab.names.vpc}]}])
    with pytest.raises(ownership.NotTheLabs, match=rf"VPC '{lab.names.vpc}' 가 이미 있지만"):
        baseline.ensure_baseline(lab)


def test_a_hand_made_secret_and_role_are_refused_too(lab):
    lab.client("secretsmanager").create_secret(Name=lab.names.secret, SecretString="{}")
    with pytest.raises(ownership.NotTheLabs, match="Secrets Manager 보안 암호"):
        secrets.ensure_secret(lab)
    trust = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
             '"lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
    lab.client("iam").create_role(RoleName=lab.names.lambda_role, AssumeRolePolicyDocument=trust)
    with pytest.raises(ownership.NotTheLabs, match="IAM 역할"):
        iam.ensure_lambda_role(lab)
    assert lab.client("iam").list_attached_role_policies(RoleName=lab.names.lambda_role)["AttachedPolicies"] == []


def test_the_lab_s_own_resources_are_used_again():
    assert ownership.has_project_tag([{"Key": "lab:project", "Value": "optimize-serverless-module3"}])
    assert ownership.has_project_tag({"lab:project": "optimize-serverless-module3"})
    assert not ownership.has_project_tag({"lab:project": "something-else"}) and not ownership.has_project_tag(None)
