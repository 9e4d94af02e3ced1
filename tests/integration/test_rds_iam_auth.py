"""IAM database authentication through the local RDS Proxy, set up through the RDS API as on AWS: each
login a learner would try, answered with RDS Proxy's error."""
from __future__ import annotations

import dataclasses

import boto3
import pymysql
import pytest

from lab_helpers import baseline, cleanup, iam_db_auth, module3, proxy
from lab_helpers.cleanup import ALREADY_GONE, DELETED
from lab_helpers.local import LEARNER_ACCESS_KEY, LEARNER_SECRET_KEY
from tests.unit.test_aws_requests import Requests, problems

USER = "admin"


def test_notebook_08_s_requests_are_what_aws_accepts_and_module3_comes_back(lab, capsys):
    """08's helpers as the notebook calls them (the same requests on both targets; on AWS they also wait for IAM):
    every request checked against botocore's models (as the whole AWS path is in tests/unit/test_aws_requests.py),
    each refusal as RDS Proxy gives it, and Module 3 as 06 left it afterwards."""
    baseline.ensure_baseline(lab)
    module3.ensure_module3(lab)
    module3.deploy_improved_function(lab)
    requests = Requests()
    lab.session.events.register("before-parameter-build.*.*", requests.record)
    recorded = dataclasses.replace(lab, _clients={})  # clients made now, with the recorder
    try:
        assert [row["iam_auth"] for row in iam_db_auth.require_iam_auth(recorded)] == ["REQUIRED"]
        iam_db_auth.deploy_iam_function(recorded)
        denied_body = iam_db_auth.stage_answer(recorded)[1]
        assert iam_db_auth.ensure_connect_policy(recorded)["resources"] == [iam_db_auth.dbuser_arn(recorded)]
        body = iam_db_auth.stage_answer(recorded, expect_ok=True)[1]
        iam_db_auth.ensure_probe(recorded)
        tried = iam_db_auth.attempts(recorded)
        iam_db_auth.restore(recorded)
        after_body = iam_db_auth.stage_answer(recorded)[1]
        iam_db_auth.check(recorded, denied_body, body, tried, after_body)
    finally:
        lab.session.events.unregister("before-parameter-build.*.*", requests.record)
    assert "✅ IAM 인증 확인" in capsys.readouterr().out
    operations = {(service.service_name, name) for service, name, _ in requests.log}
    assert {("rds", "ModifyDBProxy"), ("iam", "PutRolePolicy"), ("iam", "DeleteRolePolicy"),
            ("lambda", "CreateFunction"), ("lambda", "Invoke")} <= operations
    wrong = [f"{service.service_name}.{name}: {problem}" for service, name, params in requests.log
             for problem in problems(service.operation_model(name).input_shape, params, name)]
    assert wrong == []
    assert iam_db_auth.iam_auth_mode(lab) == "DISABLED"
    removed = cleanup.run(lab, iam_db_auth.RESOURCES)  # what 99_cleanup removes of 08: the probe, nothing else left
    assert [row["result"] for row in removed] == [DELETED, DELETED, ALREADY_GONE, ALREADY_GONE]


@pytest.fixture(scope="module")
def iam_required(lab):
    """The lab's proxy with IAMAuth REQUIRED for its secret; DISABLED again afterwards."""
    baseline.ensure_baseline(lab)
    module3.ensure_module3(lab)
    client = lab.client("rds")
    (described,) = client.describe_db_proxies(DBProxyName=lab.names.proxy)["DBProxies"]
    auth = [{**entry, "IAMAuth": "REQUIRED"} for entry in described["Auth"]]
    changed = client.modify_db_proxy(DBProxyName=lab.names.proxy, Auth=auth)["DBProxy"]
    yield changed
    client.modify_db_proxy(DBProxyName=lab.names.proxy,
                           Auth=[{**entry, "IAMAuth": "DISABLED"} for entry in described["Auth"]])


def token(lab, user: str = USER, key: str = LEARNER_ACCESS_KEY, secret: str = LEARNER_SECRET_KEY) -> str:
    session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=lab.region)
    return session.client("rds").generate_db_auth_token(proxy.proxy_endpoint(lab), 3306, user)


def login(lab, cloud, password: str, tls: bool = True, user: str = USER) -> pymysql.connections.Connection:
    bundle = str(cloud["root"] / "ca" / "local-root-ca.pem")
    tls_args = {"ssl_ca": bundle, "ssl_verify_cert": True, "ssl_verify_identity": True} if tls else {
        "ssl_disabled": True}
    return pymysql.connect(host=proxy.proxy_endpoint(lab), user=user, password=password, connect_timeout=5,
                           **tls_args)


def refused(lab, cloud, password: str, **kwargs) -> tuple:
    with pytest.raises(pymysql.err.OperationalError) as raised:
        login(lab, cloud, password, **kwargs).close()
    return raised.value.args


def test_describe_db_proxies_shows_each_secrets_iam_auth(iam_required, lab):
    assert [entry["IAMAuth"] for entry in iam_required["Auth"]] == ["REQUIRED"]
    (described,) = lab.client("rds").describe_db_proxies(DBProxyName=lab.names.proxy)["DBProxies"]
    assert described["Auth"][0]["IAMAuth"] == "REQUIRED" and described["Auth"][0]["AuthScheme"] == "SECRETS"


def test_a_token_over_tls_logs_in_as_the_secrets_user(iam_required, lab, cloud):
    """From the host, verifying the proxy's name: the session is the secret's user. Notebook 08's attempts (the
    first test here) cover the password, another user's token and a token without TLS from Lambda; the bench
    (tests/rds_proxy/test_rds_proxy_iam_auth.py) and tests/unit/test_rds_iam_tokens.py each refusal's reason."""
    conn = login(lab, cloud, token(lab))
    with conn.cursor() as cur:
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchone()[0].startswith(USER + "@")
    conn.close()


def test_a_token_signed_with_keys_the_cloud_never_issued_is_access_denied(iam_required, lab, cloud):
    """Cloud level: the proxy asks the cloud's verifier over the wire and its refusal reaches the client as 1045;
    tests/unit/test_rds_iam_tokens.py's test_credentials_the_cloud_never_issued_are_refused covers each reason the
    verifier refuses (keys never issued, a wrong secret key, a stolen session token)."""
    code, _ = refused(lab, cloud, token(lab, key="AKIAIOSFODNN7EXAMPLE", secret="wJalrXUtnFEMI/K7MDENG/bPxRfiCY"))
    assert code == 1045


def test_iam_auth_enabled_is_refused_for_a_mysql_proxy(iam_required, lab):
    client = lab.client("rds")
    auth = [{**entry, "IAMAuth": "ENABLED"} for entry in iam_required["Auth"]]
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.modify_db_proxy(DBProxyName=lab.names.proxy, Auth=auth)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "SQL Server" in raised.value.response["Error"]["Message"]
