"""Module 3's handler when something is wrong: a clear error result, and never the password."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from lab_helpers import baseline, iam, lambda_fn, module3, network, proxy
from lab_helpers.local.ports import free_port
from tests.integration.conftest import admin_query
from tests.polling import wait_until

READ_WRITE_ARN = "arn:aws:iam::aws:policy/SecretsManagerReadWrite"  # the local cloud's partition: aws

NAME = "lab-test-module3-failures"
WRONG_SECRET = "lab-test-wrong-password"
WRONG_PASSWORD = "N0t-the-passw0rd"


TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def failing(lab):
    """Module 3's code in a function of its own, outside the VPC, with the module's broad
    SecretsManagerReadWrite policy, so each test can point it at another secret or host."""
    baseline.ensure_baseline(lab)
    module3.ensure_module3(lab)
    lam, sm, client_iam = lab.client("lambda"), lab.client("secretsmanager"), lab.client("iam")
    role = client_iam.create_role(RoleName=NAME, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    client_iam.attach_role_policy(RoleName=NAME, PolicyArn=READ_WRITE_ARN)
    sm.create_secret(Name=WRONG_SECRET, SecretString=json.dumps(
        {"username": lab.names.db_master_user, "password": WRONG_PASSWORD, "engine": "mysql"}))
    lam.create_function(FunctionName=NAME, Runtime="python3.12", Role=role, Timeout=15,
                        Handler="lambda_function.lambda_handler", Code={"ZipFile": lambda_fn.build_package("module3")})
    yield
    lam.delete_function(FunctionName=NAME)
    sm.delete_secret(SecretId=WRONG_SECRET, ForceDeleteWithoutRecovery=True)
    client_iam.detach_role_policy(RoleName=NAME, PolicyArn=READ_WRITE_ARN)
    client_iam.delete_role(RoleName=NAME)

def run_with(lab, **variables) -> tuple[dict, str]:
    lam = lab.client("lambda")
    lam.update_function_configuration(FunctionName=NAME, Environment={"Variables": variables})
    lam.get_waiter("function_updated").wait(FunctionName=NAME)
    r = lam.invoke(FunctionName=NAME, LogType="Tail")
    assert "FunctionError" not in r  # the handler answers with its own error result
    return json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode()


def error_of(result: dict) -> dict:
    assert result["statusCode"] == 500, result
    return json.loads(result["body"])


def assert_no_password(lab, *texts: str) -> None:
    for text in texts:
        assert lab.names.db_master_password not in text
        assert WRONG_PASSWORD not in text


def function_logs(cloud) -> str:
    return "\n".join(p.read_text(errors="replace") for p in Path(cloud["root"]).rglob("*.log") if NAME in str(p))


def test_the_working_configuration_answers(failing, lab):
    result, log = run_with(lab, SECRET_NAME=lab.names.secret, DB_HOST=proxy.proxy_endpoint(lab))
    assert result["statusCode"] == 200, (result, log)
    assert_no_password(lab, json.dumps(result), log)


def test_a_missing_secret(failing, lab, cloud):
    result, log = run_with(lab, SECRET_NAME="no-such-secret", DB_HOST=proxy.proxy_endpoint(lab))
    error = error_of(result)
    assert error["errorType"] == "ResourceNotFoundException"
    assert_no_password(lab, json.dumps(result), log, function_logs(cloud))


def test_a_wrong_password_in_the_secret(failing, lab, cloud):
    result, log = run_with(lab, SECRET_NAME=WRONG_SECRET, DB_HOST=proxy.proxy_endpoint(lab))
    error = error_of(result)
    assert error["errorType"] == "OperationalError"
    assert "Access denied" in error["errorMessage"]
    assert_no_password(lab, json.dumps(result), log, function_logs(cloud))


def test_an_unreachable_proxy(failing, lab, cloud):
    result, log = run_with(lab, SECRET_NAME=lab.names.secret, DB_HOST="127.0.0.1", DB_PORT=str(free_port()))
    error = error_of(result)
    assert error["errorType"] == "OperationalError"
    assert "Can't connect" in error["errorMessage"]
    assert_no_password(lab, json.dumps(result), log, function_logs(cloud))


def test_no_db_host_configured(failing, lab):
    result, _ = run_with(lab, SECRET_NAME=lab.names.secret)
    error = error_of(result)
    assert error["errorType"] == "ConfigurationError" and "DB_HOST" in error["errorMessage"]


def test_a_rotated_password_is_fetched_again_once(failing, lab, cloud):
    """Warm environment, cached secret; the password changes and the connection drops: one refetch, no error.

    The connection goes through RDS Proxy (TLS verified): it drops when the proxy's process is
    replaced, and the proxy then logs clients in with the rotated secret only."""
    import os
    import signal
    import urllib.request

    sm, endpoint = lab.client("secretsmanager"), proxy.proxy_endpoint(lab)
    old = sm.get_secret_value(SecretId=lab.names.secret)["SecretString"]

    def rotate(password: str, secret: str) -> None:
        admin_query(cloud["root"], f"ALTER USER '{lab.names.db_master_user}'@'%' IDENTIFIED BY '{password}'")
        sm.put_secret_value(SecretId=lab.names.secret, SecretString=secret)

    def proxy_process() -> dict:
        health = json.loads(urllib.request.urlopen(cloud["endpoint"] + "/_lab/health").read())
        return next(p for p in health["proxies"] if p["name"] == lab.names.proxy)

    first, _ = run_with(lab, SECRET_NAME=lab.names.secret, DB_HOST=endpoint)
    assert first["statusCode"] == 200
    try:
        rotate("second-Passw0rd", json.dumps({**json.loads(old), "password": "second-Passw0rd"}))
        before = proxy_process()
        os.kill(before["pid"], signal.SIGKILL)  # every client connection of the proxy drops
        wait_until(lambda: proxy_process()["restarts"] > before["restarts"] and proxy_process()["healthy"], timeout=10)
        r = lab.client("lambda").invoke(FunctionName=NAME)  # same environment: the cached password is stale
        second = json.loads(r["Payload"].read())
        assert second["statusCode"] == 200, second
    finally:
        rotate(lab.names.db_master_password, old)


def in_the_vpc(lab, name: str, security_group: str, timeout: int = 3) -> dict:
    """Module 3's code in the lab's Lambda subnets, with the lab's (least-privilege) role."""
    lam = lab.client("lambda")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=iam.find_lambda_role(lab)["arn"],
                        Timeout=timeout, Handler="lambda_function.lambda_handler",
                        Code={"ZipFile": lambda_fn.build_package("module3")},
                        Environment={"Variables": module3.function_environment(lab)},
                        VpcConfig={"SubnetIds": network.subnet_ids(lab, "lambda"),
                                   "SecurityGroupIds": [security_group]})
    try:
        r = lam.invoke(FunctionName=name)
        return {"error": r.get("FunctionError"), **json.loads(r["Payload"].read())}
    finally:
        lam.delete_function(FunctionName=name)


