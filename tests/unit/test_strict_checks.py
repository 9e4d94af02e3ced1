"""The local cloud's strict checks, piece by piece (no cloud needed): the model checks, the IAM policy checks,
and each refusal in its protocol's wire format as botocore reads it. tests/integration/test_strict_requests.py
runs them end to end with boto3 and the AWS CLI."""
from __future__ import annotations

import json

import botocore.parsers
import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from moto import mock_aws

from lab_helpers.local.validation import Refusal, constraints, policies, wire

SESSION = botocore.session.get_session()


def operation(service: str, name: str):
    return SESSION.get_service_model(service).operation_model(name)


def refusal_of(service: str, protocol: str, name: str, params: dict) -> Refusal | None:
    try:
        constraints.check(service, protocol, operation(service, name), params)
    except Refusal as refusal:
        return refusal
    return None


def test_every_broken_constraint_is_named_in_one_message():
    found = refusal_of("iam", "query", "CreateRole", {"RoleName": "has space", "AssumeRolePolicyDocument": "",
                                                      "MaxSessionDuration": 90000})
    assert found.code == "ValidationError"
    assert found.message.startswith("4 validation errors detected: ")
    assert ("Value 'has space' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression "
            "pattern: [\\w+=,.@-]+") in found.message
    assert ("Value '' at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must have length greater "
            "than or equal to 1") in found.message
    assert ("Value '90000' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than "
            "or equal to 43200") in found.message


def test_api_gateway_names_a_member_under_its_operation_s_input():
    # as API Gateway answered boto/boto3#340: "Value 'lambda' at 'putIntegrationInput.type' failed to satisfy ..."
    found = refusal_of("apigateway", "rest-json", "PutIntegration", {"restApiId": "a", "resourceId": "b",
                                                                      "httpMethod": "GET", "type": "lambda"})
    assert (found.code, found.message) == (
        "ValidationException", "1 validation error detected: Value 'lambda' at 'putIntegrationInput.type' failed to "
        "satisfy constraint: Member must satisfy enum value set: [HTTP, AWS, MOCK, HTTP_PROXY, AWS_PROXY]")


def test_list_items_are_named_as_the_services_name_them():
    found = refusal_of("iam", "query", "CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": "{}",
                                                      "Tags": [{"Key": "k" * 129, "Value": "v"}]})
    assert "at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to " \
           "128" in found.message


def test_a_sensitive_value_is_not_repeated_in_the_message():
    found = refusal_of("secretsmanager", "json", "CreateSecret", {"Name": "s", "SecretString": "p" * 70000})
    assert found.code == "ValidationException"
    assert found.message == ("1 validation error detected: Value at 'secretString' failed to satisfy constraint: "
                             "Member must have length less than or equal to 65536")


def test_what_the_sdks_fill_or_the_services_ignore_is_not_refused():
    # an idempotency token the SDK fills, a member the model does not know, a null the JSON protocol allows
    assert refusal_of("ec2", "ec2", "CreateNetworkInsightsPath", {"Source": "eni-1", "Protocol": "tcp"}) is None
    assert refusal_of("secretsmanager", "json", "CreateSecret", {"Name": "s", "Colour": "blue",
                                                                 "Description": None}) is None
    # EC2 reads enum values without case
    assert refusal_of("ec2", "ec2", "CreateVpcEndpoint", {"VpcId": "vpc-1", "VpcEndpointType": "interface"}) is None


def test_ec2_words_a_missing_or_unknown_value_its_own_way():
    missing = refusal_of("ec2", "ec2", "CreateSubnet", {"CidrBlock": "10.0.0.0/24"})
    assert (missing.code, missing.message) == ("MissingParameter", "The request must contain the parameter VpcId")
    wrong = refusal_of("ec2", "ec2", "CreateVpcEndpoint", {"VpcId": "vpc-1", "VpcEndpointType": "Interfce"})
    assert (wrong.code, wrong.message) == ("InvalidParameterValue",
                                           "Value (Interfce) for parameter vpcEndpointType is invalid.")


def test_a_json_value_of_the_wrong_type_cannot_be_read():
    found = refusal_of("secretsmanager", "json", "GetSecretValue", {"SecretId": 42})
    assert (found.code, found.message) == ("SerializationException", "Unexpected value type at 'secretId'")


def test_a_pattern_python_reads_otherwise_than_java_is_not_applied():
    assert constraints._pattern(r"[\p{L}\p{N}]+") is None
    assert constraints._pattern(r"[\w+=,.@-]+").fullmatch("lab-role") is not None


TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def trust(principal) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


