"""End-to-end IAM authentication through the local RDS Proxy (DefaultAuthScheme IAM_AUTH), set up through the RDS
and IAM APIs as on AWS: a proxy with no secret at all, clients logging in with tokens, and the proxy logging in to
the database with tokens of its own role, checked by the database's side; each refusal with the error RDS gives."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import boto3
import pymysql
import pytest

from lab_helpers import baseline, module3
from lab_helpers.local import LEARNER_ACCESS_KEY, LEARNER_SECRET_KEY
from lab_helpers.local.rds import mariadb
from lab_helpers.local.rds.iam_db_login import identify_with_aws_plugin
from tests.integration.conftest import admin_query
from tests.polling import wait_until
from tests.unit.test_aws_requests import Requests, problems

PROXY = "lab-e2e-iam"
POLICY = "lab-e2e-connect"
IAM_USERS = ("jane", "kim", "park")  # identified with AWSAuthenticationPlugin; the role may connect as jane and park
PASSWORD_USER = "lee"  # a user with a password, whom the role may connect as too
GRANTED = ("jane", "park", PASSWORD_USER)


@pytest.fixture(scope="module")
def e2e(lab, cloud):
    """A second proxy of the lab's database with DefaultAuthScheme IAM_AUTH and no Auth, its role (the lab's proxy
    role) allowed rds-db:connect as GRANTED on the instance, IAM database authentication enabled on the instance, and
    the database's users; every request recorded. All of it removed again afterwards."""
    baseline.ensure_baseline(lab)
    module3.ensure_module3(lab)
    socket = mariadb.MariaDB(Path(cloud["root"]) / "mariadb").socket
    for user in IAM_USERS:
        identify_with_aws_plugin(socket, user)
    admin_query(cloud["root"], f"CREATE USER IF NOT EXISTS '{PASSWORD_USER}'@'%' IDENTIFIED BY 'a-password-1'")
    for user in (*IAM_USERS, PASSWORD_USER):
        admin_query(cloud["root"], f"GRANT SELECT ON *.* TO '{user}'@'%'")
    requests = Requests()
    lab.session.events.register("before-parameter-build.*.*", requests.record)
    recorded = dataclasses.replace(lab, _clients={})
    rds, iam = recorded.client("rds"), recorded.client("iam")
    (lab_proxy,) = rds.describe_db_proxies(DBProxyName=lab.names.proxy)["DBProxies"]
    instance = rds.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance,
                                      EnableIAMDatabaseAuthentication=True, ApplyImmediately=True)["DBInstance"]
    role = lab_proxy["RoleArn"].split("/")[-1]
    grant({"instance": instance, "iam": iam, "role": role}, GRANTED)
    created = rds.create_db_proxy(DBProxyName=PROXY, EngineFamily="MYSQL", DefaultAuthScheme="IAM_AUTH",
                                  RoleArn=lab_proxy["RoleArn"], VpcSubnetIds=lab_proxy["VpcSubnetIds"],
                                  VpcSecurityGroupIds=lab_proxy["VpcSecurityGroupIds"], RequireTLS=True)["DBProxy"]
    rds.register_db_proxy_targets(DBProxyName=PROXY, DBInstanceIdentifiers=[lab.names.db_instance])
    (described,) = rds.describe_db_proxies(DBProxyName=PROXY)["DBProxies"]
    try:
        yield {"created": created, "endpoint": described["Endpoint"], "instance": instance, "rds": rds, "iam": iam,
               "role": role, "requests": requests, "lab_proxy": lab_proxy, "socket": socket}
    finally:
        lab.session.events.unregister("before-parameter-build.*.*", requests.record)
        client = lab.client("rds")
        client.delete_db_proxy(DBProxyName=PROXY)
        lab.client("iam").delete_role_policy(RoleName=role, PolicyName=POLICY)
        client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, EnableIAMDatabaseAuthentication=False,
                                  ApplyImmediately=True)
        for user in (*IAM_USERS, PASSWORD_USER):
            admin_query(cloud["root"], f"DROP USER IF EXISTS '{user}'@'%'")


def connect(e2e, cloud, user: str) -> pymysql.connections.Connection:
    """A client of the end-to-end proxy: a token signed with the learner's keys (the account's administrator, allowed
    rds-db:connect on the proxy), over TLS with the proxy's certificate checked."""
    endpoint = e2e["endpoint"]
    session = boto3.Session(aws_access_key_id=LEARNER_ACCESS_KEY, aws_secret_access_key=LEARNER_SECRET_KEY,
                            region_name=e2e["rds"].meta.region_name)
    token = session.client("rds").generate_db_auth_token(endpoint, 3306, user)
    bundle = str(cloud["root"] / "ca" / "local-root-ca.pem")
    return pymysql.connect(host=endpoint, user=user, password=token, connect_timeout=5, ssl_ca=bundle,
                           ssl_verify_cert=True, ssl_verify_identity=True)


def current_user(e2e, cloud, user: str) -> str:
    conn = connect(e2e, cloud, user)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            return cur.fetchone()[0]
    finally:
        conn.close()


def refused(e2e, cloud, user: str) -> tuple:
    """What a client sees when the database refuses the proxy's login: its first statement fails."""
    with pytest.raises(pymysql.err.OperationalError) as raised:
        current_user(e2e, cloud, user)
    return raised.value.args


