"""Contract tests of `lab_helpers.local.moto`: each names the moto behaviour the local cloud relies on.

The local cloud reads moto's models directly (what its API does not return) in that one module.
When a moto upgrade changes one of these, the test named after it fails here, before a learner's
lab does (and the adapter raises MotoContractError naming the same assumption).
"""
from __future__ import annotations

import json

import pytest

from lab_helpers import api, iam, lambda_fn, network, proxy, rds, secrets
from lab_helpers.local import moto
from lab_helpers.module3 import ensure_module3
from tests.unit.conftest import moto_lab

REGION = "ap-northeast-2"


@pytest.fixture(autouse=True)
def moto_unpatched():
    """Each test applies the patches it checks; moto's own code is back after it, for the next test."""
    yield
    moto.patches.undo_all()


@pytest.fixture
def lab(calls):
    """moto configured as the local cloud's server runs it (its full Lambda backend, not the
    Docker-less simple one the other unit tests use), with the lab's clients on it."""
    with moto_lab(calls, {"iam": {"load_aws_managed_policies": True}}) as lab:
        yield lab


def test_broken_assumptions_raise_an_error_that_names_them():
    with pytest.raises(moto.MotoContractError, match=r"LambdaFunction keeps code_bytes .*AttributeError"):
        with moto.assumption("LambdaFunction keeps code_bytes"):
            raise AttributeError("'LambdaFunction' object has no attribute 'code_bytes'")


def test_moto_keeps_the_deployed_zip_and_the_function_configuration(lab, function_ready, module2_package):
    """LambdaFunction.code_bytes, code_sha_256 (base64), run_time, handler, timeout, memory_size,
    environment_vars, role and _vpc_config hold what CreateFunction was given."""
    found = moto.awslambda.deployed_function(REGION, lab.names.function)
    assert found.code_zip == module2_package
    assert found.code_sha256 == lambda_fn.code_sha256(module2_package)  # base64, as Lambda reports CodeSha256
    assert (found.runtime, found.handler, found.timeout, found.memory_size) == (
        lab.names.function_runtime, lambda_fn.HANDLER, lab.names.function_timeout_s, lab.names.function_memory_mb)
    assert found.role == iam.find_lambda_role(lab)["arn"]
    assert found.subnet_ids == tuple(network.subnet_ids(lab, "lambda"))
    assert found.security_group_ids == (network.security_group_id(lab, lab.names.lambda_sg),)
    lambda_fn.ensure_function(lab, module2_package, {"A": "1"})
    assert moto.awslambda.deployed_function(REGION, found.arn).environment == {"A": "1"}  # by ARN too


def test_a_missing_function_is_moto_s_unknown_function_exception(lab):
    """LambdaBackend.get_function raises UnknownFunctionException for a name it does not know."""
    with pytest.raises(moto.FunctionNotFound):
        moto.awslambda.deployed_function(REGION, "no-such-function")
    with pytest.raises(moto.FunctionNotFound):
        moto.awslambda.function_policy_statements(REGION, "no-such-function")