@pytest.mark.parametrize("principal", [
    "*", {"AWS": "123456789012"}, {"AWS": "arn:aws:iam::210987654321:role/elsewhere"},
    {"AWS": "arn:aws:iam::123456789012:root"}, {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
    {"Federated": "cognito-identity.amazonaws.com"}])
def test_principals_iam_resolves_are_accepted(principal):
    with mock_aws():
        policies.check_trust_policy(trust(principal))


@pytest.mark.parametrize("principal, message", [
    ({"Service": "lambda"}, 'Invalid principal in policy: "SERVICE":"lambda"'),
    ({"Service": "Lambda.amazonaws.com"}, 'Invalid principal in policy: "SERVICE":"Lambda.amazonaws.com"'),
    ({"AWS": "arn:aws:iam::123456789012:role/nobody"},
     'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/nobody"'),
    ({"AWS": "lambda.amazonaws.com"}, 'Invalid principal in policy: "AWS":"lambda.amazonaws.com"'),
    ({"Lambda": "x"}, 'Invalid principal in policy: "LAMBDA":"x"'),
])
def test_principals_iam_cannot_resolve_are_refused(principal, message):
    """Unit level: every kind of unresolvable principal with IAM's message; the integration tests on trust policies
    (test_strict_requests.py) cover CreateRole and UpdateAssumeRolePolicy refusing them to boto3 and the CLI."""
    with mock_aws(), pytest.raises(Refusal) as refused:
        policies.check_trust_policy(trust(principal))
    assert (refused.value.code, refused.value.message) == ("MalformedPolicyDocument", message)


def test_a_trust_policy_needs_a_principal():
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})
    with pytest.raises(Refusal, match="Missing required field Principal"):
        policies.check_trust_policy(document)


def test_trusts_reads_allow_deny_and_wildcards():
    assert policies.trusts(json.dumps(TRUST_LAMBDA), "lambda.amazonaws.com")
    assert not policies.trusts(json.dumps(TRUST_LAMBDA), "rds.amazonaws.com")
    wildcard = {**TRUST_LAMBDA, "Statement": [{**TRUST_LAMBDA["Statement"][0], "Action": "sts:*"}]}
    assert policies.trusts(json.dumps(wildcard), "lambda.amazonaws.com")
    denied = {**TRUST_LAMBDA, "Statement": TRUST_LAMBDA["Statement"] + [{**TRUST_LAMBDA["Statement"][0],
                                                                          "Effect": "Deny"}]}
    assert not policies.trusts(json.dumps(denied), "lambda.amazonaws.com")
    assert not policies.trusts(None, "lambda.amazonaws.com")


@pytest.mark.parametrize("service, protocol, operation_name", [
    ("iam", "query", "CreateRole"), ("rds", "query", "CreateDBProxy"), ("ec2", "ec2", "CreateSubnet"),
    ("secretsmanager", "json", "GetSecretValue"), ("lambda", "rest-json", "CreateFunction"),
    ("apigateway", "rest-json", "PutIntegration")])
def test_each_refusal_reads_back_in_botocore_as_the_service_s_error(service, protocol, operation_name):
    model = SESSION.get_service_model(service)
    status, headers, body = wire.answer(service, protocol, model.metadata, Refusal("SomeCode", "a <message> & more"))
    parser = botocore.parsers.create_parser(model.protocol)
    parsed = parser.parse({"status_code": status, "headers": HeadersDict(headers), "body": body},
                          model.operation_model(operation_name).output_shape)
    assert status == 400
    assert (parsed["Error"]["Code"], parsed["Error"]["Message"]) == ("SomeCode", "a <message> & more")


@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_an_old_or_missing_version_is_accepted_as_iam_accepts_it(version):
    """moto refuses it; IAM reads a policy without Version (or with 2008-10-17) as the old grammar, and refuses
    it only when it uses policy variables. The rest of the document is still checked."""
    def document(statement: dict) -> str:
        return json.dumps({**({"Version": version} if version else {}), "Statement": [statement]})

    with mock_aws():
        policies.check_trust_policy(document(TRUST_LAMBDA["Statement"][0]))
        policies.check_identity_policy(document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
        with pytest.raises(Refusal, match="must be version 2012-10-17 or greater"):
            policies.check_identity_policy(document({"Effect": "Allow", "Action": "s3:GetObject",
                                                     "Resource": "arn:aws:s3:::b/${aws:username}/*"}))
        with pytest.raises(Refusal, match="must be in ARN format"):
            policies.check_identity_policy(document({"Effect": "Allow", "Action": "s3:GetObject",
                                                     "Resource": "my-bucket"}))