def test_the_proxy_has_no_secret_and_describes_its_default_auth_scheme(e2e, lab):
    assert e2e["created"]["DefaultAuthScheme"] == "IAM_AUTH" and not e2e["created"].get("Auth")
    (described,) = lab.client("rds").describe_db_proxies(DBProxyName=PROXY)["DBProxies"]
    assert described["DefaultAuthScheme"] == "IAM_AUTH" and not described.get("Auth")
    (lab_proxy,) = lab.client("rds").describe_db_proxies(DBProxyName=lab.names.proxy)["DBProxies"]
    assert lab_proxy["DefaultAuthScheme"] == "NONE" and lab_proxy["Auth"]  # the lab's, with its secret
    assert e2e["instance"]["IAMDatabaseAuthenticationEnabled"]
    targets = lab.client("rds").describe_db_proxy_targets
    health = wait_until(lambda: (h := targets(DBProxyName=PROXY)["Targets"][0]["TargetHealth"])["State"] != (
        "REGISTERING") and h, timeout=10, interval=0.2)
    assert health == {"State": "AVAILABLE"}  # no secret to log in with: the database reachable is enough


def test_a_client_reaches_the_database_end_to_end_with_iam_only(e2e, cloud):
    assert current_user(e2e, cloud, "jane") == "jane@%"


def grant(e2e, users: tuple[str, ...]) -> None:
    """The proxy's role allowed rds-db:connect as `users` on the instance (the policy replaced)."""
    arn = e2e["instance"]["DBInstanceArn"]  # arn:aws:rds:<region>:<account>:db:<name>
    region, account = arn.split(":")[3], arn.split(":")[4]
    dbusers = [f"arn:aws:rds-db:{region}:{account}:dbuser:{e2e['instance']['DbiResourceId']}/{u}" for u in users]
    e2e["iam"].put_role_policy(RoleName=e2e["role"], PolicyName=POLICY, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": dbusers}]}))


def test_the_proxys_role_without_rds_db_connect_on_the_user_is_refused(e2e, cloud):
    """Cloud level: the client's 1045, and the grant alone lets it in; tests/unit/test_end_to_end_iam_tokens.py
    covers which policy and which ARN the database's side asks for."""
    code, message = refused(e2e, cloud, "kim")  # identified with the plugin, but not in the role's policy
    assert code == 1045 and message.startswith("Access denied for user 'kim'@") and "(using password: YES)" in message
    grant(e2e, (*GRANTED, "kim"))
    try:
        assert current_user(e2e, cloud, "kim") == "kim@%"  # the permission was all that was missing
    finally:
        grant(e2e, GRANTED)


def test_a_database_user_not_identified_with_the_aws_plugin_is_refused(e2e, cloud):
    code, message = refused(e2e, cloud, PASSWORD_USER)  # in the role's policy, but a password user
    assert code == 1045 and message.startswith(f"Access denied for user '{PASSWORD_USER}'@")
    identify_with_aws_plugin(e2e["socket"], PASSWORD_USER)  # ALTER USER ... IDENTIFIED WITH AWSAuthenticationPlugin
    assert current_user(e2e, cloud, PASSWORD_USER) == f"{PASSWORD_USER}@%"


def test_an_instance_without_iam_database_authentication_is_refused(e2e, cloud, lab):
    """Cloud level: ModifyDBInstance turns it off and on for the running proxy; tests/unit/test_end_to_end_iam_tokens.py
    covers the reason the database's side gives."""
    client = lab.client("rds")
    client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, EnableIAMDatabaseAuthentication=False,
                              ApplyImmediately=True)
    try:
        code, message = refused(e2e, cloud, "park")  # identified with the plugin and granted: only the instance says no
        assert code == 1045 and message.startswith("Access denied for user 'park'@")
    finally:
        client.modify_db_instance(DBInstanceIdentifier=lab.names.db_instance, EnableIAMDatabaseAuthentication=True,
                                  ApplyImmediately=True)
    assert current_user(e2e, cloud, "park") == "park@%"


def test_the_secrets_password_does_not_log_in_to_an_end_to_end_proxy(e2e, cloud, lab):
    endpoint = e2e["endpoint"]
    bundle = str(cloud["root"] / "ca" / "local-root-ca.pem")
    with pytest.raises(pymysql.err.OperationalError) as raised:
        pymysql.connect(host=endpoint, user=lab.names.db_master_user, password=lab.names.db_master_password,
                        connect_timeout=5, ssl_ca=bundle, ssl_verify_cert=True, ssl_verify_identity=True).close()
    assert raised.value.args[0] == 1045


def test_without_auth_the_default_auth_scheme_must_be_iam_auth(e2e, lab):
    client = lab.client("rds")
    lab_proxy = e2e["lab_proxy"]
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.create_db_proxy(DBProxyName="lab-e2e-none", EngineFamily="MYSQL", DefaultAuthScheme="NONE",
                               RoleArn=lab_proxy["RoleArn"], VpcSubnetIds=lab_proxy["VpcSubnetIds"])
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.modify_db_proxy(DBProxyName=PROXY, DefaultAuthScheme="NONE")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "Auth" in raised.value.response["Error"]["Message"]


def test_the_requests_are_what_aws_accepts(e2e):
    operations = {name for _, name, _ in e2e["requests"].log}
    assert {"ModifyDBInstance", "PutRolePolicy", "CreateDBProxy", "RegisterDBProxyTargets"} <= operations
    wrong = [f"{service.service_name}.{name}: {problem}" for service, name, params in e2e["requests"].log
             for problem in problems(service.operation_model(name).input_shape, params, name)]
    assert wrong == []