def test_rest_api_routes_stages_and_permissions(lab, function_ready):
    """RestAPI.resources -> resource_methods -> method_integration (type, uri, integration_responses),
    RestAPI.stages (deployment_id), RestAPI.deployments; LambdaFunction.policy.statements."""
    found_api = api.ensure_api(lab)
    rest = moto.apigateway.find_rest_api(found_api["id"])
    assert rest.region == REGION and rest.stages == {"dev": found_api["deployment"]}
    assert found_api["deployment"] in rest.deployment_ids
    (route,) = rest.routes
    assert (route.path, route.method, route.integration_type, route.responses) == ("/", "GET", "AWS", (("200", None),))
    assert route.uri.endswith(f"functions/{function_ready['arn']}/invocations")
    (statement,) = moto.awslambda.function_policy_statements(REGION, lab.names.function)
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"].endswith(f"{found_api['id']}/*/GET/")
    assert moto.apigateway.find_rest_api("nope") is None


def test_moto_keeps_the_master_password_and_the_parameter_groups(lab, db_ready):
    """RDSDBInstance._master_user_password holds MasterUserPassword (its property does not return it);
    db_parameter_groups[name].parameters[param]["ParameterValue"] holds ModifyDBParameterGroup's value."""
    (db,) = moto.rds.db_instances()
    assert (db.identifier, db.engine, db.port) == (lab.names.db_instance, "mysql", 3306)
    assert (db.master_username, db.master_password) == (lab.names.db_master_user, lab.names.db_master_password)
    assert db.address == db_ready["host"]
    client = lab.client("rds")
    client.create_db_parameter_group(DBParameterGroupName="contract", DBParameterGroupFamily="mysql8.0",
                                     Description="contract test")
    client.modify_db_parameter_group(DBParameterGroupName="contract", Parameters=[
        {"ParameterName": "max_connections", "ParameterValue": "42", "ApplyMethod": "immediate"}])
    assert moto.rds.parameter_value(db.account, REGION, "contract", "max_connections") == "42"
    assert moto.rds.parameter_value(db.account, REGION, "no-such-group", "max_connections") is None


@pytest.fixture
def module3(lab):
    from lab_helpers.baseline import ensure_baseline

    ensure_baseline(lab)
    return ensure_module3(lab)


def test_proxy_configuration_and_targets(lab, module3, monkeypatch):
    """DBProxy (endpoint, auth, require_tls, idle_client_timeout) and its default target group
    (targets, max_connections, max_idle_connections, borrow_timeout, session_pinning_filters)."""
    (found,) = moto.rds.db_proxies()
    assert found.name == lab.names.proxy and found.endpoint == proxy.proxy_endpoint(lab)
    assert found.secret_arns == (secrets.find_secret(lab)["arn"],)
    assert found.target_instances == (lab.names.db_instance,)
    assert (found.max_connections_percent, found.max_idle_connections_percent, found.connection_borrow_timeout) == (
        100, 50, 120)
    lab.client("rds").modify_db_proxy_target_group(DBProxyName=lab.names.proxy, TargetGroupName="default",
                                                   ConnectionPoolConfig={"MaxConnectionsPercent": 40,
                                                                         "ConnectionBorrowTimeout": 7})
    again = moto.rds.db_proxy(found.account, REGION, lab.names.proxy)
    assert (again.max_connections_percent, again.connection_borrow_timeout) == (40, 7)
    assert moto.rds.db_proxy(found.account, REGION, "nope") is None


def test_proxy_targets_are_corrected_and_their_health_replaced(lab, module3):
    """DBProxyTarget has endpoint, port (moto: 5432), role (moto: None) and a target_health property
    answering REGISTERING once, then what the local cloud's health function says."""
    seen = []
    moto.patches.apply("rds target health",
                       target_health=lambda target: seen.append(target) or {"State": "UNAVAILABLE", "Reason": "TEST"})
    moto.rds.correct_proxy_targets()
    client = lab.client("rds")
    client.deregister_db_proxy_targets(DBProxyName=lab.names.proxy, DBInstanceIdentifiers=[lab.names.db_instance])
    registered = client.register_db_proxy_targets(DBProxyName=lab.names.proxy,
                                                  DBInstanceIdentifiers=[lab.names.db_instance])
    moto.rds.correct_proxy_targets()
    second = client.describe_db_proxy_targets(DBProxyName=lab.names.proxy)["Targets"][0]
    assert registered["DBProxyTargets"][0]["TargetHealth"] == {"State": "REGISTERING"}
    assert second["TargetHealth"]["State"] == "UNAVAILABLE" and second["TargetHealth"]["Reason"] == "TEST"
    assert (second["Endpoint"], second["Port"], second["Role"]) == (rds.db_host(lab), 3306, "READ_WRITE")
    assert seen[-1].proxy == lab.names.proxy and seen[-1].instance == lab.names.db_instance
    assert seen[-1].instance_exists


def test_secret_strings_and_arns(lab, secret_ready):
    """SecretsManagerBackend.get_secret_value(id, version, stage) returns {"SecretString": ...};
    .secrets maps names to secrets with .arn; a deleted secret raises a SecretsManagerClientError."""
    account = moto.ACCOUNT
    text = moto.secretsmanager.secret_string(account, REGION, secret_ready["arn"])
    assert json.loads(text)["username"] == lab.names.db_master_user
    assert moto.secretsmanager.secret_arn(REGION, lab.names.secret) == secret_ready["arn"]
    assert moto.secretsmanager.secret_arn(REGION, secret_ready["arn"]) == secret_ready["arn"]
    lab.client("secretsmanager").delete_secret(SecretId=lab.names.secret, RecoveryWindowInDays=7)
    assert moto.secretsmanager.secret_string(account, REGION, secret_ready["arn"]) is None  # scheduled for deletion
    assert moto.secretsmanager.secret_string(account, REGION, "no-such-secret") is None


def test_secret_versions_rotation_and_the_current_stage(lab, secret_ready):
    """FakeSecret.versions {id: {'version_stages'}}, rotation_lambda_arn, auto_rotate_after_days, rotation_enabled,
    remove_version_stages_from_old_versions; SecretsManagerBackend.update_secret_version_stage moves labels but
    keeps the old default version (what GetSecretValue without a stage answers)."""
    sm = lab.client("secretsmanager")
    TOKEN = "11111111-2222-3333-4444-555555555555"  # a ClientRequestToken: at least 32 characters
    found = moto.secretsmanager.secret_versions(REGION, lab.names.secret)
    (first,) = found.versions
    assert found.versions[first] == ("AWSCURRENT",) and found.rotation_lambda_arn == ""
    rotation_function = "arn:aws:lambda:ap-northeast-2:123456789012:function:f"
    moto.secretsmanager.start_rotation(REGION, found.arn, TOKEN, rotation_function, 30)
    described = sm.describe_secret(SecretId=lab.names.secret)
    assert described["RotationEnabled"] and described["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert moto.secretsmanager.secret_versions(REGION, lab.names.secret).versions[TOKEN] == ("AWSPENDING",)
    sm.put_secret_value(SecretId=lab.names.secret, ClientRequestToken=TOKEN, SecretString='{"password": "new"}',
                        VersionStages=["AWSPENDING"])
    sm.update_secret_version_stage(SecretId=lab.names.secret, VersionStage="AWSCURRENT", MoveToVersionId=TOKEN,
                                   RemoveFromVersionId=first)
    assert sm.get_secret_value(SecretId=lab.names.secret)["VersionId"] == first  # moto's own answer: stale
    moto.patches.apply("secretsmanager current stage")
    sm.update_secret_version_stage(SecretId=lab.names.secret, VersionStage="AWSCURRENT", MoveToVersionId=first,
                                   RemoveFromVersionId=TOKEN)
    sm.update_secret_version_stage(SecretId=lab.names.secret, VersionStage="AWSCURRENT", MoveToVersionId=TOKEN,
                                   RemoveFromVersionId=first)
    assert sm.get_secret_value(SecretId=lab.names.secret)["SecretString"] == '{"password": "new"}'
    assert moto.secretsmanager.secret_string(moto.ACCOUNT, REGION, lab.names.secret) == '{"password": "new"}'
    assert moto.secretsmanager.secret_versions(REGION, "no-such-secret") is None


def test_vpc_subnets_endpoints_rules_and_routes(lab, network_ready):
    """EC2Backend.subnets (by zone), vpc_end_points, get_security_group_from_id(...).ingress_rules
    (ip_protocol, from_port, to_port, source_group, ip_range) and route_tables (associations as
    dicts, main_association_id, routes with nat_gateway)."""
    lambda_subnets = tuple(network.subnet_ids(lab, "lambda"))
    found = moto.ec2.subnets(REGION, lambda_subnets)
    vpc_id = network.vpc_id(lab)
    assert {s.id for s in found} == set(lambda_subnets) and {s.vpc_id for s in found} == {vpc_id}
    assert {s.cidr for s in found} == {"10.0.1.0/24", "10.0.2.0/24"}
    network.ensure_secret_sg(lab)
    network.ensure_secrets_endpoint(lab)
    (endpoint,) = moto.ec2.interface_endpoints(REGION, vpc_id)
    assert endpoint.service_name == f"com.amazonaws.{REGION}.secretsmanager" and endpoint.private_dns
    assert endpoint.security_group_ids == (network.security_group_id(lab, lab.names.secret_sg),)
    (rule,) = moto.ec2.ingress_rules(REGION, network.security_group_id(lab, lab.names.secret_sg))
    assert (rule.protocol, rule.from_port, rule.to_port) == ("tcp", 443, 443)
    assert rule.source_group_ids == (network.security_group_id(lab, lab.names.lambda_sg),)
    tables = moto.ec2.route_tables(REGION, vpc_id)
    assert any(t.main for t in tables) and not any(t.default_route_to_nat for t in tables)
    public = network.subnet_ids(lab, "cloud9")[0]
    assert any(public in t.associated_subnets for t in tables)


def test_role_policies_are_evaluated_by_moto(lab, function_ready, secret_ready):
    """IAMBackend.get_role_by_arn; Role.managed_policies and Role.policies; IAMPolicy(...).is_action_permitted."""
    role = iam.find_lambda_role(lab)["arn"]
    action, secret = "secretsmanager:GetSecretValue", secret_ready["arn"]
    assert not moto.iam.policies_allow(moto.iam.role_policies(role), action, secret)
    iam.ensure_function_secret_policy(lab, secret)  # inline
    assert moto.iam.policies_allow(moto.iam.role_policies(role), action, secret)
    assert not moto.iam.policies_allow(moto.iam.role_policies(role), action, secret + "-other")
    iam.delete_function_secret_policy(lab)
    iam.attach_secrets_manager_read_write(lab)  # AWS managed
    assert moto.iam.policies_allow(moto.iam.role_policies(role), action, secret + "-other")
    assert moto.iam.role_policies("arn:aws:iam::123456789012:role/nope") is None


def test_the_server_app_and_the_backends_warm_up():
    """moto.moto_server.werkzeug_app.DomainDispatcherApplication(create_backend_app); moto.backends.get_backend."""
    assert callable(moto.wsgi_app())
    moto.warm_up(("iam", "ec2", "rds", "secretsmanager", "lambda", "apigateway"), REGION)


def test_instance_status_and_init_query_are_kept_where_moto_has_none(lab, module3):
    """DBInstance.status and engine_version are plain attributes moto reports; moto drops
    ConnectionPoolConfig.InitQuery, and DBProxyTargetGroup.connection_pool_config is a property."""
    assert moto.rds.set_db_instance_status(moto.ACCOUNT, REGION, lab.names.db_instance, "rebooting")
    assert rds.find_db_instance(lab)["state"] == "rebooting"
    assert not moto.rds.set_db_instance_status(moto.ACCOUNT, REGION, "no-such-instance", "rebooting")
    moto.rds.set_engine_version(moto.ACCOUNT, REGION, lab.names.db_instance, "8.0.40")
    assert rds.find_db_instance(lab)["engine_version"] == "8.0.40"
    client = lab.client("rds")
    client.modify_db_proxy_target_group(DBProxyName=lab.names.proxy, TargetGroupName="default",
                                        ConnectionPoolConfig={"InitQuery": "SET time_zone = '+07:00'"})
    (group,) = client.describe_db_proxy_target_groups(DBProxyName=lab.names.proxy)["TargetGroups"]
    assert "InitQuery" not in group["ConnectionPoolConfig"]  # moto's own answer
    moto.patches.apply("rds init query")
    moto.rds.set_init_query(moto.ACCOUNT, REGION, lab.names.proxy, "SET time_zone = '+07:00'")
    (group,) = client.describe_db_proxy_target_groups(DBProxyName=lab.names.proxy)["TargetGroups"]
    assert group["ConnectionPoolConfig"]["InitQuery"] == "SET time_zone = '+07:00'"
    assert moto.rds.db_proxies()[0].init_query == "SET time_zone = '+07:00'"


def test_function_answers_vpc_id_revision_and_code_location(lab, function_ready):
    """LambdaFunction.vpc_config is a property (moto's VpcId: a placeholder); get_configuration(), get_code(),
    update_configuration() and update_function_code() are methods; last_modified is what LastModified
    reports; moto has no RevisionId and names an S3 object as Code.Location."""
    client = lab.client("lambda")
    before = client.get_function(FunctionName=lab.names.function)
    assert before["Configuration"]["VpcConfig"]["VpcId"] != network.vpc_id(lab)  # moto's own answers
    assert "RevisionId" not in before["Configuration"] and before["Code"]["Location"].startswith("https://")
    moto.patches.apply("lambda function answers", endpoint="http://127.0.0.1:9")
    moto.patches.apply("lambda function answers", endpoint="http://127.0.0.1:9")  # twice: the same
    after = client.get_function(FunctionName=lab.names.function)
    assert after["Configuration"]["VpcConfig"]["VpcId"] == network.vpc_id(lab)
    revision = after["Configuration"]["RevisionId"]
    assert client.get_function_configuration(FunctionName=lab.names.function)["RevisionId"] == revision
    sha = after["Configuration"]["CodeSha256"]
    assert after["Code"]["Location"].startswith(f"http://127.0.0.1:9{moto.awslambda.CODE_PATH}/{REGION}/{lab.names.function}?")
    assert moto.awslambda.function_code(REGION, lab.names.function)[0] == sha
    assert moto.awslambda.function_code(REGION, "no-such-function") is None
    updated = client.update_function_configuration(FunctionName=lab.names.function, Description="changed")
    assert updated["RevisionId"] != revision and updated["LastModified"] > before["Configuration"]["LastModified"]
    assert client.get_function_configuration(FunctionName=lab.names.function)["RevisionId"] == updated["RevisionId"]


def test_requests_are_read_back_by_moto_s_router_and_parsers():
    """moto.core.routing.get_service_router(service).match(Request) and moto.core.parse.PROTOCOL_PARSERS, for the
    four protocols the lab's services use (query, ec2, json, rest-json)."""
    form = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    iam_call = moto.requests.parse_request("iam", "POST", "/", "", form,
                                           b"Action=CreateRole&Version=2010-05-08&RoleName=r"
                                           b"&Tags.member.1.Key=k&Tags.member.1.Value=v")
    assert (iam_call.operation.name, iam_call.protocol) == ("CreateRole", "query")
    assert iam_call.params == {"RoleName": "r", "Tags": [{"Key": "k", "Value": "v"}]}
    ec2_call = moto.requests.parse_request("ec2", "POST", "/", "", form, b"Action=CreateVpcEndpoint&Version=2016-11-15"
                                  b"&VpcId=vpc-1&SubnetId.1=subnet-1&PrivateDnsEnabled=true")
    assert (ec2_call.operation.name, ec2_call.protocol) == ("CreateVpcEndpoint", "ec2")
    assert ec2_call.params == {"VpcId": "vpc-1", "SubnetIds": ["subnet-1"], "PrivateDnsEnabled": True}
    json_call = moto.requests.parse_request("secretsmanager", "POST", "/", "", {
        "content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.GetSecretValue"},
        b'{"SecretId": "s"}')
    assert (json_call.operation.name, json_call.protocol, json_call.params) == ("GetSecretValue", "json",
                                                                                {"SecretId": "s"})
    rest_call = moto.requests.parse_request("lambda", "PUT", "/2015-03-31/functions/f/configuration", "",
                                   {"content-type": "application/json"}, b'{"Timeout": 30}')
    assert (rest_call.operation.name, rest_call.protocol) == ("UpdateFunctionConfiguration", "rest-json")
    assert {k: v for k, v in rest_call.params.items() if v is not None} == {"FunctionName": "f", "Timeout": 30}
    assert moto.requests.parse_request("lambda", "GET", "/no/such/route", "", {}, b"") is None


def test_policy_grammar_principals_zones_and_dns_attributes(lab, function_ready):
    """moto.iam.policy_validation's validators and MalformedPolicyDocument.message; IAMBackend.users;
    Role.assume_role_policy_document; Subnet.availability_zone; VPC.enable_dns_support/enable_dns_hostnames."""
    assert moto.iam.policy_document_error("not json", trust=True) == "Syntax errors in policy."
    resource = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                                   "Resource": "b"}]})
    assert moto.iam.policy_document_error(resource, trust=False) == 'Resource b must be in ARN format or "*".'
    role = iam.find_lambda_role(lab)["arn"]
    assert moto.iam.iam_principal_exists(role) and not moto.iam.iam_principal_exists(role + "-gone")
    assert "lambda.amazonaws.com" in moto.iam.role_trust_policy(role)
    assert moto.iam.role_trust_policy(role + "-gone") is None
    zones = moto.ec2.subnet_zones(REGION, tuple(network.subnet_ids(lab, "lambda")))
    assert len(set(zones.values())) == 2 and all(z.startswith(REGION) for z in zones.values())
    assert moto.ec2.vpc_dns(REGION, network.vpc_id(lab))[0] is True
    assert moto.ec2.vpc_dns(REGION, "vpc-0000000000000000") is None


def test_a_proxy_with_end_to_end_iam_and_no_auth(lab, module3):
    """RDSResponse.create_db_proxy reads params["Auth"] (moto fails without it) and drops DefaultAuthScheme; the
    patch creates the proxy without Auth, and DBProxy.default_auth_scheme is what DescribeDBProxies reports. A DB
    instance's enable_iam_database_authentication follows ModifyDBInstance, and dbi_resource_id can be given."""
    client = lab.client("rds")
    (existing,) = client.describe_db_proxies(DBProxyName=lab.names.proxy)["DBProxies"]
    assert "DefaultAuthScheme" not in existing  # moto's own answer
    request = {"DBProxyName": "contract-e2e", "EngineFamily": "MYSQL", "DefaultAuthScheme": "IAM_AUTH",
               "RoleArn": existing["RoleArn"], "VpcSubnetIds": existing["VpcSubnetIds"]}
    with pytest.raises(KeyError, match="(?i)auth"):  # (moto's parameters are a case-insensitive mapping)
        client.create_db_proxy(**request)
    moto.patches.apply("rds proxy default auth scheme")
    created = client.create_db_proxy(**request)["DBProxy"]
    assert created["DefaultAuthScheme"] == "IAM_AUTH" and not created.get("Auth")
    found = moto.rds.db_proxy(moto.ACCOUNT, REGION, "contract-e2e")
    assert (found.default_auth_scheme, found.secret_arns, found.role_arn) == ("IAM_AUTH", (), existing["RoleArn"])
    moto.rds.modify_db_proxy(moto.ACCOUNT, REGION, "contract-e2e", default_auth_scheme="NONE")
    (described,) = client.describe_db_proxies(DBProxyName="contract-e2e")["DBProxies"]
    assert described["DefaultAuthScheme"] == "NONE"
    client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, EnableIAMDatabaseAuthentication=True,
                              ApplyImmediately=True)
    moto.rds.give_resource_id(moto.ACCOUNT, REGION, lab.names.db_instance)
    (db,) = moto.rds.db_instances()
    (instance,) = client.describe_db_instances(DBInstanceIdentifier=lab.names.db_instance)["DBInstances"]
    assert db.iam_database_authentication and instance["IAMDatabaseAuthenticationEnabled"]
    assert db.resource_id == instance["DbiResourceId"]


CHECKED_PATCHES = {"rds target health", "secretsmanager current stage", "rds init query", "lambda function answers",
                   "rds proxy default auth scheme"}


def test_every_patch_of_moto_has_its_contract_test_here():
    assert set(moto.patches.REGISTRY) == CHECKED_PATCHES, "a new patch of moto needs a contract test in this file"


def test_patches_apply_all_at_once_and_undo_puts_motos_code_back():
    from moto.awslambda.models import LambdaFunction
    from moto.rds.models import DBProxyTarget

    before = {name: dict(vars(LambdaFunction)).get(name) for name in ("get_code", "vpc_config")}
    health = DBProxyTarget.__dict__["target_health"]
    moto.patches.apply_all(endpoint="http://127.0.0.1:9", target_health=lambda target: {"State": "AVAILABLE"})
    assert moto.patches.applied() == sorted(CHECKED_PATCHES)
    assert LambdaFunction.__dict__["get_code"] is not before["get_code"]
    moto.patches.apply_all(endpoint="http://127.0.0.1:8", target_health=lambda target: {"State": "AVAILABLE"})
    moto.patches.undo_all()  # once undoes both applications: patches never stack
    assert moto.patches.applied() == []
    assert {name: LambdaFunction.__dict__[name] for name in before} == before
    assert DBProxyTarget.__dict__["target_health"] is health