def test_the_lab_role_reads_only_its_own_secret(failing, lab):
    """Step 3's least privilege is enforced: the same role, another secret, AccessDeniedException."""
    lam = lab.client("lambda")
    name = NAME + "-least-privilege"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=iam.find_lambda_role(lab)["arn"], Timeout=15,
                        Handler="lambda_function.lambda_handler", Code={"ZipFile": lambda_fn.build_package("module3")},
                        Environment={"Variables": {"SECRET_NAME": WRONG_SECRET, "DB_HOST": proxy.proxy_endpoint(lab)}})
    try:
        result = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    finally:
        lam.delete_function(FunctionName=name)
    error = error_of(result)
    assert error["errorType"] == "AccessDeniedException"
    assert f"assumed-role/{lab.names.lambda_role}/{name} is not authorized to perform: " \
           "secretsmanager:GetSecretValue" in error["errorMessage"]


def test_in_the_vpc_the_secret_is_reached_through_the_endpoint(failing, lab):
    result = in_the_vpc(lab, NAME + "-in-vpc", network.security_group_id(lab, lab.names.lambda_sg))
    assert result["error"] is None and result["statusCode"] == 200


def test_in_the_vpc_without_a_way_to_secrets_manager_the_call_hangs_until_the_timeout(failing, lab):
    """A security group that secret-sg does not admit: no path to the endpoint, as with no endpoint at all."""
    ec2 = lab.client("ec2")
    group = ec2.create_security_group(GroupName="lab-test-not-admitted", Description="not admitted by secret-sg",
                                      VpcId=network.vpc_id(lab))["GroupId"]
    try:
        result = in_the_vpc(lab, NAME + "-no-path", group, timeout=2)
    finally:
        ec2.delete_security_group(GroupId=group)
    assert result["error"] == "Unhandled"
    assert result["errorType"] == "Sandbox.Timedout"
